"""Reciprocal rank fusion (Cormack, Clarke and Buettcher, 2009): ``score = sum w / (k + rank)``.

Ranks start at 1. An item missing from a ranking adds nothing for it. Ties are broken by the
best single rank, then by first appearance, so the order is deterministic.

>>> rrf([["a", "b", "c"], ["c", "a"]], k=60)[0][0]
'a'
>>> [key for key, _ in rrf([["x", "y"], ["y", "z"]])]
['y', 'x', 'z']
>>> [key for key, _ in rrf([["x", "y"], ["z", "y"]], weights=[0.0, 1.0])]
['z', 'y', 'x']
"""

from __future__ import annotations

from typing import Hashable, Sequence

__all__ = ["rrf"]


def rrf(rankings: Sequence[Sequence[Hashable]], k: int = 60,
        weights: Sequence[float] | None = None) -> list[tuple[Hashable, float]]:
    """Fuse best-first rankings into ``[(key, score), ...]``, best first; ``weights``: one per ranking."""
    if weights is not None and len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    score: dict[Hashable, float] = {}
    best: dict[Hashable, int] = {}
    first: dict[Hashable, int] = {}
    seen = 0
    for i, ranking in enumerate(rankings):
        w = 1.0 if weights is None else float(weights[i])
        for rank, key in enumerate(ranking, start=1):
            score[key] = score.get(key, 0.0) + w / (k + rank)
            best[key] = min(best.get(key, rank), rank)
            if key not in first:
                first[key] = seen
                seen += 1
    return sorted(score.items(), key=lambda kv: (-kv[1], best[kv[0]], first[kv[0]]))
