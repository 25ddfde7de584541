"""Recommendations for a business buyer: the merchant's current products ranked by purchase propensity.

Candidates are the products the merchant's buyers looked at or ordered most recently
(:attr:`PurchasePropensity.recent_products`, bounded). Each is scored as if the buyer viewed it
now, with the merchant's live propensity model and streaming statistics (reorder cycle, product
popularity and conversion), read-only; the best ``k`` come back with the reasons behind each score.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...core.events import View
from ...learn.online.hashing import FeatureHasher
from ..explain import explain, score_only
from .propensity import PurchasePropensity

__all__ = ["recommend"]


def recommend(task: PurchasePropensity, hasher: FeatureHasher, buyer_id: str, ts: float, k: int = 10,
              candidates: int = 500, reasons: int = 3) -> list[dict[str, Any]]:
    """Top ``k`` products for ``buyer_id`` at time ``ts``: ``[{product_id, category, score, reasons}]``."""
    items = task.recent_products.items(limit=candidates)
    if not items or k <= 0:
        return []
    feats = [task.features(View(event_id="recommend", merchant_id="-", ts=ts, buyer_id=buyer_id, product_id=p,
                                category=cat or None)) for p, cat in items]
    probs = score_only(task.model, hasher, feats)
    order = np.argsort(-probs, kind="stable")[:k]
    out = []
    for i in order:
        s = explain(task.model, hasher, feats[i], top=reasons)
        out.append({"product_id": items[i][0], "category": items[i][1] or None, "score": round(s.score, 6),
                    "reasons": s.reasons})
    return out
