"""Self-training: pseudo-label the target examples the model is surest of, retrain, repeat.

A first model learns from the source (and any target shots). Each of ``rounds`` rounds then
labels the unlabelled target with the current model and keeps, for every class, the same number
of its most confident predictions: ``max_fraction * r / rounds * n_target / n_classes`` in round
``r`` (class-balanced, as in Zou et al. 2018, CBST), fewer only when fewer examples are predicted
as that class. Without the balance the majority class snowballs: its pseudo-labels make the
model predict it more, which adds more of it next round. The fraction grows round by round
because the model gets more trustworthy on the target as it sees more of it.

Every round retrains from a fresh initialisation, so an early wrong pseudo-label is not baked into
the weights for good; the pseudo-labelled set counts ``pseudo_weight`` times as much as the
source set in the loss.

``history_["cls"]`` concatenates the per-epoch classification loss of every training run and
``history_["pseudo"]`` holds the number of pseudo-labels used in each round.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ys = rng.integers(0, 2, 200); Xs = rng.normal(size=(200, 6)) + 2 * ys[:, None]
>>> yt = rng.integers(0, 2, 200); Xt = rng.normal(size=(200, 6)) + 2 * yt[:, None] + 0.8
>>> a = SelfTraining(seed=0, epochs=5, rounds=2).fit(Xs, ys, Xt)
>>> a.history_["pseudo"][0], len(a.history_["pseudo"])   # 0.8 * 1/2 * 200 in round 1
(80.0, 2)
"""

from __future__ import annotations

import torch

from .head import FeatureAdapter, check_param

__all__ = ["SelfTraining", "select_balanced"]


def select_balanced(proba: torch.Tensor, per_class: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices and predicted labels of the ``per_class`` most confident predictions of each class."""
    conf, label = proba.max(dim=1)
    picks = []
    for c in range(proba.shape[1]):
        idx = torch.nonzero(label == c).squeeze(1)
        picks.append(idx[torch.argsort(conf[idx], descending=True, stable=True)[:per_class]])
    chosen = torch.cat(picks)
    return chosen, label[chosen]


class SelfTraining(FeatureAdapter):
    """``SelfTraining(rounds=3, max_fraction=0.8, pseudo_weight=1.0, **common)``; needs ``Xt``."""

    name = "self_training"
    needs_target = True
    uses_target = True

    def __init__(self, *, rounds: int = 3, max_fraction: float = 0.8, pseudo_weight: float = 1.0, **common):
        super().__init__(**common)
        self.rounds = check_param("rounds", rounds, 0, integer=True)
        self.max_fraction = check_param("max_fraction", max_fraction, 0, 1, strict=True)
        self.pseudo_weight = check_param("pseudo_weight", pseudo_weight, 0)

    def _fit(self, S, ys, T, Tl, ytl) -> None:
        labelled = [(S, ys, 1.0), (Tl, ytl, self.target_weight)]
        net, history = self._train(labelled)
        history = {"cls": list(history.get("cls", [])), "pseudo": []}
        for r in range(1, self.rounds + 1 if T is not None else 1):
            with torch.no_grad():
                proba = torch.softmax(net(T)[1], dim=1)
            per_class = int(self.max_fraction * r / self.rounds * len(T) / self.n_classes_)
            chosen, pseudo = select_balanced(proba, per_class)
            if not len(chosen):
                break
            net, h = self._train(labelled + [(T[chosen], pseudo, self.pseudo_weight)])
            history["cls"] += h.get("cls", [])
            history["pseudo"].append(float(len(chosen)))
        self.net_, self.history_ = net, history
