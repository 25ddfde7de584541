"""Split long texts into ~500-character chunks on paragraph and sentence boundaries.

Sentences end at ``. ! ?`` followed by white space, or at ``。！？`` (Chinese needs no space).
A sentence longer than the chunk size is cut at white space (or anywhere, for CJK). Consecutive
chunks share up to ``overlap`` characters (whole trailing sentences when they fit), so a fact
split across a boundary is still found.

>>> chunk_text("Short text.")
['Short text.']
>>> [len(c) <= 40 for c in chunk_text("One sentence here. " * 6, size=40, overlap=0)]
[True, True, True]
>>> chunk_text("退货期限为七天，商品需保持完好无损。请保留发票、包装盒和全部配件。", size=20, overlap=0)
['退货期限为七天，商品需保持完好无损。', '请保留发票、包装盒和全部配件。']
"""

from __future__ import annotations

import re

__all__ = ["chunk_text", "split_units"]

_PARAGRAPHS = re.compile(r"\n[ \t]*\n\s*")
# a sentence: shortest run ending at western end punctuation + space, CJK end punctuation, or end
_SENTENCE = re.compile(r".*?(?:[.!?]+[\"')\]]*(?:\s+|$)|[。！？]+[”」』）)]*\s*|$)", re.S)


def split_units(text: str, size: int) -> list[str]:
    """Sentences (paragraph ends keep a blank line), each at most ``size`` characters."""
    units: list[str] = []
    paragraphs = [p.strip() for p in _PARAGRAPHS.split(text) if p.strip()]
    for pi, para in enumerate(paragraphs):
        sents = [m.group(0) for m in _SENTENCE.finditer(para) if m.group(0)]
        for si, sent in enumerate(sents):
            sent = sent.rstrip()
            if not sent:
                continue
            last_of_para = si == len(sents) - 1 or not "".join(sents[si + 1:]).strip()
            sep = "\n\n" if last_of_para and pi < len(paragraphs) - 1 else ("" if last_of_para else " ")
            if _is_cjk_end(sent) and not last_of_para:
                sep = ""
            for piece in _hard_split(sent, size):
                units.append(piece)
            units[-1] = units[-1] + sep
    return units


def _is_cjk_end(sent: str) -> bool:
    return bool(sent) and sent.rstrip("”」』）)")[-1:] in "。！？"


def _hard_split(sent: str, size: int) -> list[str]:
    out = []
    while len(sent) > size:
        cut = sent.rfind(" ", size // 2, size)
        cut = cut if cut > 0 else size
        out.append(sent[:cut].rstrip() + " " if sent[cut:cut + 1] == " " else sent[:cut])
        sent = sent[cut:].lstrip()
    if sent:
        out.append(sent)
    return out


def chunk_text(text: str, size: int = 500, overlap: int = 60) -> list[str]:
    """Chunks of at most ``size`` characters covering all of ``text`` (empty text -> ``[]``)."""
    if size < 20:
        raise ValueError("chunk size must be at least 20 characters")
    text = text.strip()
    if not text:
        return []
    if len(text) <= size:
        return [text]
    units = split_units(text, size)
    chunks: list[str] = []
    cur: list[str] = []
    cur_len = 0
    fresh = 0  # units in ``cur`` not already in the previous chunk
    for u in units:
        if cur and cur_len + len(u.rstrip()) > size:
            chunks.append("".join(cur).strip())
            tail: list[str] = []
            tail_len = 0
            for prev in reversed(cur):  # whole trailing sentences that fit in the overlap
                if tail_len + len(prev) > overlap or tail_len + len(prev) + len(u) > size:
                    break
                tail.insert(0, prev)
                tail_len += len(prev)
            cur, cur_len, fresh = tail, tail_len, 0
        cur.append(u)
        cur_len += len(u)
        fresh += 1
    if cur and fresh:
        chunks.append("".join(cur).strip())
    return chunks
