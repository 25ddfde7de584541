"""MMD: learn hidden features on which source and target look alike (DAN, Long et al. 2015).

The classification loss gets a multi-kernel maximum mean discrepancy penalty between the hidden
features of each source minibatch and a target minibatch of the same size. The kernel is DAN's
sum of Gaussians ``exp(-||a - b||^2 / (base * m))`` for ``m`` in {1/4, 1/2, 1, 2, 4}, ``base`` the
mean squared pairwise distance in the batch: tying the bandwidths to the batch makes the penalty
blind to the overall scale, so the network cannot shrink it by shrinking its features. The
estimate is the unbiased one (diagonals left out), so it hovers around zero once the domains
match instead of carrying a positive bias.

The weight is ``lambda_ * (2 / (1 + exp(-10 p)) - 1)`` with ``p`` the training progress, DANN's
ramp: aligning random early features would only pull noise together.

``history_["mmd"]`` holds the per-epoch mean MMD^2 estimate (before weighting), ``"cls"`` the
classification loss. Needs ``hidden > 0``: the alignment acts on the hidden layer.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ys = rng.integers(0, 2, 200); Xs = rng.normal(size=(200, 6)) + 2 * ys[:, None]
>>> Xt = rng.normal(size=(200, 6)) + 2 * rng.integers(0, 2, 200)[:, None] + 1.5
>>> a = MMD(seed=0, epochs=5, hidden=16).fit(Xs, ys, Xt)
>>> sorted(a.history_), a.predict_proba(Xt[:2]).shape
(['cls', 'mmd'], (2, 2))
>>> x = torch.randn(100, 4, generator=torch.Generator().manual_seed(0))
>>> bool(mk_mmd(x[:50], x[50:]) < 0.05 < mk_mmd(x[:50], x[50:] + 1))
True
"""

from __future__ import annotations

import torch

from ...core.errors import ConfigError
from .head import FeatureAdapter, check_param, ramp

__all__ = ["MMD", "mk_mmd"]

BANDWIDTH_MULTIPLIERS = (0.25, 0.5, 1.0, 2.0, 4.0)


def _offdiag_mean(K: torch.Tensor) -> torch.Tensor:
    n = K.shape[0]
    if n < 2:
        return K.mean()
    return (K.sum() - K.diagonal().sum()) / (n * (n - 1))


def mk_mmd(a: torch.Tensor, b: torch.Tensor, multipliers=BANDWIDTH_MULTIPLIERS) -> torch.Tensor:
    """Unbiased multi-kernel MMD^2 between samples ``a`` (n, h) and ``b`` (m, h)."""
    x = torch.cat([a, b])
    sq = (x * x).sum(dim=1)
    # Squared distances from the Gram matrix (cdist's gradient is undefined at zero distance).
    d2 = (sq[:, None] + sq[None, :] - 2.0 * x @ x.T).clamp_min(0.0)
    N = len(x)
    base = (d2.sum() / max(1, N * N - N)).detach().clamp_min(1e-12)
    K = sum(torch.exp(-d2 / (base * m)) for m in multipliers)
    n = len(a)
    return _offdiag_mean(K[:n, :n]) + _offdiag_mean(K[n:, n:]) - 2.0 * K[:n, n:].mean()


class MMD(FeatureAdapter):
    """``MMD(lambda_=1.0, **common)``; needs unlabelled target features ``Xt`` and ``hidden > 0``."""

    name = "mmd"
    needs_target = True
    uses_target = True

    def __init__(self, *, lambda_: float = 1.0, **common):
        super().__init__(**common)
        self.lambda_ = check_param("lambda_", lambda_, 0)
        if not self.hidden:
            raise ConfigError("MMD aligns the hidden layer: set hidden > 0 (e.g. 128)")

    def _fit(self, S, ys, T, Tl, ytl) -> None:
        def penalty(hs, ht, p):
            mmd = mk_mmd(hs, ht)
            return {"mmd": (self.lambda_ * ramp(p) * mmd, mmd.item())}

        self.net_, self.history_ = self._train([(S, ys, 1.0), (Tl, ytl, self.target_weight)], T,
                                               penalty if len(S) else None)
