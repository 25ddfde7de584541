"""Progressive validation: every example is predicted before it is learned, so the running
metrics are honest out-of-sample estimates without a held-out set (Blum, Kalai & Langford 1999).

:class:`ProgressiveValidation` keeps cumulative and rolling log loss and AUC and, every
``every`` labelled examples, appends a point
``{"n", "offset", "logloss", "auc", "cum_logloss", "cum_auc"}`` to a series for plotting
(``logloss``/``auc`` are the rolling ones; ``offset`` is a caller-provided stream position, e.g.
the event index, defaulting to ``n``). Memory is bounded: when the series exceeds
``max_points`` every other point is dropped and ``every`` doubles, so the series stays evenly
spaced. Everything round-trips through ``state_dict``.

>>> from ecomops.learn.online.hashing import FeatureHasher
>>> from ecomops.learn.online.linear import LogisticRegression
>>> h, model = FeatureHasher(12), LogisticRegression(12)
>>> pv = ProgressiveValidation(window=100, every=100)
>>> X = h.hash_many([{"x": str(i % 2)} for i in range(1000)])
>>> _ = pv.learn_many(model, X, [i % 2 for i in range(1000)])
>>> len(pv.series()), pv.series()[-1]["n"], pv.summary()["auc"]
(10, 1000, 1.0)
"""

from __future__ import annotations

import numpy as np

from .metrics import ROCAUC, LogLoss, RollingLogLoss, RollingROCAUC

__all__ = ["ProgressiveValidation"]


class ProgressiveValidation:
    def __init__(self, window: int = 1000, every: int = 1000, max_points: int = 2000):
        if int(every) < 1 or int(max_points) < 2:
            raise ValueError("every must be >= 1 and max_points >= 2")
        self.every = int(every)
        self.max_points = int(max_points)
        self.n = 0
        self.logloss = LogLoss()
        self.auc = ROCAUC()
        self.rolling_logloss = RollingLogLoss(window)
        self.rolling_auc = RollingROCAUC(window)
        self._points: list[dict] = []

    @property
    def window(self) -> int:
        return self.rolling_logloss.window

    # -- feeding ---------------------------------------------------------------------------------
    def update(self, y_true: float, y_prob: float, offset: int | None = None) -> None:
        """Record one prediction made before learning its label."""
        self.update_many([y_true], [y_prob], offset)

    def update_many(self, y_true, y_prob, offset=None) -> None:
        """Record predictions in stream order; ``offset`` is one position for all, or one per example."""
        y = np.asarray(y_true, dtype=np.float64).reshape(-1)
        p = np.asarray(y_prob, dtype=np.float64).reshape(-1)
        if y.shape != p.shape:
            raise ValueError(f"{y.size} labels for {p.size} predictions")
        offsets = None if offset is None or np.ndim(offset) == 0 else np.asarray(offset).reshape(-1)
        if offsets is not None and offsets.size != y.size:
            raise ValueError(f"{offsets.size} offsets for {y.size} examples")
        start = 0
        while start < y.size:
            # cut the batch where a point is due, so each point sees exactly n examples
            stop = min(y.size, start + self.every - self.n % self.every)
            ys, ps = y[start:stop], p[start:stop]
            for m in (self.logloss, self.auc, self.rolling_logloss, self.rolling_auc):
                m.update_many(ys, ps)
            self.n += stop - start
            if self.n % self.every == 0:
                if offsets is not None:
                    off = int(offsets[stop - 1])
                else:
                    off = self.n if offset is None else int(offset)
                self._append(off)
            start = stop

    def learn_one(self, model, idx, val, y: float, offset: int | None = None) -> float:
        """Predict, record, then learn one hashed example; returns the prediction."""
        p = model.predict_one(idx, val)
        model.learn_one(idx, val, y)
        self.update(y, p, offset)
        return p

    def learn_many(self, model, batch, y, offset=None) -> np.ndarray:
        """``model.progressive_many`` plus recording; returns the predictions."""
        p = model.progressive_many(batch, y)
        self.update_many(y, p, offset)
        return p

    def _append(self, offset: int) -> None:
        self._points.append({"n": self.n, "offset": offset, **self._metrics()})
        if len(self._points) > self.max_points:
            # keep the points on multiples of 2 * every: the series stays evenly spaced
            self._points = self._points[1::2]
            self.every *= 2

    def _metrics(self) -> dict:
        return {
            "logloss": self.rolling_logloss.get(),
            "auc": self.rolling_auc.get(),
            "cum_logloss": self.logloss.get(),
            "cum_auc": self.auc.get(),
        }

    # -- reading ---------------------------------------------------------------------------------
    def series(self) -> list[dict]:
        """The recorded points (copies), oldest first."""
        return [dict(pt) for pt in self._points]

    def summary(self) -> dict:
        """Current metrics: ``n`` plus rolling ``logloss``/``auc`` and ``cum_logloss``/``cum_auc``."""
        return {"n": self.n, **self._metrics()}

    # -- state -----------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        keys = ("n", "offset", "logloss", "auc", "cum_logloss", "cum_auc")
        pts = np.array([[pt[k] for k in keys] for pt in self._points], dtype=np.float64).reshape(-1, len(keys))
        return {
            "every": self.every,
            "max_points": self.max_points,
            "n": self.n,
            "points": pts,
            "logloss": self.logloss.state_dict(),
            "auc": self.auc.state_dict(),
            "rolling_logloss": self.rolling_logloss.state_dict(),
            "rolling_auc": self.rolling_auc.state_dict(),
        }

    def load_state_dict(self, d: dict) -> None:
        self.every, self.max_points, self.n = int(d["every"]), int(d["max_points"]), int(d["n"])
        for name in ("logloss", "auc", "rolling_logloss", "rolling_auc"):
            getattr(self, name).load_state_dict(d[name])
        self._points = [
            {"n": int(r[0]), "offset": int(r[1]), "logloss": r[2], "auc": r[3], "cum_logloss": r[4], "cum_auc": r[5]}
            for r in np.asarray(d["points"], dtype=np.float64).tolist()
        ]
