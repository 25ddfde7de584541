"""Scores with their reasons: what each feature added to a linear model's log-odds.

A logistic model's score is ``sigmoid(sum_i w[idx_i] * val_i)``, so each feature's part of the
log-odds is exact (``w * value``), not an approximation; the reasons are the largest parts by
absolute size, each saying whether it raises or lowers the score. ``baseline`` is the bias.
Two tokens that hash to one coordinate share a weight (rare at 2**18 coordinates).

Used by the service's prediction endpoints and recommendations; the task supplies the features
(``task.features(event)``), read-only, so scoring here never changes what the engine learns.

>>> from ecomops.learn.online.hashing import FeatureHasher
>>> from ecomops.learn.online.linear import LogisticRegression, FTRL
>>> h = FeatureHasher(n_bits=12)
>>> m = LogisticRegression(n_bits=12, optimizer=FTRL(alpha=0.5, l1=0.0))
>>> for _ in range(50):
...     m.learn_one(*h.hash_one({"device": "d1"}), 1.0); m.learn_one(*h.hash_one({"device": "d2"}), 0.0)
>>> s = explain(m, h, {"device": "d1", "qty": 0.0})
>>> round(s.score, 2), s.reasons[0]["feature"], s.reasons[0]["value"], s.reasons[0]["effect"]
(0.88, 'device', 'd1', 'raises')
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

import numpy as np

from ..learn.online.hashing import BIAS_TOKEN, FeatureHasher

__all__ = ["Scored", "explain", "explain_many", "score_only"]

CLIP = 35.0


@dataclass
class Scored:
    score: float
    logit: float
    reasons: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _weights(model) -> np.ndarray | None:
    w = getattr(model, "w", None)
    return w if isinstance(w, np.ndarray) else None


def _display(v: Any) -> Any:
    if isinstance(v, str):
        return v.replace("\x1f", " | ")
    if isinstance(v, float):
        return round(v, 4)
    return v


def _reasons(toks: list[str], vals: list[float], parts: np.ndarray, features: Mapping[str, Any],
             top: int) -> list[dict[str, Any]]:
    order = np.argsort(-np.abs(parts), kind="stable")
    out = []
    for i in order[: max(top, 0) * 2 + 1]:
        c = float(parts[i])
        if c == 0.0 or len(out) >= top:
            continue
        tok = toks[i]
        if tok == BIAS_TOKEN:
            name, value = "baseline", None
        elif tok in features:
            name, value = tok, features[tok]
        else:
            name, _, value = tok.partition("=")
            value = features.get(name, value)
        out.append({"feature": name, "value": _display(value), "contribution": round(c, 4),
                    "effect": "raises" if c > 0 else "lowers"})
    return out


def explain(model, hasher: FeatureHasher, features: Mapping[str, Any], top: int = 5) -> Scored:
    """Score one feature dict with ``model`` and give the ``top`` features by |contribution|."""
    toks, vals = hasher.tokens(features)
    idx = hasher._hash_tokens(toks)
    w = _weights(model)
    if w is None:  # not a linear model over hashed features: the score without reasons
        p = float(model.predict_one(idx, np.array(vals, dtype=np.float32)))
        return Scored(p, _logit(p))
    parts = w[idx] * np.asarray(vals, dtype=np.float32).astype(np.float64)
    s = float(parts.sum())
    p = 1.0 / (1.0 + math.exp(-min(max(s, -CLIP), CLIP)))
    return Scored(p, s, _reasons(toks, vals, parts, features, top))


def score_only(model, hasher: FeatureHasher, records: list[Mapping[str, Any]]) -> np.ndarray:
    """Probabilities of many feature dicts at once (no reasons)."""
    if not records:
        return np.empty(0)
    return model.predict_many(hasher.hash_many(records))


def explain_many(model, hasher: FeatureHasher, records: list[Mapping[str, Any]], top: int = 3) -> list[Scored]:
    return [explain(model, hasher, r, top) for r in records]


def _logit(p: float) -> float:
    p = min(max(p, 1e-15), 1 - 1e-15)
    return math.log(p / (1 - p))
