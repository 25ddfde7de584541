"""Fixed-memory, time-decayed counters keyed by strings (hashed, so memory never grows).

Used for streaming feature statistics: orders per device in the last hour, a buyer's
repurchase cycle, a product's current conversion. Collisions only blur counts; size the
table so they stay rare for the number of distinct keys you expect.

>>> c = DecayedCounters(n_bits=12, half_life=3600.0)
>>> c.add("device=d1", ts=0.0)
1.0
>>> round(c.add("device=d1", ts=3600.0), 3)  # the first count has halved
1.5
>>> c.get("device=d2", ts=3600.0)
0.0
"""

from __future__ import annotations

import math
import zlib
from array import array

import numpy as np


def stable_index(key: str, mask: int) -> int:
    """crc32 is stable across processes (unlike ``hash``) and runs in C."""
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) & mask


def _zeros(n: int) -> array:
    return array("d", bytes(8 * n))


class DecayedCounters:
    # array.array, not numpy: read one element at a time per event, where numpy scalar access
    # costs several times more; np.frombuffer still views it without a copy for checkpoints.
    def __init__(self, n_bits: int = 16, half_life: float = 3600.0):
        self.mask = (1 << n_bits) - 1
        self.rate = math.log(2.0) / half_life if half_life > 0 else 0.0
        self.value = _zeros(1 << n_bits)
        self.stamp = _zeros(1 << n_bits)

    def _decayed(self, i: int, ts: float) -> float:
        v = self.value[i]
        if v == 0.0 or self.rate == 0.0:
            return v
        dt = ts - self.stamp[i]
        return v * math.exp(-self.rate * dt) if dt > 0 else v

    def get(self, key: str, ts: float) -> float:
        return self._decayed(stable_index(key, self.mask), ts)

    def add(self, key: str, ts: float, amount: float = 1.0) -> float:
        i = stable_index(key, self.mask)
        v = self._decayed(i, ts) + amount
        self.value[i] = v
        if ts > self.stamp[i]:
            self.stamp[i] = ts
        return v

    def state_dict(self) -> dict:
        value = np.frombuffer(self.value, dtype=np.float64)
        nz = np.flatnonzero(value)
        stamp = np.frombuffer(self.stamp, dtype=np.float64)
        return {"mask": self.mask, "rate": self.rate, "idx": nz.astype(np.int32), "value": value[nz], "stamp": stamp[nz]}

    def load_state_dict(self, s: dict) -> None:
        self.mask, self.rate = s["mask"], s["rate"]
        value = np.zeros(self.mask + 1, dtype=np.float64)
        stamp = np.zeros(self.mask + 1, dtype=np.float64)
        value[s["idx"]] = s["value"]
        stamp[s["idx"]] = s["stamp"]
        self.value, self.stamp = array("d", value.tobytes()), array("d", stamp.tobytes())


class LastSeen:
    """Last timestamp per hashed key (e.g. when a buyer last ordered a product)."""

    def __init__(self, n_bits: int = 16):
        self.mask = (1 << n_bits) - 1
        self.ts = array("d", np.full(1 << n_bits, -1.0).tobytes())

    def get(self, key: str) -> float | None:
        v = self.ts[stable_index(key, self.mask)]
        return None if v < 0 else v

    def set(self, key: str, ts: float) -> float | None:
        i = stable_index(key, self.mask)
        prev = self.ts[i]
        self.ts[i] = ts
        return None if prev < 0 else prev

    def state_dict(self) -> dict:
        arr = np.frombuffer(self.ts, dtype=np.float64)
        nz = np.flatnonzero(arr >= 0)
        return {"mask": self.mask, "idx": nz.astype(np.int32), "ts": arr[nz]}

    def load_state_dict(self, s: dict) -> None:
        self.mask = s["mask"]
        arr = np.full(self.mask + 1, -1.0, dtype=np.float64)
        arr[s["idx"]] = s["ts"]
        self.ts = array("d", arr.tobytes())


class RecentKeys:
    """The ``max_items`` most recently seen keys, each with a small value (e.g. a product's category).

    Bounded memory; ``items()`` lists them newest first. Used as the candidate set of
    recommendations (the products a merchant's buyers currently look at and order).

    >>> r = RecentKeys(max_items=2)
    >>> r.add("p1", "tools"); r.add("p2", "food"); r.add("p1", "tools"); r.add("p3", "food")
    >>> r.items()
    [('p3', 'food'), ('p1', 'tools')]
    """

    def __init__(self, max_items: int = 2000):
        from collections import OrderedDict

        self.max_items = int(max_items)
        self._d: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._d)

    def add(self, key: str, value: str = "") -> None:
        d = self._d
        if key in d:
            d.move_to_end(key)
            if value:
                d[key] = value
        else:
            d[key] = value
            if len(d) > self.max_items:
                d.popitem(last=False)

    def items(self, limit: int | None = None) -> list[tuple[str, str]]:
        snap = list(self._d.items())  # one C-level copy: safe while another thread adds keys
        snap.reverse()
        return snap if limit is None else snap[:limit]

    def state_dict(self) -> dict:
        return {"max_items": self.max_items, "keys": list(self._d), "values": list(self._d.values())}

    def load_state_dict(self, s: dict) -> None:
        from collections import OrderedDict

        self.max_items = int(s["max_items"])
        self._d = OrderedDict(zip(s["keys"], s["values"]))
