"""Retrieval tuning (knowledge/tuning.py) with the bundled MiniLM: a LoRA adapter per merchant."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ecomops.cli import app
from ecomops.core.errors import ConfigError, StateError
from ecomops.knowledge import KnowledgeBase
from ecomops.knowledge.loaders import Document
from ecomops.knowledge.tuning import RETRIEVER_COMPONENT, tune_retriever

# The documents never name the product their questions are about: which answer goes with which
# product is the merchant's own knowledge, learnable only from its question/answer history.
PRODUCTS = ["power bank", "office chair", "printer paper", "cooking oil", "work gloves", "led bulb",
            "usb cable", "mineral water", "gel pen", "safety helmet", "desk lamp", "floor mop"]
TEMPLATES = ["what is the warranty on the {p}", "how long does the {p} take to ship", "can I return a {p}",
             "is there a bulk discount for the {p}", "who do I call about a broken {p}",
             "where does the {p} ship from", "does the {p} come with an invoice", "what is the moq for the {p}",
             "my {p} arrived damaged what now", "tell me the terms for buying a {p}"]
HELD_OUT = ["I need help with my {p} order", "question about the {p} please", "{p} terms?"]


def _docs():
    return [Document(f"terms-{i:02d}", "", f"Terms sheet T-{i:02d}: dispatch from dock {i + 3} within {i % 4 + 1} days, "
                     f"warranty {6 * (i % 3 + 1)} months, contact desk {100 + i}.", kind="policy")
            for i in range(len(PRODUCTS))]


def _pairs(templates):
    return [(t.format(p=p), f"terms-{i:02d}") for i, p in enumerate(PRODUCTS) for t in templates]


def _recall(kb, pairs, k=3):
    return sum(d in [h.doc_id for h in kb.search(q, k=k)] for q, d in pairs) / len(pairs)


@pytest.fixture(scope="module")
def minilm():
    from ecomops.learn.transfer.encoder import TextEncoder

    return TextEncoder("default", cache_dir=False, max_length=64)


def test_tuning_learns_the_merchants_question_to_document_map(store, minilm):
    kb = KnowledgeBase(store, "m1", encoder=minilm)
    kb.add_documents(_docs())
    other = KnowledgeBase(store, "m2", encoder=minilm)
    other.add_documents(_docs())
    unseen = _pairs(HELD_OUT)
    before = _recall(kb, unseen)

    report = tune_retriever(kb, _pairs(TEMPLATES), epochs=4, batch_size=12, lr=2e-3)
    assert report["kept"] and report["version"] == 1 and report["held_out"] == 12
    assert report["held_out_recall_at_5_after"] >= report["held_out_recall_at_5_before"]
    assert report["loss_last_epoch"] < report["loss_first_epoch"]
    assert report["chunks_reencoded"] == len(PRODUCTS)

    # a fresh object (another process) finds the adapter in the store and uses it
    fresh = KnowledgeBase(store, "m1", encoder=minilm)
    assert "+kb-" in fresh.encoder.fingerprint and fresh.base_encoder is minilm
    after = _recall(fresh, unseen)
    assert after > before + 0.3, (before, after)
    # the stored vectors are the tuned encoder's: a search does not re-encode the knowledge base
    assert {c.encoder for c in store.scoped("m1").kb_chunks()} == {fresh.encoder.fingerprint}

    # the other merchant's retriever is untouched, and so are its vectors
    assert KnowledgeBase(store, "m2", encoder=minilm).encoder is minilm
    assert RETRIEVER_COMPONENT not in {c for _, c in store.scoped("m2").components()}
    assert {c.encoder for c in store.scoped("m2").kb_chunks()} == {minilm.fingerprint}
    # opting out gives the base encoder back
    assert KnowledgeBase(store, "m1", encoder=minilm, tuned=False).encoder is minilm

    # documents added after tuning are encoded by the tuned retriever
    fresh.add_documents([Document("terms-new", "", "Terms sheet T-99: dispatch from dock 99.")])
    fps = {c.doc_id: c.encoder for c in store.scoped("m1").kb_chunks()}
    assert fps["terms-new"] == fresh.encoder.fingerprint

    # a second tuning makes version 2
    again = tune_retriever(fresh, _pairs(TEMPLATES), epochs=1, batch_size=12, lr=1e-4)
    assert again["version"] == (2 if again["kept"] else 1)


def test_tuning_refuses_what_it_cannot_do(store, minilm, encoder):
    bm25 = KnowledgeBase(store, "m1", encoder=None)
    bm25.add_documents(_docs())
    with pytest.raises(ConfigError, match="transformer encoder"):
        tune_retriever(bm25, _pairs(TEMPLATES))
    hashed = KnowledgeBase(store, "m1", encoder=encoder)  # the test hash encoder has no model to tune
    with pytest.raises(ConfigError):
        tune_retriever(hashed, _pairs(TEMPLATES))
    kb = KnowledgeBase(store, "m1", encoder=minilm)
    with pytest.raises(StateError, match="not in merchant m1"):
        tune_retriever(kb, [("where is my order", "nope")] * 10)
    with pytest.raises(StateError, match="at least 8"):
        tune_retriever(kb, _pairs(TEMPLATES)[:3])
    with pytest.raises(ConfigError, match="group labels"):
        tune_retriever(kb, _pairs(TEMPLATES), groups=["a"])


def test_default_pairs_are_titled_documents(store, minilm):
    kb = KnowledgeBase(store, "m3", encoder=minilm)
    kb.add_documents([Document(f"faq-{i}", q, f"Answer {i}: see desk {i}.", kind="faq")
                      for i, (q, _) in enumerate(_pairs(TEMPLATES[:1]))])
    report = tune_retriever(kb, epochs=1, batch_size=4)
    assert report["pairs"] == len(PRODUCTS) and report["held_out"] == 0 and report["kept"]


def test_cli_kb_tune(tmp_path):
    def run_cli(args):
        return CliRunner().invoke(app, args)

    docs = tmp_path / "terms.jsonl"
    docs.write_text("\n".join(json.dumps({"id": d.doc_id, "text": d.text}) for d in _docs()) + "\n")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("question,doc_id\n" + "\n".join(f"{q},terms:{d}" for q, d in _pairs(TEMPLATES[:4])) + "\n")
    state = str(tmp_path / "s")
    r = run_cli(["kb", "add", str(docs), "--merchant", "m1", "--state", state, "--json"])
    assert r.exit_code == 0, r.output
    r = run_cli(["kb", "tune", "--merchant", "m1", "--state", state, "--pairs", str(pairs), "--epochs", "1", "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["merchant"] == "m1" and report["trained_on"] == 48 and report["kept"] in (True, False)
    bad = tmp_path / "bad.csv"
    bad.write_text("question,doc\nhello,x\n")
    r = run_cli(["kb", "tune", "--merchant", "m1", "--state", state, "--pairs", str(bad)])
    assert r.exit_code == 2 and "doc_id" in r.output
    r = run_cli(["kb", "tune", "--merchant", "m1", "--state", state, "--encoder", "none"])
    assert r.exit_code == 2 and "dense encoder" in r.output
