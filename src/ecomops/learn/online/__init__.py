"""Online learning on event streams: stable feature hashing, sparse per-coordinate optimizers,
logistic regression and factorization machines compiled with numba, streaming metrics,
progressive validation and drift adaptation.

>>> from ecomops.learn.online import FeatureHasher, LogisticRegression, FTRL, ProgressiveValidation
>>> hasher, model = FeatureHasher(n_bits=16), LogisticRegression(n_bits=16, optimizer=FTRL())
>>> pv = ProgressiveValidation(window=200, every=200)
>>> batch = hasher.hash_many([{"device": "d%d" % (i % 3)} for i in range(600)])
>>> p = pv.learn_many(model, batch, [float(i % 3 == 0) for i in range(600)])
>>> pv.summary()["auc"]
1.0
"""

from .drift import AdaptationPolicy, DriftDetector, recovery_time
from .evaluate import ProgressiveValidation
from .fm import FactorizationMachine
from .hashing import FeatureHasher
from .murmur import murmurhash3_32
from .linear import LogisticRegression
from .metrics import ROCAUC, LogLoss, RollingLogLoss, RollingROCAUC, log_loss, roc_auc
from .optim import FTRL, SGD, Adam, Optimizer, make_optimizer
from .sparse import SparseBatch

__all__ = [
    "AdaptationPolicy",
    "Adam",
    "DriftDetector",
    "FTRL",
    "FactorizationMachine",
    "FeatureHasher",
    "LogLoss",
    "LogisticRegression",
    "Optimizer",
    "ProgressiveValidation",
    "ROCAUC",
    "RollingLogLoss",
    "RollingROCAUC",
    "SGD",
    "SparseBatch",
    "log_loss",
    "make_optimizer",
    "murmurhash3_32",
    "recovery_time",
    "roc_auc",
]
