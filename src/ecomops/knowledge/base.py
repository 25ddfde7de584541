"""The per-merchant knowledge base: versioned documents, hybrid search over current versions.

Writes go through ``store.scoped(merchant_id).kb_put`` (one transaction: older versions of the
same ``doc_id`` are marked superseded as the new one lands). Search fuses a BM25 ranking and a
dense (embedding) ranking of the chunks of *current* versions with reciprocal rank fusion, and
returns the best chunk of each document, so a superseded version is never cited.

Re-adding a document always makes a new version, even with identical text: the version history
is the audit trail of what was loaded when (re-adding a file under the same name makes a new
version of each of its documents, and retires the ones that are no longer in it).

The search index lives in memory, one per (database, merchant, encoder), shared by all
``KnowledgeBase`` objects of the process. Each search asks the store for the merchant's KB
revision (one indexed ``count``) and rebuilds the index when it changed, so an update, from this
process or another, is searchable at once.

>>> import tempfile
>>> from ecomops.store import Store
>>> kb = KnowledgeBase(Store.open(tempfile.mkdtemp()), "m1", encoder=None)
>>> kb.add_documents([Document("returns", "Returns", "Returns are accepted within 7 days.")])
[('returns', 1)]
>>> kb.add_documents([Document("returns", "Returns", "Returns are accepted within 14 days.")])
[('returns', 2)]
>>> [(h.doc_id, h.version, h.text) for h in kb.search("how many days to return")]
[('returns', 2, 'Returns are accepted within 14 days.')]
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ..core.errors import StateError
from ..store import ALL_MERCHANTS, KbChunk, KbDocument, Store
from .bm25 import BM25Index
from .chunking import chunk_text
from .dense import from_bytes, load_encoder, to_bytes
from .fusion import rrf
from .loaders import Document, documents_from_event, load_file

__all__ = ["KnowledgeBase", "Hit", "RRF_K"]

RRF_K = 60


@dataclass(frozen=True)
class Hit:
    """One search result: the best-matching chunk of a current document version."""

    doc_id: str
    version: int
    title: str
    text: str  # the chunk's text
    chunk_no: int
    score: float  # fused RRF score
    bm25_rank: int | None  # 1-based rank among BM25 results, None when BM25 did not return it
    dense_rank: int | None  # 1-based rank among dense results, None when off or not returned
    kind: str = "document"
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Index:
    revision: tuple[int, int]
    keys: list[tuple[str, int, int]]  # (doc_id, version, chunk_no) per chunk position
    chunk_texts: list[str]
    docs: dict[str, KbDocument]
    bm25: BM25Index
    vectors: np.ndarray | None  # (n, d) unit vectors, None without an encoder


_CACHE: dict[tuple[str, str, str], _Index] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_MAX = 256  # merchants' indexes kept in memory; the oldest is dropped beyond that


def _index_text(title: str, chunk: str) -> str:
    """What is searched: the chunk with its document's title (an FAQ's question) in front."""
    return f"{title}\n{chunk}" if title and title not in chunk else chunk


class KnowledgeBase:
    """Knowledge base of one merchant.

    ``encoder``: ``"default"`` (bundled MiniLM, loaded lazily), a local model directory, an object
    with ``encode(texts)`` and ``fingerprint``, or ``None`` for BM25 only. When the default encoder
    cannot load (no torch/transformers), search is BM25 only and :attr:`dense_off_reason` says why.
    ``tuned``: use the merchant's tuned retriever (:mod:`.tuning`) when one was trained on this encoder.
    """

    def __init__(self, store: Store, merchant_id: str, encoder: Any = "default", *,
                 chunk_size: int = 500, chunk_overlap: int = 60, tuned: bool = True):
        if not merchant_id or merchant_id == ALL_MERCHANTS:
            raise StateError("a knowledge base belongs to one merchant: pass a merchant id, not the admin scope")
        self.store = store
        self.merchant_id = merchant_id
        self.scope = store.scoped(merchant_id)
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self._encoder_spec = encoder
        self.tuned = tuned
        self._base: Any = None
        self._encoder: Any = None
        self._encoder_loaded = False
        self.dense_off_reason: str | None = None

    # -- encoder -------------------------------------------------------------------------------
    @property
    def base_encoder(self) -> Any:
        """The encoder as configured, without the merchant's tuned retriever."""
        if not self._encoder_loaded:
            self._base, self.dense_off_reason = load_encoder(self._encoder_spec)
            self._encoder = self._base
            if self.tuned and self._base is not None:
                from .tuning import load_tuned

                self._encoder = load_tuned(self.scope, self._base) or self._base
            self._encoder_loaded = True
        return self._base

    @property
    def encoder(self) -> Any:
        """The encoder search uses: the merchant's tuned retriever (``ecomops kb tune``) when there is one."""
        self.base_encoder
        return self._encoder

    @property
    def bm25_weight(self) -> float:
        """BM25's weight in the fusion: 1 (equal to dense), or what retrieval tuning chose on held-out questions."""
        return float(getattr(self.encoder, "meta", {}).get("bm25_weight", 1.0))

    def reload_encoder(self) -> None:
        """Pick up a retriever tuned since this object loaded its encoder."""
        self._encoder_loaded = False
        self._drop_index()

    def refresh_vectors(self, progress: bool = False) -> int:
        """Re-encode and store the vectors of current chunks made by another encoder; returns how many."""
        if self.encoder is None:
            return 0
        fp = self._fingerprint()
        docs = {d.doc_id: d for d in self.scope.kb_documents(current_only=True)}
        stale = [c for c in self.scope.kb_chunks(current_only=True) if c.encoder != fp and c.doc_id in docs]
        if not stale:
            return 0
        texts = [_index_text(docs[c.doc_id].title, c.text) for c in stale]
        try:
            vecs = self._encode(texts, progress=progress)
        except TypeError:  # a plain encode(texts) object
            vecs = self._encode(texts)
        n = self.scope.kb_set_vectors((c.doc_id, c.version, c.chunk_no, to_bytes(v), fp) for c, v in zip(stale, vecs))
        self._drop_index()
        return n

    @property
    def dense(self) -> bool:
        """True when search uses dense vectors as well as BM25."""
        return self.encoder is not None

    def _fingerprint(self) -> str:
        return str(self.encoder.fingerprint) if self.encoder is not None else "bm25"

    def _encode(self, texts: Sequence[str], encoder: Any = None, **kw) -> np.ndarray:
        vecs = np.asarray((encoder or self.encoder).encode(list(texts), **kw), dtype=np.float32)
        if vecs.ndim != 2 or vecs.shape[0] != len(texts):
            raise StateError(f"the encoder returned shape {vecs.shape} for {len(texts)} texts")
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.where(norms > 0, norms, 1.0)

    # -- writing -------------------------------------------------------------------------------
    def add_documents(self, docs: Iterable[Document], source: str | None = None,
                      retire_source: str | None = None) -> list[tuple[str, int]]:
        """Store ``docs`` as new versions; returns ``[(doc_id, version), ...]``.

        ``source`` fills in documents without one. ``retire_source``: current documents from that
        source missing from ``docs`` are superseded too (used by :meth:`add_file`).
        """
        docs = list(docs)
        pieces = [chunk_text(d.text, self.chunk_size, self.chunk_overlap) for d in docs]
        vectors: list[np.ndarray | None] = [None] * sum(len(p) for p in pieces)
        if self.encoder is not None and vectors:
            texts = [_index_text(d.title, c) for d, p in zip(docs, pieces) for c in p]
            vectors = list(self._encode(texts))
        fp = self._fingerprint() if self.encoder is not None else None
        rows, pos = [], 0
        for d, p in zip(docs, pieces):
            chunks = []
            for i, c in enumerate(p):
                v = vectors[pos]
                pos += 1
                chunks.append(KbChunk(i, c, to_bytes(v) if v is not None else None, fp if v is not None else None))
            rows.append(KbDocument(doc_id=d.doc_id, title=d.title, text=d.text, kind=d.kind,
                                   source=d.source or source or "", chunks=tuple(chunks)))
        out = self.scope.kb_put(rows, retire_source=retire_source)
        self._drop_index()
        return out

    def add_file(self, path: str | Path, kind: str | None = None) -> list[tuple[str, int]]:
        """Load a md/txt/csv/jsonl file (see :mod:`.loaders`); a file re-added by name makes new versions."""
        path = Path(path)
        return self.add_documents(load_file(path, kind=kind), retire_source=path.name)

    def add_event(self, payload: dict) -> list[tuple[str, int]]:
        """The stream path: ``{"doc_id", "text", "title"?, "kind"?}`` or ``{"documents": [...]}``."""
        return self.add_documents(documents_from_event(payload))

    # -- reading -------------------------------------------------------------------------------
    def documents(self, current_only: bool = True) -> list[KbDocument]:
        return self.scope.kb_documents(current_only=current_only)

    def search(self, query: str, k: int = 5, depth: int = 100) -> list[Hit]:
        """Best ``k`` documents for ``query``: BM25 and dense rankings (``depth`` each) fused by RRF."""
        if not query.strip() or k <= 0:
            return []
        idx = self._index()
        if not idx.keys:
            return []
        b_pos, _ = idx.bm25.top(query, depth)
        rankings = [[int(p) for p in b_pos]]
        if idx.vectors is not None:
            sims = idx.vectors @ self._encode([query])[0]
            d = min(depth, sims.size)
            top = np.argpartition(-sims, d - 1)[:d]
            rankings.append([int(p) for p in top[np.lexsort((top, -sims[top]))]])
        bm25_rank = {p: r for r, p in enumerate(rankings[0], start=1)}
        dense_rank = {p: r for r, p in enumerate(rankings[1], start=1)} if len(rankings) > 1 else {}
        hits: list[Hit] = []
        seen: set[str] = set()
        weights = [self.bm25_weight, 1.0] if len(rankings) > 1 else None
        for p, score in rrf(rankings, k=RRF_K, weights=weights):
            doc_id, version, chunk_no = idx.keys[p]
            if doc_id in seen:
                continue  # the document's best chunk is already in
            seen.add(doc_id)
            doc = idx.docs[doc_id]
            hits.append(Hit(doc_id, version, doc.title, idx.chunk_texts[p], chunk_no, float(score),
                            bm25_rank.get(p), dense_rank.get(p), doc.kind, doc.source))
            if len(hits) == k:
                break
        return hits

    # -- the in-memory index -------------------------------------------------------------------
    def _key(self) -> tuple[str, str, str]:
        return (str(self.store.engine.url), self.merchant_id, self._fingerprint())

    def _drop_index(self) -> None:
        with _CACHE_LOCK:
            _CACHE.pop(self._key(), None)

    def _index(self) -> _Index:
        key = self._key()
        revision = self.scope.kb_revision()
        with _CACHE_LOCK:
            idx = _CACHE.get(key)
        if idx is not None and idx.revision == revision:
            return idx
        idx = self._build(revision)
        with _CACHE_LOCK:
            _CACHE.pop(key, None)
            _CACHE[key] = idx  # most recent last
            while len(_CACHE) > _CACHE_MAX:
                _CACHE.pop(next(iter(_CACHE)))
        return idx

    def _index_with(self, encoder: Any) -> _Index:
        """The current index with vectors from ``encoder`` (not cached; used to compare retrievers)."""
        if encoder is self.encoder:
            return self._index()
        idx = self._index()
        vecs = self._encode([_index_text(idx.docs[d].title, t) for (d, _, _), t in zip(idx.keys, idx.chunk_texts)],
                            encoder=encoder)
        return _Index(idx.revision, idx.keys, idx.chunk_texts, idx.docs, idx.bm25, vecs)

    def _build(self, revision: tuple[int, int]) -> _Index:
        docs = {d.doc_id: d for d in self.scope.kb_documents(current_only=True)}
        # double guard: only chunks of the one current version of each document
        chunks = [c for c in self.scope.kb_chunks(current_only=True)
                  if c.doc_id in docs and docs[c.doc_id].version == c.version]
        keys = [(c.doc_id, c.version, c.chunk_no) for c in chunks]
        texts = [_index_text(docs[c.doc_id].title, c.text) for c in chunks]
        vectors = None
        if self.encoder is not None and chunks:
            fp = self._fingerprint()
            stale = [i for i, c in enumerate(chunks) if c.vector is None or c.encoder != fp]
            fresh = self._encode([texts[i] for i in stale]) if stale else None
            dim = fresh.shape[1] if fresh is not None else len(chunks[0].vector) // 4
            vectors = np.empty((len(chunks), dim), dtype=np.float32)
            for i, c in enumerate(chunks):
                if c.vector is not None and c.encoder == fp:
                    vectors[i] = from_bytes(c.vector, dim)
            if stale:
                vectors[stale] = fresh
                # stored, so the next process (or the next revision) does not encode them again
                self.scope.kb_set_vectors((chunks[i].doc_id, chunks[i].version, chunks[i].chunk_no,
                                           to_bytes(fresh[j]), fp) for j, i in enumerate(stale))
        return _Index(revision, keys, [c.text for c in chunks], docs, BM25Index(texts), vectors)
