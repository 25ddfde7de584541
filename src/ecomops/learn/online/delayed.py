"""Joining predictions with labels that arrive later in the stream.

In operations, truth comes late: a view turns into an order an hour later, a fake order is
confirmed by the risk team two days later, and most orders are never judged at all (so they are
taken as legit once a horizon passes). :class:`DelayedLabels` keeps what was predicted until the
label arrives or the horizon expires, in bounded memory, and hands back learnable examples in a
deterministic order.

>>> d = DelayedLabels(horizon=10.0, default_label=0.0, max_pending=100)
>>> d.register("a", {"x": 1.0}, ts=0.0)
True
>>> d.register("b", {"x": 2.0}, ts=1.0)
True
>>> d.resolve("a", 1.0)
True
>>> d.expire(now=20.0)  # "b" waited past the horizon: resolved with the default label
1
>>> [(e.key, e.label) for e in d.take_resolved()]
[('a', 1.0), ('b', 0.0)]

With ``hold=True`` an early label waits for the horizon like everything else:

>>> h = DelayedLabels(horizon=10.0, default_label=0.0, hold=True)
>>> h.register("a", None, ts=0.0), h.resolve("a", 1.0), h.take_resolved()
(True, True, [])
>>> h.expire(now=10.0), [(e.key, e.label) for e in h.take_resolved()]
(1, [('a', 1.0)])
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Hashable

import numpy as np


class Pending:
    """One prediction waiting for its label. ``indices``/``values``/``prob`` are set when scored."""

    __slots__ = ("key", "features", "ts", "indices", "values", "prob", "label")

    def __init__(self, key: Hashable, features: Any, ts: float):
        self.key = key
        self.features = features
        self.ts = ts
        self.indices: np.ndarray | None = None
        self.values: np.ndarray | None = None
        self.prob: float | None = None
        self.label: float | None = None

    def __getstate__(self):
        # features are only needed until scored; dropping them keeps checkpoints small
        feats = self.features if self.indices is None else None
        return (self.key, feats, self.ts, self.indices, self.values, self.prob, self.label)

    def __setstate__(self, s):
        self.key, self.features, self.ts, self.indices, self.values, self.prob, self.label = s


class DelayedLabels:
    """Pending predictions keyed by what the label will name (an order id, a buyer-product pair)."""

    def __init__(self, horizon: float, default_label: float | None, max_pending: int = 200_000, hold: bool = False):
        self.horizon = float(horizon)
        # hold=True: a label that arrives early is kept until the horizon ends, so every example is
        # learned at the same delay. Otherwise positives (which arrive early) are learned before the
        # negatives (which only exist at expiry), and anything that varies with time, such as the
        # hour of day, looks more predictive of a positive than it is.
        self.hold = bool(hold)
        self.default_label = default_label
        self.max_pending = int(max_pending)
        self._pending: OrderedDict[Hashable, Pending] = OrderedDict()
        self._unscored: list[Pending] = []
        self._resolved: list[Pending] = []
        self.n_expired = 0
        self.n_evicted = 0
        self.n_unmatched = 0  # labels for keys never seen or long gone
        # earliest time at which anything can expire: lets the per-event check be one comparison
        self.next_due = float("inf")

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._pending

    def register(self, key: Hashable, features: Any, ts: float) -> bool:
        """Queue a prediction; the first registration of a key wins until it is resolved."""
        if key in self._pending:
            return False
        p = Pending(key, features, ts)
        if not self._pending:
            self.next_due = ts + self.horizon
        self._pending[key] = p
        self._unscored.append(p)
        if len(self._pending) > self.max_pending:
            old = self._pending.popitem(last=False)[1]
            self._settle(old, old.label if old.label is not None else self.default_label)
            self.n_evicted += 1
        return True

    def resolve(self, key: Hashable, label: float) -> bool:
        if self.hold:
            p = self._pending.get(key)
            if p is not None:
                p.label = float(label)
                return True
        else:
            p = self._pending.pop(key, None)
            if p is not None:
                self._settle(p, label)
                return True
        self.n_unmatched += 1
        return False

    def expire(self, now: float) -> int:
        """Resolve everything registered before ``now - horizon`` with the default label."""
        if now < self.next_due:
            return 0
        n = 0
        cutoff = now - self.horizon
        pending = self._pending
        while pending:
            key, p = next(iter(pending.items()))
            if p.ts > cutoff:
                self.next_due = p.ts + self.horizon
                break
            del pending[key]
            self._settle(p, p.label if p.label is not None else self.default_label)
            n += 1
        else:
            self.next_due = float("inf")
        self.n_expired += n
        return n

    def _settle(self, p: Pending, label: float | None) -> None:
        if label is None:
            return
        p.label = float(label)
        self._resolved.append(p)

    def take_unscored(self) -> list[Pending]:
        out, self._unscored = self._unscored, []
        return out

    def take_resolved(self) -> list[Pending]:
        out, self._resolved = self._resolved, []
        return out

    def state_dict(self) -> dict:
        if self._unscored or self._resolved:
            raise RuntimeError("checkpoint only between chunks: score and learn first")
        return {
            "pending": list(self._pending.values()),
            "counts": (self.n_expired, self.n_evicted, self.n_unmatched),
        }

    def load_state_dict(self, state: dict) -> None:
        self._pending = OrderedDict((p.key, p) for p in state["pending"])
        self.next_due = state["pending"][0].ts + self.horizon if state["pending"] else float("inf")
        self.n_expired, self.n_evicted, self.n_unmatched = state["counts"]
