"""Exact duplicate-event detection for the engine: the most recent ``window`` (merchant, event_id)
keys as 8-byte hashes, in fixed memory, checkpointed with the engine's state.

>>> d = Deduplicator(window=2)
>>> d.check_and_add("m1", "e1"), d.check_and_add("m1", "e1"), d.check_and_add("m2", "e1")
(True, False, True)
>>> _ = d.check_and_add("m1", "e2"); d.check_and_add("m1", "e1")  # e1 of m1 left the window
True
"""

from __future__ import annotations

import hashlib
from collections import deque

import numpy as np

__all__ = ["Deduplicator"]


class Deduplicator:
    """Exact duplicate detection over the most recent ``window`` events, in fixed memory."""

    def __init__(self, window: int):
        self.window = window
        self._seen: set[int] = set()
        self._order: deque[int] = deque()

    @staticmethod
    def key(merchant_id: str, event_id: str) -> int:
        h = hashlib.blake2b((merchant_id + "\x00" + event_id).encode("utf-8", "surrogatepass"), digest_size=8)
        return int.from_bytes(h.digest(), "little")

    def check_and_add(self, merchant_id: str, event_id: str) -> bool:
        """True when new; False for a duplicate."""
        k = self.key(merchant_id, event_id)
        if k in self._seen:
            return False
        self._seen.add(k)
        self._order.append(k)
        if len(self._order) > self.window:
            self._seen.discard(self._order.popleft())
        return True

    def state_dict(self) -> dict:
        return {"window": self.window, "keys": np.fromiter(self._order, dtype=np.uint64, count=len(self._order))}

    def load_state_dict(self, s: dict) -> None:
        keys = [int(k) for k in s["keys"]]
        self._order = deque(keys)
        self._seen = set(keys)
