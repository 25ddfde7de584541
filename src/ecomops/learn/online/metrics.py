"""Streaming metrics for probabilistic binary classifiers: log loss and ROC AUC.

Each metric has ``update(y_true, y_prob)``, a vectorized ``update_many(y_true, y_prob)``,
``get()`` and ``state_dict()`` / ``load_state_dict()`` (numpy arrays and numbers only). Labels are
in [0, 1]; for AUC a label counts as positive when it is >= 0.5. AUC is ``nan`` until both
classes have been seen.

* :class:`LogLoss`: cumulative mean, probabilities clipped to ``[eps, 1 - eps]``.
* :class:`RollingLogLoss`: mean over the last ``window`` examples (ring buffer; the running sum
  is recomputed exactly every ``window`` updates so float error never accumulates).
* :class:`ROCAUC`: cumulative, on a histogram of ``n_bins`` bins uniform in logit space over
  ``[-logit_range, logit_range]`` (default 16384 bins over [-16, 16]: bin width 0.002 in logit,
  i.e. a relative width of 0.2% in odds at every score level). Scores that share a bin count
  as ties, which is the only approximation; memory is fixed whatever the stream length.
* :class:`RollingROCAUC`: exact AUC (ties count 1/2) over the last ``window`` examples,
  computed on demand from a ring buffer in O(window log window).

>>> m = ROCAUC()
>>> m.update_many([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
>>> m.get()
0.75
>>> ll = LogLoss()
>>> ll.update(1, 0.5)
>>> round(ll.get(), 6)
0.693147
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["LogLoss", "RollingLogLoss", "ROCAUC", "RollingROCAUC", "log_loss", "roc_auc"]

EPS = 1e-15


def log_loss(y_true, y_prob, eps: float = EPS) -> np.ndarray:
    """Per-example log loss (natural log), probabilities clipped to ``[eps, 1 - eps]``."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.clip(np.asarray(y_prob, dtype=np.float64), eps, 1.0 - eps)
    return -(y * np.log(p) + (1.0 - y) * np.log1p(-p))


def _one_loss(y: float, p: float, eps: float) -> float:
    p = min(max(p, eps), 1.0 - eps)
    return -(y * math.log(p) + (1.0 - y) * math.log1p(-p))


def roc_auc(y_true, y_score) -> float:
    """Exact ROC AUC by average ranks (ties count 1/2); ``nan`` with a single class."""
    y = np.asarray(y_true, dtype=np.float64) >= 0.5
    s = np.asarray(y_score, dtype=np.float64)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    avg_rank = upper - (counts - 1) / 2.0  # 1-based average rank of each distinct score
    rank_sum = float(avg_rank[inverse.reshape(-1)][y].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


class LogLoss:
    def __init__(self, eps: float = EPS):
        self.eps = float(eps)
        self.total = 0.0
        self.n = 0

    def update(self, y_true: float, y_prob: float) -> None:
        self.total += _one_loss(float(y_true), float(y_prob), self.eps)
        self.n += 1

    def update_many(self, y_true, y_prob) -> None:
        losses = log_loss(y_true, y_prob, self.eps)
        self.total += float(losses.sum())
        self.n += losses.size

    def get(self) -> float:
        return self.total / self.n if self.n else float("nan")

    def state_dict(self) -> dict:
        return {"eps": self.eps, "total": self.total, "n": self.n}

    def load_state_dict(self, d: dict) -> None:
        self.eps, self.total, self.n = float(d["eps"]), float(d["total"]), int(d["n"])


class _Ring:
    """Fixed-size ring buffer of float64 columns; ``pos`` is where the next value goes."""

    def __init__(self, window: int, n_cols: int):
        if int(window) < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.window = int(window)
        self.buf = np.zeros((n_cols, self.window), dtype=np.float64)
        self.pos = 0
        self.count = 0

    def push(self, *values: float) -> np.ndarray:
        old = self.buf[:, self.pos].copy()
        self.buf[:, self.pos] = values
        self.pos = (self.pos + 1) % self.window
        self.count = min(self.count + 1, self.window)
        return old

    def push_many(self, cols: np.ndarray) -> None:
        n = cols.shape[1]
        if n >= self.window:
            self.buf[:] = cols[:, n - self.window :]
            self.pos, self.count = 0, self.window
            return
        idx = (self.pos + np.arange(n)) % self.window
        self.buf[:, idx] = cols
        self.pos = (self.pos + n) % self.window
        self.count = min(self.count + n, self.window)

    def values(self) -> np.ndarray:
        return self.buf[:, : self.count] if self.count < self.window else self.buf

    def state_dict(self) -> dict:
        return {"window": self.window, "buf": self.buf.copy(), "pos": self.pos, "count": self.count}

    def load_state_dict(self, d: dict) -> None:
        self.window, self.pos, self.count = int(d["window"]), int(d["pos"]), int(d["count"])
        self.buf = np.array(d["buf"], dtype=np.float64)


class RollingLogLoss:
    def __init__(self, window: int = 1000, eps: float = EPS):
        self.eps = float(eps)
        self._ring = _Ring(window, 1)
        self._sum = 0.0

    @property
    def window(self) -> int:
        return self._ring.window

    def update(self, y_true: float, y_prob: float) -> None:
        loss = _one_loss(float(y_true), float(y_prob), self.eps)
        old = self._ring.push(loss)[0]
        if self._ring.pos == 0:
            self._sum = float(self._ring.buf[0].sum())
        else:
            self._sum += loss - old

    def update_many(self, y_true, y_prob) -> None:
        losses = log_loss(y_true, y_prob, self.eps)
        if losses.size:
            self._ring.push_many(losses.reshape(1, -1))
            self._sum = float(self._ring.values()[0].sum())

    def get(self) -> float:
        return self._sum / self._ring.count if self._ring.count else float("nan")

    def state_dict(self) -> dict:
        return {"eps": self.eps, "sum": self._sum, **self._ring.state_dict()}

    def load_state_dict(self, d: dict) -> None:
        self.eps, self._sum = float(d["eps"]), float(d["sum"])
        self._ring.load_state_dict(d)


class ROCAUC:
    def __init__(self, n_bins: int = 16384, logit_range: float = 16.0):
        if int(n_bins) < 2 or logit_range <= 0:
            raise ValueError("ROCAUC needs n_bins >= 2 and logit_range > 0")
        self.n_bins = int(n_bins)
        self.logit_range = float(logit_range)
        self.pos = np.zeros(self.n_bins, dtype=np.int64)
        self.neg = np.zeros(self.n_bins, dtype=np.int64)

    def _bins(self, p: np.ndarray) -> np.ndarray:
        p = np.clip(p, EPS, 1.0 - EPS)
        z = np.log(p) - np.log1p(-p)
        b = np.floor((z + self.logit_range) * (self.n_bins / (2.0 * self.logit_range)))
        return np.clip(b, 0, self.n_bins - 1).astype(np.int64)

    def update(self, y_true: float, y_prob: float) -> None:
        b = int(self._bins(np.array([float(y_prob)]))[0])
        if y_true >= 0.5:
            self.pos[b] += 1
        else:
            self.neg[b] += 1

    def update_many(self, y_true, y_prob) -> None:
        y = np.asarray(y_true, dtype=np.float64).reshape(-1) >= 0.5
        b = self._bins(np.asarray(y_prob, dtype=np.float64).reshape(-1))
        self.pos += np.bincount(b[y], minlength=self.n_bins)
        self.neg += np.bincount(b[~y], minlength=self.n_bins)

    @property
    def n(self) -> int:
        return int(self.pos.sum() + self.neg.sum())

    def get(self) -> float:
        n_pos, n_neg = int(self.pos.sum()), int(self.neg.sum())
        if n_pos == 0 or n_neg == 0:
            return float("nan")
        neg_below = np.cumsum(self.neg) - self.neg
        # int64 products stay exact far beyond any stream length this will see
        num = 2 * int(np.dot(self.pos, neg_below)) + int(np.dot(self.pos, self.neg))
        return num / (2.0 * n_pos * n_neg)

    def state_dict(self) -> dict:
        return {"n_bins": self.n_bins, "logit_range": self.logit_range, "pos": self.pos.copy(), "neg": self.neg.copy()}

    def load_state_dict(self, d: dict) -> None:
        self.n_bins, self.logit_range = int(d["n_bins"]), float(d["logit_range"])
        self.pos = np.array(d["pos"], dtype=np.int64)
        self.neg = np.array(d["neg"], dtype=np.int64)


class RollingROCAUC:
    def __init__(self, window: int = 1000):
        self._ring = _Ring(window, 2)

    @property
    def window(self) -> int:
        return self._ring.window

    def update(self, y_true: float, y_prob: float) -> None:
        self._ring.push(float(y_true), float(y_prob))

    def update_many(self, y_true, y_prob) -> None:
        y = np.asarray(y_true, dtype=np.float64).reshape(-1)
        if y.size:
            self._ring.push_many(np.vstack([y, np.asarray(y_prob, dtype=np.float64).reshape(-1)]))

    def get(self) -> float:
        v = self._ring.values()
        return roc_auc(v[0], v[1])

    def state_dict(self) -> dict:
        return self._ring.state_dict()

    def load_state_dict(self, d: dict) -> None:
        self._ring.load_state_dict(d)
