"""DANN: domain-adversarial training through a gradient reversal layer (Ganin et al., 2016).

A domain classifier (one ReLU layer of ``domain_hidden`` units, then a logit) learns to tell the
hidden features of source minibatches from those of target minibatches. Between it and the
feature layer sits the gradient reversal layer: identity going forward, gradient times ``-lam``
going back, so one optimiser step makes the domain classifier better and the features worse
for it, i.e. more alike across domains, while the label classifier keeps them useful.

``lam = lambda_ * (2 / (1 + exp(-10 p)) - 1)`` with ``p`` the training progress (the paper's
schedule): the adversary is muted while the features are still random. ``anneal_lr=True`` also
applies the paper's ``lr / (1 + 10 p) ** 0.75``. The domain loss is the mean of the source and
the target halves' binary cross-entropies, so unequal batch sizes do not tilt it.

``history_["cls"]`` is the per-epoch classification loss and ``history_["domain"]`` the domain
classifier's loss (ln 2 = 0.693 is chance: features the adversary cannot separate). The domain
classifier is only a training device and is not kept in the state. Needs ``hidden > 0``.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ys = rng.integers(0, 2, 200); Xs = rng.normal(size=(200, 6)) + 2 * ys[:, None]
>>> Xt = rng.normal(size=(200, 6)) + 2 * rng.integers(0, 2, 200)[:, None] + 1.5
>>> a = DANN(seed=0, epochs=10, hidden=16).fit(Xs, ys, Xt)
>>> sorted(a.history_), bool(a.history_["cls"][-1] < a.history_["cls"][0])
(['cls', 'domain'], True)
>>> x = torch.ones(3, requires_grad=True)
>>> grad_reverse(x, 0.5).sum().backward()
>>> x.grad.tolist()
[-0.5, -0.5, -0.5]
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ...core.errors import ConfigError
from .head import FeatureAdapter, check_param, linear_layer, ramp

__all__ = ["DANN", "grad_reverse"]


class _GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, lam: float) -> torch.Tensor:
        ctx.lam = lam
        return x.view_as(x)  # a view, so autograd records this node instead of passing x through

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.lam * grad, None


def grad_reverse(x: torch.Tensor, lam: float = 1.0) -> torch.Tensor:
    """Identity forward; multiplies the gradient by ``-lam`` backward."""
    return _GradReverse.apply(x, float(lam))


class DANN(FeatureAdapter):
    """``DANN(lambda_=1.0, domain_hidden=64, anneal_lr=True, **common)``; needs ``Xt`` and ``hidden > 0``."""

    name = "dann"
    needs_target = True
    uses_target = True

    def __init__(self, *, lambda_: float = 1.0, domain_hidden: int = 64, anneal_lr: bool = True, **common):
        super().__init__(**common)
        self.lambda_ = check_param("lambda_", lambda_, 0)
        self.domain_hidden = check_param("domain_hidden", domain_hidden, 1, integer=True)
        self.anneal_lr = bool(anneal_lr)
        if not self.hidden:
            raise ConfigError("DANN aligns the hidden layer: set hidden > 0 (e.g. 128)")

    def _schedule(self, opt: torch.optim.Optimizer, p: float) -> None:
        if self.anneal_lr:
            for group in opt.param_groups:
                group["lr"] = self.lr / (1.0 + 10.0 * p) ** 0.75

    def _fit(self, S, ys, T, Tl, ytl) -> None:
        disc = nn.Sequential(linear_layer(self.hidden, self.domain_hidden, self._gen), nn.ReLU(),
                             linear_layer(self.domain_hidden, 1, self._gen))

        def adversary(hs, ht, p):
            z = disc(grad_reverse(torch.cat([hs, ht]), self.lambda_ * ramp(p))).squeeze(1)
            zs, zt = z[: len(hs)], z[len(hs):]
            loss = 0.5 * (F.binary_cross_entropy_with_logits(zs, torch.zeros_like(zs))
                          + F.binary_cross_entropy_with_logits(zt, torch.ones_like(zt)))
            return {"domain": (loss, loss.item())}

        has_source = len(S) > 0
        self.net_, self.history_ = self._train([(S, ys, 1.0), (Tl, ytl, self.target_weight)], T,
                                               adversary if has_source else None, (disc,) if has_source else ())
