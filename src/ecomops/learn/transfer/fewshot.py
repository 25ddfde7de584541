"""Prototypes: few-shot classification by cosine similarity to one mean vector per class.

Each class gets a prototype, the normalised mean of its normalised examples. With target shots
the prototype is ``blend * target-shot mean + (1 - blend) * source mean`` (both normalised, then
the sum is): a handful of target examples is closer to the truth than thousands from another
category, but too few to stand alone, and ``blend`` sets the trade. A class seen only in the
source or only in the target shots uses what it has, so ``k = 0`` (source prototypes) and no
source at all (target shots only) both work. ``predict_proba`` is the softmax of the cosine
similarities divided by ``temperature``.

With ``center=True`` (the default) each domain's mean is subtracted first, the source's from the
source and the target's (shots and unlabelled ``Xt`` when given; the source's when neither is)
from the target and from every vector predicted. Sentence embeddings share a large common
component that makes every cosine similarity high and squeezes the differences between classes,
and an offset between two categories' embeddings is the simplest domain shift there is.
Nothing is trained, so ``seed``, ``epochs``, ``lr``, ``hidden`` and the other common options are
accepted for a uniform API and ignored; ``history_`` stays empty.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> Xs = rng.normal(size=(100, 8)); ys = (Xs[:, 0] > 0).astype(int)
>>> Xl = np.array([[3.0] + [0] * 7, [-3.0] + [0] * 7]); yl = np.array([1, 0])
>>> a = Prototypes().fit(Xs, ys, Xt_labeled=Xl, yt_labeled=yl)
>>> a.predict(Xl).tolist(), Prototypes().fit(None, None, Xt_labeled=Xl, yt_labeled=yl).predict(Xl).tolist()
([1, 0], [1, 0])
"""

from __future__ import annotations

import numpy as np
import torch

from .head import FeatureAdapter, check_param

__all__ = ["Prototypes"]


def _unit(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return X / np.maximum(np.linalg.norm(X, axis=-1, keepdims=True), 1e-12)


class Prototypes(FeatureAdapter):
    """``Prototypes(blend=0.5, temperature=0.1, center=True, **common)``; ``Xt`` is optional."""

    name = "prototypes"
    needs_target = False
    uses_target = True
    trains = False

    def __init__(self, *, blend: float = 0.5, temperature: float = 0.1, center: bool = True, **common):
        super().__init__(**common)
        self.blend = check_param("blend", blend, 0, 1)
        self.temperature = check_param("temperature", temperature, 0, strict=True)
        self.center = bool(center)

    def _statistics(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # No per-feature scaling: it would change the angles the cosine similarity is about.
        mean = X.mean(axis=0) if self.center else np.zeros(X.shape[1])
        return mean.astype(np.float32), np.ones(X.shape[1], dtype=np.float32)

    def _fit(self, S, ys, T, Tl, ytl) -> None:
        S, ys, Tl, ytl = S.numpy(), ys.numpy(), Tl.numpy(), ytl.numpy()
        if self.center:
            # Each domain is centred on its own mean, so an offset between categories cancels;
            # predictions are for the target, so its mean (shots and unlabelled) is the one kept.
            target = np.concatenate([Tl] + ([T.numpy()] if T is not None else []))
            shift = target.mean(axis=0) if len(target) else S.mean(axis=0)
            S = S - (S.mean(axis=0) if len(S) else 0.0)
            Tl = Tl - shift
            self.mean_ = (self.mean_ + shift).astype(np.float32)
        protos = np.zeros((self.n_classes_, self.n_features_))
        for c in range(self.n_classes_):
            src, tgt = _unit(S[ys == c]), _unit(Tl[ytl == c])
            if len(src) and len(tgt):
                protos[c] = self.blend * _unit(tgt.mean(0)) + (1 - self.blend) * _unit(src.mean(0))
            elif len(src) or len(tgt):  # a class with no example at all keeps a zero prototype
                protos[c] = (src if len(src) else tgt).mean(0)
        self.prototypes_ = _unit(protos)  # a zero prototype stays zero: cosine 0 to everything
        self.history_ = {}

    def _logits(self, Z: torch.Tensor) -> np.ndarray:
        return _unit(Z.numpy()) @ self.prototypes_.T / self.temperature

    def transform(self, X) -> np.ndarray:
        """The centred, unit-length vectors the prototypes are compared with."""
        return _unit(self._inputs(X).numpy())

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"prototypes": self.prototypes_.copy()}

    def _load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.prototypes_ = np.array(arrays["prototypes"], dtype=np.float64)
