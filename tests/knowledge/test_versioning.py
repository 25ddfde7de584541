import pytest

from ecomops.knowledge import Document, KnowledgeBase
from ecomops.store import KbDocument

V1 = "Return policy: you can return any item within a 7-day return window after delivery."
V2 = "Return policy: you can return any item within a 14-day return window after delivery."


@pytest.mark.parametrize("use_encoder", [False, True])
def test_changed_regulation_changes_next_answer(store, encoder, use_encoder):
    kb = KnowledgeBase(store, "m1", encoder=encoder if use_encoder else None)
    kb.add_documents([Document("returns", "Returns", V1, "regulation"),
                      Document("shipping", "Shipping", "Parcels ship within 2 days by courier.", "policy")])
    assert kb.search("how many days to return")[0].text == V1
    assert kb.add_documents([Document("returns", "Returns", V2, "regulation")]) == [("returns", 2)]
    hits = kb.search("how many days to return", k=10)
    assert hits[0].doc_id == "returns" and hits[0].version == 2 and "14-day" in hits[0].text
    assert all("7-day" not in h.text for h in hits)
    assert [h.doc_id for h in hits].count("returns") == 1
    # a query matching only the old wording still never cites v1
    assert all(h.version == 2 for h in kb.search("7-day", k=10) if h.doc_id == "returns")


def test_superseded_versions_never_returned(store, encoder):
    kb = KnowledgeBase(store, "m1", encoder=encoder)
    for v in range(1, 6):
        assert kb.add_documents([Document("faq", "Warranty", f"Warranty lasts {v} years marker{v}.")]) == [("faq", v)]
    for v in range(1, 6):
        hits = kb.search(f"warranty marker{v}", k=10)
        assert [(h.doc_id, h.version) for h in hits] == [("faq", 5)]
    scope = store.scoped("m1")
    assert [d.version for d in scope.kb_documents()] == [5]
    assert [d.version for d in scope.kb_documents(current_only=False)] == [1, 2, 3, 4, 5]
    assert [d.superseded for d in scope.kb_documents(current_only=False)] == [True] * 4 + [False]
    assert {c.version for c in scope.kb_chunks()} == {5}
    assert {c.version for c in scope.kb_chunks(current_only=False)} == {1, 2, 3, 4, 5}


def test_updates_searchable_at_once_across_instances(store, encoder):
    reader = KnowledgeBase(store, "m1", encoder=encoder)
    writer = KnowledgeBase(store, "m1", encoder=encoder)  # e.g. another request or process
    assert reader.search("gift wrapping") == []
    writer.add_documents([Document("gift", "Gift wrapping", "Gift wrapping costs 3 euros.")])
    assert [h.doc_id for h in reader.search("gift wrapping")] == ["gift"]
    writer.add_documents([Document("gift", "Gift wrapping", "Gift wrapping is free.")])
    assert reader.search("gift wrapping")[0].text == "Gift wrapping is free."


def test_event_path_and_file_readd_retires_missing_rows(store, encoder, write):
    kb = KnowledgeBase(store, "m1", encoder=encoder)
    assert kb.add_event({"doc_id": "promo", "title": "Promo", "text": "Spring sale: 20% off lamps.",
                         "kind": "answer"}) == [("promo", 1)]
    assert kb.search("spring sale lamps")[0].kind == "answer"
    p = write("faq.csv", "question,answer\nCan I pay by invoice?,Yes by invoice.\nDo you ship abroad?,Only within the EU.\n")
    kb.add_file(p)
    p.write_text('question,answer\nCan I pay by invoice?,"Yes, within 30 days."\n')
    assert kb.add_file(p) == [("faq:1", 2)]
    assert "faq:2" not in {d.doc_id for d in kb.documents()}  # no longer in the file: retired
    assert all(h.doc_id != "faq:2" for h in kb.search("ship abroad EU", k=10))
    assert "promo" in {d.doc_id for d in kb.documents()}  # other sources untouched


def test_failed_write_changes_nothing(store):
    scope = store.scoped("m1")
    assert scope.kb_put([KbDocument("a", "A", "first")]) == [("a", 1)]
    with pytest.raises(Exception):  # NOT NULL violation mid-transaction
        scope.kb_put([KbDocument("a", "A", "second"), KbDocument("b", "B", None)])
    docs = scope.kb_documents(current_only=False)
    assert [(d.doc_id, d.version, d.superseded) for d in docs] == [("a", 1, False)]
