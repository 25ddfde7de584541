"""`document` events in the engine: into their merchant's knowledge base at once, each event once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from ecomops.core.config import EngineConfig
from ecomops.core.errors import ValidationError
from ecomops.core.events import DocumentUpdate
from ecomops.engine import Engine, model_digest
from ecomops.engine_docs import KB_CODE, DocumentWriter, documents_of
from ecomops.knowledge import KnowledgeBase
from ecomops.store import ALL_MERCHANTS, Store
from ecomops.stream import open_source
from ecomops.stream.base import Record
from ecomops.stream.intake import parse

CLI = [sys.executable, "-m", "ecomops.cli"]


def _doc(event_id: str, merchant: str, **fields) -> dict:
    return {"type": "document", "event_id": event_id, "merchant_id": merchant, "ts": 1_704_100_000.0, **fields}


RETURNS_A = "Returns are accepted within 7 days of delivery."
RETURNS_B = "Returns are accepted within 14 days of delivery, unopened cartons only."
M01_ONLY = "Invoices for m01 buyers are issued as VAT special invoices within 3 working days."
M02_ONLY = "Pallet deliveries to m02 warehouses need a dock appointment booked a day ahead."

# (position in the stream, payload, dead-letter code or None)
DOC_EVENTS = [
    (1100, _doc("doc-1", "m01", doc_id="returns", text=RETURNS_A, title="Return policy", kind="policy"), None),
    (1200, _doc("doc-6", "m99", doc_id="about", text="m99 publishes documents and sells nothing yet."), None),
    (1300, _doc("doc-2", "m02", doc_id="delivery", text=M02_ONLY, title="Delivery"), None),
    (1500, _doc("doc-3", "m01", documents=[
        {"doc_id": "invoice", "text": M01_ONLY, "title": "Invoices"},
        {"doc_id": "faq:moq", "text": "The minimum order is one carton.", "kind": "faq"}], kind="policy"), None),
    (1700, _doc("doc-4", "m01", doc_id="returns", text=RETURNS_B, title="Return policy", kind="policy"), None),
    (1800, _doc("bad-1", "m01", doc_id="empty", text="   "), KB_CODE),
    (1850, _doc("bad-2", "m01", doc_id="x", text="y", documents=[{"doc_id": "z", "text": "w"}]), KB_CODE),
    (1900, _doc("bad-3", "m01", title="nothing to add"), KB_CODE),
    (1950, _doc("bad-4", "m01", documents=[{"doc_id": "a", "text": "1"}, {"doc_id": "a", "text": "2"}]), KB_CODE),
    (2000, _doc("bad-5", "m01", doc_id="x", text=42), "wrong_type"),
    (2050, _doc("bad-6", "m01", documents=[{"doc_id": "x"}]), "missing_field"),
    (2100, _doc("bad-7", "m01", doc_id="x", text="y", kind="k" * 40), "oversized"),
    # after the crash point of the crash tests
    (2700, _doc("doc-5", "m02", doc_id="delivery", text=M02_ONLY + " Saturdays too.", title="Delivery"), None),
]
N_SIM = 3000


def _stream_file(path: Path) -> Path:
    from ecomops.sim import SimConfig, Simulator

    at = {pos: payload for pos, payload, _ in DOC_EVENTS}
    with open(path, "wb") as f:
        for i, (ev, _truth) in enumerate(Simulator(SimConfig(seed=4)).stream(N_SIM)):
            if i in at:
                f.write(orjson.dumps(at[i]) + b"\n")
            f.write(orjson.dumps(ev) + b"\n")
    return path


def _versions(store: Store, merchant: str = ALL_MERCHANTS) -> list[tuple]:
    return [(d.merchant_id, d.doc_id, d.version, d.text, d.kind, d.source, d.superseded)
            for d in store.scoped(merchant).kb_documents(current_only=False)]


def test_document_events_reach_only_their_merchants_kb(tmp_path, encoder):
    path = _stream_file(tmp_path / "events.jsonl")
    store = Store.open(tmp_path / "state")
    eng = Engine(store, open_source(f"file:{path}"), EngineConfig(kb_encoder=encoder))
    s = eng.run()

    n_bad = sum(code is not None for _, _, code in DOC_EVENTS)
    assert s.records_read == N_SIM + len(DOC_EVENTS)
    assert s.dead_letters == n_bad and s.events_applied == s.records_read - n_bad
    want = {}
    for _, _, code in DOC_EVENTS:
        if code is not None:
            want[code] = want.get(code, 0) + 1
    assert s.dead_letter_codes == want
    reasons = {d.event_id: d.reason for d in store.scoped("m01").dead_letters(code=KB_CODE)}
    assert "non-empty" in reasons["bad-1"] and "not both" in reasons["bad-2"]
    assert "appears twice" in reasons["bad-4"]

    m01, m02 = _versions(store, "m01"), _versions(store, "m02")
    assert [(d, v, t, k, src, sup) for _, d, v, t, k, src, sup in m01] == [
        ("faq:moq", 1, "The minimum order is one carton.", "faq", "event#doc-3", False),
        ("invoice", 1, M01_ONLY, "policy", "event#doc-3", False),
        ("returns", 1, RETURNS_A, "policy", "event#doc-1", True),
        ("returns", 2, RETURNS_B, "policy", "event#doc-4", False),
    ]
    assert [(d, v, sup) for _, d, v, _, _, _, sup in m02] == [("delivery", 1, True), ("delivery", 2, False)]
    # dense vectors were made with the configured encoder, as `ecomops kb add` would
    assert {c.encoder for c in store.scoped("m01").kb_chunks()} == {encoder.fingerprint}

    kb1, kb2 = KnowledgeBase(store, "m01", encoder), KnowledgeBase(store, "m02", encoder)
    top = kb1.search("how many days to return goods", k=1)[0]
    assert (top.doc_id, top.version, top.text) == ("returns", 2, RETURNS_B)
    assert {h.doc_id for h in kb1.search("dock appointment pallet warehouse", k=10)} <= {"returns", "invoice", "faq:moq"}
    assert {h.doc_id for h in kb2.search("VAT special invoices", k=10)} == {"delivery"}
    assert [d.doc_id for d in store.scoped("m99").kb_documents()] == ["about"]
    assert "m99" not in eng.merchants  # documents alone give a merchant no models


def test_replay_after_a_crash_writes_no_second_version(tmp_path, encoder, monkeypatch):
    path = _stream_file(tmp_path / "events.jsonl")
    cfg = dict(chunk_size=256, checkpoint_every=1024, kb_encoder=encoder)

    clean = Store.open(tmp_path / "clean")
    Engine(clean, open_source(f"file:{path}"), EngineConfig(**cfg)).run()

    crashed = Store.open(tmp_path / "crashed")
    real_checkpoint = Engine.checkpoint

    def crash_at_second(self):
        if self.records_read > 1024:
            raise KeyboardInterrupt("simulated crash before the checkpoint")
        real_checkpoint(self)

    monkeypatch.setattr(Engine, "checkpoint", crash_at_second)
    with pytest.raises(KeyboardInterrupt):
        Engine(crashed, open_source(f"file:{path}"), EngineConfig(**cfg)).run()
    monkeypatch.setattr(Engine, "checkpoint", real_checkpoint)
    assert crashed.checkpoint("main").records_read == 1024
    # written at once: searchable although no checkpoint covers them yet
    before = _versions(crashed, "m01")
    assert ("m01", "returns", 2, RETURNS_B, "policy", "event#doc-4", False) in before
    top = KnowledgeBase(crashed, "m01", encoder).search("days to return", k=1)[0]
    assert (top.doc_id, top.version) == ("returns", 2)

    eng = Engine(crashed, open_source(f"file:{path}"), EngineConfig(**cfg))
    s = eng.run()  # replays from record 1024: doc-1 .. doc-4 again
    assert eng.documents.replayed == 5 and eng.documents.written == 1  # doc-5 was after the crash

    assert _versions(crashed) == _versions(clean)
    a, b = clean.checkpoint("main"), crashed.checkpoint("main")
    assert (b.records_read, b.events_applied, b.dead_letters) == (a.records_read, a.events_applied, a.dead_letters)
    assert s.dead_letter_codes == clean.scoped(ALL_MERCHANTS).count_dead_letters()
    assert model_digest(crashed) == model_digest(clean)


def test_sigkill_mid_chunk_then_resume_keeps_one_version_per_event(tmp_path):
    path = _stream_file(tmp_path / "events.jsonl")
    args = ["--source", f"file:{path}", "--checkpoint-every", "1024", "--kb-encoder", "none", "--json", "--no-report"]
    env = dict(os.environ, ECOMOPS_CRASH_AFTER_RECORDS="2000")  # SIGKILLs itself after doc-1 .. doc-4, doc-6
    r = subprocess.run([*CLI, "run", "--state", str(tmp_path / "crashed"), *args],
                       capture_output=True, text=True, env=env)
    assert r.returncode == -signal.SIGKILL
    crashed = Store.open(tmp_path / "crashed")
    assert crashed.checkpoint("main").records_read < 1100  # no checkpoint covers the documents
    assert len(_versions(crashed)) == 6  # yet they are in
    crashed.close()
    subprocess.run([*CLI, "run", "--state", str(tmp_path / "crashed"), *args], check=True, capture_output=True)
    subprocess.run([*CLI, "run", "--state", str(tmp_path / "clean"), *args], check=True, capture_output=True)
    rows = {name: [v[:6] for v in _versions(Store.open(tmp_path / name))] for name in ("clean", "crashed")}
    assert rows["crashed"] == rows["clean"] and len(rows["clean"]) == 7
    out = subprocess.run([*CLI, "kb", "search", "days to return", "--merchant", "m01", "--k", "1",
                          "--state", str(tmp_path / "crashed"), "--encoder", "none", "--json"],
                         capture_output=True, text=True, check=True)
    hit = json.loads(out.stdout)[0]
    assert (hit["doc_id"], hit["version"], hit["text"]) == ("returns", 2, RETURNS_B)


def test_no_document_event_no_encoder_load(tmp_path):
    # a model directory that does not exist: loading it would fail, so the run proves it never tried
    eng = Engine(Store.open(tmp_path), open_source("sim", events=3000, seed=1),
                 EngineConfig(kb_encoder=str(tmp_path / "no-such-model")))
    assert eng.run().records_read == 3000
    assert not eng.documents.encoder_loaded


def test_documents_of_checks_and_tags():
    ev = parse(Record(0, orjson.dumps({"type": "document", "event_id": "e9", "merchant_id": "m1", "ts": 1.0,
                                       "kind": "faq", "source": "portal", "documents": [
                                           {"doc_id": " q1 ", "text": " Yes. ", "title": "Do you ship?"},
                                           {"doc_id": "q2", "text": "No.", "kind": "policy"}]})))
    assert isinstance(ev, DocumentUpdate)
    docs = documents_of(ev)
    assert [(d.doc_id, d.title, d.text, d.kind, d.source) for d in docs] == [
        ("q1", "Do you ship?", "Yes.", "faq", "portal#e9"), ("q2", "q2", "No.", "policy", "portal#e9")]
    with pytest.raises(ValidationError) as exc:
        documents_of(DocumentUpdate(event_id="e1", merchant_id="m1", ts=1.0, text="orphan text"))
    assert exc.value.code == KB_CODE and "doc_id" in exc.value.reason


def test_writer_keeps_tenants_apart(store, encoder):
    w = DocumentWriter(store, encoder)
    same = dict(event_id="e1", ts=1.0, doc_id="terms", text="Payment terms: 30 days net.")
    # the same event id and doc_id for two merchants: two separate documents, neither a replay
    assert w.apply(DocumentUpdate(merchant_id="a", **same)) is None
    assert w.apply(DocumentUpdate(merchant_id="b", **{**same, "text": "Payment terms: prepayment."})) is None
    assert (w.written, w.replayed) == (2, 0)
    assert [d.text for d in store.scoped("a").kb_documents()] == ["Payment terms: 30 days net."]
    assert [d.text for d in store.scoped("b").kb_documents()] == ["Payment terms: prepayment."]
    assert w.apply(DocumentUpdate(merchant_id="a", **same)) is None  # a replay of a's event
    assert (w.written, w.replayed) == (2, 1) and len(store.scoped("a").kb_documents(current_only=False)) == 1


def test_module_examples_hold():
    import doctest

    import ecomops.engine_dedup
    import ecomops.engine_docs

    for mod in (ecomops.engine_docs, ecomops.engine_dedup):
        res = doctest.testmod(mod)
        assert res.attempted > 0 and res.failed == 0, mod.__name__
