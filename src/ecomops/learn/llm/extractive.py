"""The offline default "language model": answers made of the retrieved passages' own sentences.

No weights, no network, a few microseconds per answer. It picks the sentences that share the most
informative words with the question (IDF-weighted over the candidate sentences, so "the" counts
for nothing and "refund" for a lot), keeps the best one or two in their passage order and marks
each with its passage number. It can only say what the passages say, which is exactly what a
customer-service answer grounded in the merchant's policies should do; it never invents.

>>> lm = ExtractiveLM()
>>> g = lm.generate([Message("user", "运费谁承担？")], passages=["退货运费由买家承担。质量问题除外。", "7天无理由退货。"])
>>> g.text, g.cited
('退货运费由买家承担。 [1]', [1])
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Sequence

from .base import Generation, Message

__all__ = ["ExtractiveLM", "tokens", "split_sentences"]

_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*|[\u4e00-\u9fff]")
_SENT = re.compile(r"(?<=[.!?。！？；;])\s*|\n+")


def tokens(text: str) -> list[str]:
    """Lower-case words with a plural ``s`` dropped; Chinese as characters and character bigrams."""
    out, run = [], []
    for t in _WORD.findall(text.lower()):
        if len(t) == 1 and "\u4e00" <= t <= "\u9fff":
            run.append(t)
            continue
        out += _cjk(run)
        run = []
        t = t[:-2] if t.endswith("'s") else t
        out.append(t[:-1] if len(t) > 3 and t.endswith("s") and not t.endswith("ss") else t)
    return out + _cjk(run)


def _cjk(chars: list[str]) -> list[str]:
    return chars + [a + b for a, b in zip(chars, chars[1:])]


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT.split(text) if s and s.strip()]


class ExtractiveLM:
    """Answer = the passages' sentences that best match the question, with ``[n]`` citations."""

    name = "extractive"

    def __init__(self, max_sentences: int = 2, max_chars: int = 400):
        self.max_sentences = max_sentences
        self.max_chars = max_chars

    def generate(self, messages: Sequence[Message], *, passages: Sequence[str] = (), max_tokens: int = 256,
                 temperature: float = 0.0) -> Generation:
        question = next((m.content for m in reversed(messages) if m.role == "user"), "")
        if not passages:
            return Generation("", self.name)
        cands = [(i, j, s) for i, p in enumerate(passages) for j, s in enumerate(split_sentences(p))]
        if not cands:
            return Generation("", self.name)
        toks = [set(tokens(s)) for _, _, s in cands]
        df = Counter(t for ts in toks for t in ts)
        n = len(cands)
        q = set(tokens(question))
        # IDF over candidate sentences; the passage rank breaks ties (retrieval already ordered them)
        scored = []
        for (i, j, s), ts in zip(cands, toks):
            overlap = sum(math.log(1 + n / df[t]) for t in q & ts)
            scored.append((overlap - 0.01 * i - 0.001 * j, i, j, s))
        scored.sort(key=lambda r: -r[0])
        best = scored[0][0]
        chosen = [scored[0]]
        for r in scored[1 : self.max_sentences]:
            # a second sentence only when it is nearly as relevant, and there is room
            if r[0] > 0 and r[0] >= 0.6 * best and sum(len(c[3]) for c in chosen) + len(r[3]) <= self.max_chars:
                chosen.append(r)
        chosen.sort(key=lambda r: (r[1], r[2]))
        text = " ".join(f"{s} [{i + 1}]" for _, i, _, s in chosen)
        return Generation(text, self.name, cited=sorted({i + 1 for _, i, _, _ in chosen}))
