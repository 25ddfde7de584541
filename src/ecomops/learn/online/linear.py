"""Logistic regression over hashed sparse features, learned online.

``p = sigmoid(clip(sum_i w[idx_i] * val_i, -35, 35))`` with the log-loss gradient
``(p - y) * val_i`` handed to the optimizer per coordinate (FTRL-Proximal by default). There is
no separate intercept: :class:`~ecomops.learn.online.hashing.FeatureHasher` always emits a bias
token. All state is float64 and the kernels are compiled without fastmath, so a run is
reproducible bit for bit.

>>> from ecomops.learn.online.hashing import FeatureHasher
>>> h = FeatureHasher(n_bits=16)
>>> model = LogisticRegression(n_bits=16, optimizer=FTRL(alpha=0.5, l1=0.0))
>>> rows = [({"browser": "a"}, 1.0), ({"browser": "b"}, 0.0)] * 200
>>> batch = h.hash_many([x for x, _ in rows])
>>> p = model.progressive_many(batch, [y for _, y in rows])
>>> float(p[0]), model.predict_one(*h.hash_one({"browser": "a"})) > 0.9
(0.5, True)
>>> clone = LogisticRegression(n_bits=16, optimizer=FTRL(alpha=0.5, l1=0.0))
>>> clone.load_state_dict(model.state_dict())
>>> clone.digest() == model.digest()
True
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .base import LOGIT_CLIP, HashedBinaryModel
from .optim import FTRL, Optimizer, apply, end_example, lr_scale

__all__ = ["LogisticRegression", "FTRL"]


@njit(cache=True)
def sigmoid(s):
    if s > LOGIT_CLIP:
        s = LOGIT_CLIP
    elif s < -LOGIT_CLIP:
        s = -LOGIT_CLIP
    return 1.0 / (1.0 + math.exp(-s))


@njit(cache=True)
def _lr_run(kind, h, w, state, scalars, indptr, indices, values, y, predict, learn, out):
    for i in range(indptr.size - 1):
        a = indptr[i]
        b = indptr[i + 1]
        s = 0.0
        for k in range(a, b):
            s += w[indices[k]] * np.float64(values[k])
        p = sigmoid(s)
        if predict:
            out[i] = p
        if learn:
            apply(kind, h, w, state, indices, a, b, values, p - y[i], lr_scale(kind, h, scalars))
            end_example(kind, h, scalars)


class LogisticRegression(HashedBinaryModel):
    """Online logistic regression on ``2**n_bits`` hashed coordinates.

    Memory: ``(1 + slots) * 8 * 2**n_bits`` bytes (FTRL: 24 MiB at ``n_bits=20``).
    """

    _arrays = ("w", "state")

    def __init__(self, n_bits: int = 20, optimizer: Optimizer | None = None, seed: int = 0):
        super().__init__(n_bits, optimizer, seed)
        self.w = np.zeros(self.dim, dtype=np.float64)
        self.state = self.optimizer.init_state(self.w, zero=True)

    def _run(self, batch, y, predict, learn, out) -> None:
        _lr_run(
            self.optimizer.kind, self._hyper, self.w, self.state, self.scalars,
            batch.indptr, batch.indices, batch.values, y, predict, learn, out,
        )  # fmt: skip

    def _blocks(self):
        return [("w", "state", self._hyper)]

    @property
    def coef_(self) -> np.ndarray:
        """The weight vector (a view: do not write to it)."""
        return self.w

    @classmethod
    def from_state_dict(cls, d: dict) -> "LogisticRegression":
        from .optim import optimizer_from_kind

        opt = optimizer_from_kind(int(d["optimizer_kind"]), np.asarray(d["optimizer_hyper"]))
        model = cls(int(d["n_bits"]), opt, int(d["seed"]))
        model.load_state_dict(d)
        return model
