"""CORAL: align the source features' second-order statistics with the target's, then classify.

Sun, Feng & Saenko (2016), "Return of frustratingly easy domain adaptation". The source features
are whitened with their own covariance and re-coloured with the target's, ``S' = (S - mu_s)
Cs^(-1/2) Ct^(1/2) + mu_t`` with ``C = cov + eps * I``; the classifier is then trained on ``S'``
(plus any target shots, which are target-domain already) and applied to target features as they
are. Moving the means as well as the covariances costs nothing and removes the simplest shift,
an offset between categories. ``eps=1`` is the paper's regulariser: on standardised features it
keeps whitening from blowing up the many near-empty directions of sentence embeddings.

With ``deep_weight > 0`` the Deep CORAL loss (Sun & Saenko, 2016), the same covariance distance
between source and target hidden features, is added to training as well. The distance is divided
by 4 d^2, so useful weights are large (hundreds to thousands for ``hidden=128``): the paper picks
the weight that makes both losses about equal at the end of training.

``history_["coral"]`` holds the covariance distance ``||Cs - Ct||_F^2 / (4 d^2)`` before and after
the alignment; ``history_["cls"]`` the per-epoch classification loss.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ys = rng.integers(0, 2, 300); Xs = rng.normal(size=(300, 6)) + 2 * ys[:, None]
>>> yt = rng.integers(0, 2, 300); Xt = (rng.normal(size=(300, 6)) + 2 * yt[:, None]) * 3 + 1
>>> a = CORAL(seed=0, epochs=10).fit(Xs, ys, Xt)
>>> before, after = a.history_["coral"]
>>> bool(after < before), bool((a.predict(Xt) == yt).mean() > 0.9)
(True, True)
"""

from __future__ import annotations

import numpy as np
import torch

from .head import FeatureAdapter, check_param

__all__ = ["CORAL", "coral_align", "coral_distance", "coral_loss"]


def _cov(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    D = X - X.mean(axis=0)
    return D.T @ D / max(1, len(X) - 1)


def _psd_power(C: np.ndarray, power: float) -> np.ndarray:
    w, V = np.linalg.eigh(C)
    return (V * np.clip(w, 1e-12, None) ** power) @ V.T


def coral_distance(A: np.ndarray, B: np.ndarray) -> float:
    """Deep CORAL's distance between the feature covariances of two samples: ||Ca - Cb||_F^2 / (4 d^2)."""
    d = np.shape(A)[1]
    return float(((_cov(A) - _cov(B)) ** 2).sum() / (4.0 * d * d))


def coral_align(S: np.ndarray, T: np.ndarray, eps: float = 1.0) -> np.ndarray:
    """``S`` whitened with its own covariance, re-coloured with ``T``'s and moved to ``T``'s mean."""
    S, T = np.asarray(S, dtype=np.float64), np.asarray(T, dtype=np.float64)
    eye = eps * np.eye(S.shape[1])
    A = _psd_power(_cov(S) + eye, -0.5) @ _psd_power(_cov(T) + eye, 0.5)
    return (S - S.mean(axis=0)) @ A + T.mean(axis=0)


def coral_loss(hs: torch.Tensor, ht: torch.Tensor) -> torch.Tensor:
    """Differentiable :func:`coral_distance` for the Deep CORAL loss on hidden features."""
    def cov(h):
        d = h - h.mean(dim=0, keepdim=True)
        return d.T @ d / max(1, len(h) - 1)
    return ((cov(hs) - cov(ht)) ** 2).sum() / (4.0 * hs.shape[1] ** 2)


class CORAL(FeatureAdapter):
    """``CORAL(eps=1.0, deep_weight=0.0, **common)``; needs unlabelled target features ``Xt``."""

    name = "coral"
    needs_target = True
    uses_target = True

    def __init__(self, *, eps: float = 1.0, deep_weight: float = 0.0, **common):
        super().__init__(**common)
        self.eps = check_param("eps", eps, 0, strict=True)
        self.deep_weight = check_param("deep_weight", deep_weight, 0)

    def _fit(self, S, ys, T, Tl, ytl) -> None:
        coral = []
        if len(S) >= 2:  # a single example has no covariance to align
            aligned = coral_align(S.numpy(), T.numpy(), self.eps)
            coral = [coral_distance(S.numpy(), T.numpy()), coral_distance(aligned, T.numpy())]
            S = torch.from_numpy(aligned.astype(np.float32))

        def deep(hs, ht, p):
            loss = coral_loss(hs, ht)
            return {"deep_coral": (self.deep_weight * loss, loss.item())}

        use_deep = self.deep_weight > 0 and len(S) > 0 and T is not None
        self.net_, history = self._train([(S, ys, 1.0), (Tl, ytl, self.target_weight)], T,
                                         deep if use_deep else None)
        self.history_ = {**history, **({"coral": coral} if coral else {})}
