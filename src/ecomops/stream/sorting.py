"""Replay a finite source in event-time order instead of arrival order.

Some real files are not sorted by time (Kaggle Fraud_Data is in user order). Sorting needs
every record in memory, so it is opt-in (``sort="ts"``), capped by ``max_records``, and each
``read`` re-reads and re-sorts the whole inner source. Records without a usable ``ts``
(error records, unparseable payloads) keep the time of the record before them, so they stay
next to their neighbours. The sort is stable: equal times keep file order.

**Offset**: the record's 0-based rank in the sorted order (an int).

>>> from ecomops.stream.base import ListSource
>>> src = SortedSource(ListSource("l", [{"ts": 3}, b'{"ts": 1}', b"oops", {"ts": 2}]))
>>> [(r.offset, r.payload) for r in src.read()]
[(0, b'{"ts": 1}'), (1, b'oops'), (2, {'ts': 2}), (3, {'ts': 3})]
"""

from __future__ import annotations

from typing import Any, Iterator

import orjson

from ..core.errors import SourceError
from .base import Offset, Record, Source


def _ts(payload: Any) -> float | None:
    if isinstance(payload, (bytes, bytearray)):
        try:
            payload = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return None
    if isinstance(payload, dict):
        ts = payload.get("ts")
        if isinstance(ts, (int, float)) and not isinstance(ts, bool) and ts == ts:
            return float(ts)
    return None


class SortedSource:
    """Wraps a finite source; yields its records sorted by ``ts``."""

    def __init__(self, inner: Source, max_records: int = 5_000_000):
        self.inner = inner
        self.max_records = max_records
        sep = "&" if "?" in inner.name else "?"
        self.name = f"{inner.name}{sep}sort=ts"

    def read(self, after: Offset | None = None) -> Iterator[Record]:
        if after is not None and not (isinstance(after, int) and not isinstance(after, bool)):
            raise SourceError(f"offset {after!r} is not a rank in {self.name}; resume with the same --source")
        keyed = []
        last = float("-inf")
        for i, rec in enumerate(self.inner.read()):
            if i >= self.max_records:
                raise SourceError(f"{self.inner.name} has more than {self.max_records:,} records, too many to sort "
                                  "in memory: sort the file by time beforehand, or replay it in file order")
            ts = _ts(rec.payload) if rec.error is None else None
            last = ts if ts is not None else last
            keyed.append((last, i, rec))
        keyed.sort(key=lambda t: (t[0], t[1]))
        start = 0 if after is None else after + 1
        for rank in range(start, len(keyed)):
            rec = keyed[rank][2]
            yield Record(rank, rec.payload, rec.error, self.name)

    def commit(self, offset: Offset) -> None:
        """Nothing to release: the inner source is finite and replayed whole."""

    def close(self) -> None:
        self.inner.close()
