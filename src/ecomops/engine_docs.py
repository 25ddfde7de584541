"""Document events in ``ecomops run``: a merchant's ``document`` event lands in its knowledge base.

A policy, regulation or FAQ update published on the stream (:class:`~ecomops.core.events.DocumentUpdate`)
becomes a new version in the knowledge base of the event's merchant, and of no other: the write
goes through ``store.scoped(event.merchant_id)``. It is written at once, in its own transaction,
so ``ecomops kb search`` / ``ask`` find it while the run goes on, not only after the next checkpoint.

Exactly once. The knowledge-base write commits before the stream checkpoint that covers it, so a
crash in between replays the event. Every version an event writes carries the event id in its
``source`` (``event#<event_id>``, or ``<source>#<event_id>`` when the event names a source), and an
event whose tag the merchant's knowledge base already holds is not written again (it still counts
as applied, as it did before the crash). Comparing texts instead would not do: after "A", then "B"
for one doc_id, a replayed "A" differs from the current "B" and would make a third version.

Invalid document events (no text, ``doc_id`` and ``documents`` both or neither, a doc_id twice)
become dead letters with code ``kb_document`` and the reason; the stream goes on.

The encoder (dense vectors, as ``ecomops kb`` makes them) loads on the first document event only:
a run without document events never loads a model.

>>> import tempfile
>>> from ecomops.core.events import DocumentUpdate
>>> from ecomops.store import Store
>>> store = Store.open(tempfile.mkdtemp())
>>> w = DocumentWriter(store, encoder=None)
>>> ev = DocumentUpdate(event_id="d1", merchant_id="m1", ts=1.0, doc_id="returns", text="Returns within 14 days.")
>>> w.apply(ev), w.apply(ev)  # the second is a replay: nothing new
(None, None)
>>> [(d.doc_id, d.version, d.source) for d in store.scoped("m1").kb_documents(current_only=False)]
[('returns', 1, 'event#d1')]
>>> w.apply(DocumentUpdate(event_id="d2", merchant_id="m1", ts=2.0, doc_id="returns", text=" "))[0]
'kb_document'
"""

from __future__ import annotations

from typing import Any

from .core.errors import ValidationError
from .core.events import DocumentUpdate
from .knowledge import Document, KnowledgeBase, documents_from_event
from .knowledge.dense import load_encoder
from .store import Store

__all__ = ["DocumentWriter", "KB_CODE", "documents_of", "event_tag"]

KB_CODE = "kb_document"  # the dead-letter code of an unusable document event


def event_tag(source: str, event_id: str) -> str:
    """The ``source`` of versions written from event ``event_id`` (what a replay looks for)."""
    return f"{source or 'event'}#{event_id}"


def documents_of(ev: DocumentUpdate) -> list[Document]:
    """The event's documents, each tagged with the event id; :class:`ValidationError` (``kb_document``)."""
    single = ev.doc_id is not None or ev.text is not None
    if ev.documents is not None:
        if single or ev.title is not None:
            raise ValidationError("give 'doc_id' and 'text' (one document) or 'documents' (several), not both; "
                                  "'title' belongs to each of 'documents'", KB_CODE)
        payload: dict[str, Any] = {"documents": [
            {"doc_id": d.doc_id, "text": d.text, "title": d.title, "kind": d.kind or ev.kind,
             "source": d.source or ev.source} for d in ev.documents]}
    elif single:
        payload = {"doc_id": ev.doc_id, "text": ev.text, "title": ev.title, "kind": ev.kind, "source": ev.source}
    else:
        raise ValidationError("a document event needs 'doc_id' and 'text', or 'documents'", KB_CODE)
    docs = documents_from_event(payload)  # empty ids or texts: ValidationError(kb_document)
    seen: set[str] = set()
    for d in docs:
        if d.doc_id in seen:
            raise ValidationError(f"doc_id {d.doc_id!r} appears twice in one event", KB_CODE)
        seen.add(d.doc_id)
    return [Document(d.doc_id, d.title, d.text, d.kind, event_tag(d.source, ev.event_id)) for d in docs]


class DocumentWriter:
    """Writes document events into their merchant's knowledge base, each event once.

    ``encoder``: as for :class:`~ecomops.knowledge.KnowledgeBase` (``"default"``, a model
    directory, an encoder object, or ``None`` / ``"none"`` for BM25 only), loaded on first use.
    """

    def __init__(self, store: Store, encoder: Any = "default"):
        self.store = store
        self._spec = encoder
        self._encoder: Any = None
        self._loaded = False
        self.dense_off_reason: str | None = None
        self.written = 0  # events written by this writer
        self.replayed = 0  # events found already written (a replay after a crash)

    @property
    def encoder(self) -> Any:
        if not self._loaded:  # once per writer: a missing torch warns once, not per event
            self._encoder, self.dense_off_reason = load_encoder(self._spec)
            self._loaded = True
        return self._encoder

    @property
    def encoder_loaded(self) -> bool:
        return self._loaded

    def apply(self, ev: DocumentUpdate) -> tuple[str, str] | None:
        """Write ``ev``; ``None`` when done (or already done), else ``(code, reason)`` for a dead letter."""
        try:
            docs = documents_of(ev)
        except ValidationError as exc:
            return exc.code, exc.reason
        scope = self.store.scoped(ev.merchant_id)
        # one transaction wrote all of an event's documents: its first one tells whether it is in
        first = docs[0]
        if any(d.source == first.source for d in scope.kb_documents(current_only=False, doc_id=first.doc_id)):
            self.replayed += 1
            return None
        KnowledgeBase(self.store, ev.merchant_id, encoder=self.encoder).add_documents(docs)
        self.written += 1
        return None
