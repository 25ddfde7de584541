"""Reciprocal rank fusion (Cormack, Clarke and Buettcher, 2009): ``score = sum 1 / (k + rank)``.

Ranks start at 1. An item missing from a ranking adds nothing for it. Ties are broken by the
best single rank, then by first appearance, so the order is deterministic.

>>> rrf([["a", "b", "c"], ["c", "a"]], k=60)[0][0]
'a'
>>> [key for key, _ in rrf([["x", "y"], ["y", "z"]])]
['y', 'x', 'z']
"""

from __future__ import annotations

from typing import Hashable, Sequence

__all__ = ["rrf"]


def rrf(rankings: Sequence[Sequence[Hashable]], k: int = 60) -> list[tuple[Hashable, float]]:
    """Fuse best-first rankings into ``[(key, score), ...]``, best first."""
    score: dict[Hashable, float] = {}
    best: dict[Hashable, int] = {}
    first: dict[Hashable, int] = {}
    seen = 0
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            score[key] = score.get(key, 0.0) + 1.0 / (k + rank)
            best[key] = min(best.get(key, rank), rank)
            if key not in first:
                first[key] = seen
                seen += 1
    return sorted(score.items(), key=lambda kv: (-kv[1], best[kv[0]], first[kv[0]]))
