"""Second-order factorization machine for binary classification, learned online.

Rendle (2010): ``logit = sum_i w_i x_i + 1/2 sum_f [(sum_i v_if x_i)^2 - sum_i v_if^2 x_i^2]``,
which is ``sum_{i<j} <v_i, v_j> x_i x_j`` in O(k n) instead of O(k n^2). Loss: log loss, so the
gradient of coordinate ``v_if`` is ``(p - y) * x_i * (s_f - v_if x_i)`` with ``s_f`` the factor
sum of the row before the update. The same optimizer type drives the linear weights and the
factors (for FTRL the factors get no L1: it would zero their random start, see
:class:`~ecomops.learn.online.optim.FTRL`). Factors start ``N(0, init_std^2)`` from
``numpy.random.default_rng(seed)``: two models with the same arguments are identical.

>>> from ecomops.learn.online.hashing import FeatureHasher
>>> from ecomops.learn.online.optim import Adam
>>> h = FeatureHasher(n_bits=12)
>>> fm = FactorizationMachine(n_bits=12, k=4, optimizer=Adam(lr=0.05))
>>> xor = [({"a": str(a), "b": str(b)}, float(a != b)) for a in (0, 1) for b in (0, 1)] * 300
>>> batch = h.hash_many([x for x, _ in xor], crosses=[])
>>> _ = fm.progressive_many(batch, [y for _, y in xor])
>>> p = fm.predict_many(h.hash_many([{"a": "0", "b": "1"}, {"a": "1", "b": "1"}]))
>>> bool(p[0] > 0.9 and p[1] < 0.1)  # XOR needs the interaction term
True
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .base import HashedBinaryModel
from .linear import sigmoid
from .optim import FTRL_KIND, Optimizer, apply, end_example, ftrl_materialize, lr_scale, optimizer_from_kind

__all__ = ["FactorizationMachine"]


@njit(cache=True)
def _fm_run(kind, h, hv, w, sw, V, sv, K, scalars, indptr, indices, values, y, predict, learn, out):
    sf = np.zeros(K, np.float64)
    longest = 0
    for i in range(indptr.size - 1):
        longest = max(longest, indptr[i + 1] - indptr[i])
    fidx = np.empty(longest * K, np.int64)
    fgrad = np.empty(longest * K, np.float64)
    for i in range(indptr.size - 1):
        a = indptr[i]
        b = indptr[i + 1]
        lin = 0.0
        sq = 0.0
        for f in range(K):
            sf[f] = 0.0
        for k in range(a, b):
            j = indices[k]
            x = np.float64(values[k])
            lin += w[j] * x
            base = j * K
            for f in range(K):
                vx = V[base + f] * x
                sf[f] += vx
                sq += vx * vx
        inter = 0.0
        for f in range(K):
            inter += sf[f] * sf[f]
        p = sigmoid(lin + 0.5 * (inter - sq))
        if predict:
            out[i] = p
        if learn:
            # all factor gradients at the current point (Rendle's SGD for FMs), then one update pass
            c = 0
            for k in range(a, b):
                x = np.float64(values[k])
                base = indices[k] * K
                for f in range(K):
                    fidx[c] = base + f
                    fgrad[c] = x * (sf[f] - V[base + f] * x)
                    c += 1
            gs = p - y[i]
            sc = lr_scale(kind, h, scalars)
            apply(kind, h, w, sw, indices, a, b, values, gs, sc)
            apply(kind, hv, V, sv, fidx, 0, c, fgrad, gs, sc)
            end_example(kind, h, scalars)


class FactorizationMachine(HashedBinaryModel):
    """Online FM on ``2**n_bits`` hashed coordinates with ``k`` factors each.

    Memory: ``(1 + slots) * 8 * 2**n_bits * (k + 1)`` bytes (FTRL, k=8, n_bits=18: 54 MiB).
    """

    _arrays = ("w", "state", "V", "V_state")
    _extra_scalars = ("k", "init_std")

    def __init__(
        self, n_bits: int = 18, k: int = 8, optimizer: Optimizer | None = None, init_std: float = 0.01, seed: int = 0
    ):
        super().__init__(n_bits, optimizer, seed)
        if int(k) < 1 or init_std < 0:
            raise ValueError("FactorizationMachine needs k >= 1 and init_std >= 0")
        self.k = int(k)
        self.init_std = float(init_std)
        self.w = np.zeros(self.dim, dtype=np.float64)
        self.state = self.optimizer.init_state(self.w, zero=True)
        rng = np.random.default_rng(self.seed)
        self.V = rng.normal(0.0, self.init_std, size=(self.dim, self.k))
        self.V_state = self.optimizer.init_state(self.V.reshape(-1))
        self._set_hyper()
        if self.optimizer.kind == FTRL_KIND:
            # w is a function of (z, n) for FTRL; derive it so that the two never disagree
            ftrl_materialize(self.V.reshape(-1), self.V_state, self._hyper_v)

    def _set_hyper(self) -> None:
        self._hyper = self.optimizer.hyper()
        self._hyper_v = self.optimizer.factor_hyper()

    def __repr__(self) -> str:
        return (
            f"FactorizationMachine(n_bits={self.n_bits}, k={self.k}, optimizer={self.optimizer!r}, "
            f"init_std={self.init_std}, seed={self.seed})"
        )

    def _run(self, batch, y, predict, learn, out) -> None:
        _fm_run(
            self.optimizer.kind, self._hyper, self._hyper_v, self.w, self.state,
            self.V.reshape(-1), self.V_state, self.k, self.scalars,
            batch.indptr, batch.indices, batch.values, y, predict, learn, out,
        )  # fmt: skip

    def _blocks(self):
        return [("w", "state", self._hyper), ("_V_flat", "V_state", self._hyper_v)]

    @property
    def _V_flat(self) -> np.ndarray:
        return self.V.reshape(-1)

    @classmethod
    def from_state_dict(cls, d: dict) -> "FactorizationMachine":
        opt = optimizer_from_kind(int(d["optimizer_kind"]), np.asarray(d["optimizer_hyper"]))
        model = cls(int(d["n_bits"]), int(d["k"]), opt, float(d["init_std"]), int(d["seed"]))
        model.load_state_dict(d)
        return model
