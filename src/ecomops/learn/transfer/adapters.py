"""The feature-level domain adapters by name, for configs and command lines.

Every adapter has the same API: ``fit(Xs, ys, Xt=None, Xt_labeled=None, yt_labeled=None)``,
``predict_proba``, ``predict``, ``history_``, ``state_dict`` and ``ADAPTERS[name].from_state``.

======================  ===========================================================  ===========
name                    method                                                       needs ``Xt``
======================  ===========================================================  ===========
``source_only``         no adaptation (the baseline)                                 no
``coral``               CORAL: re-colour source features with target covariance      yes
``mmd``                 DAN-style multi-kernel MMD penalty on the hidden layer       yes
``dann``                domain-adversarial training (gradient reversal)              yes
``self_training``       class-balanced pseudo-labelling rounds                       yes
``prototypes``          cosine similarity to class prototypes (few-shot)             no
======================  ===========================================================  ===========

>>> sorted(ADAPTERS)
['coral', 'dann', 'mmd', 'prototypes', 'self_training', 'source_only']
>>> make_adapter("dann", hidden=32, lambda_=0.5)  # doctest: +ELLIPSIS
DANN(seed=0, epochs=20, lr=0.001, hidden=32, ..., lambda_=0.5, domain_hidden=64, anneal_lr=True)
>>> make_adapter("cmd")
Traceback (most recent call last):
...
ecomops.core.errors.ConfigError: unknown adapter 'cmd': choose one of source_only, coral, mmd, dann, self_training, prototypes
"""

from __future__ import annotations

from typing import Any

from ...core.errors import ConfigError
from .coral import CORAL
from .dann import DANN
from .fewshot import Prototypes
from .head import FeatureAdapter, SourceOnly
from .mmd import MMD
from .self_training import SelfTraining

__all__ = ["ADAPTERS", "make_adapter", "FeatureAdapter", "SourceOnly", "CORAL", "MMD", "DANN",
           "SelfTraining", "Prototypes"]

ADAPTERS: dict[str, type[FeatureAdapter]] = {
    "source_only": SourceOnly,
    "coral": CORAL,
    "mmd": MMD,
    "dann": DANN,
    "self_training": SelfTraining,
    "prototypes": Prototypes,
}


def make_adapter(name: str, **kwargs: Any) -> FeatureAdapter:
    """``ADAPTERS[name](**kwargs)``, with a ConfigError listing the valid names or options."""
    cls = ADAPTERS.get(name)
    if cls is None:
        raise ConfigError(f"unknown adapter {name!r}: choose one of {', '.join(ADAPTERS)}")
    unknown = sorted(set(kwargs) - set(cls.param_names()))
    if unknown:
        raise ConfigError(f"adapter {name!r} has no option {', '.join(unknown)}; "
                          f"its options are {', '.join(cls.param_names())}")
    return cls(**kwargs)
