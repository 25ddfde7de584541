import pytest

from ecomops.core.errors import StateError
from ecomops.knowledge import Document, KnowledgeBase
from ecomops.store import ALL_MERCHANTS, KbDocument


def test_merchants_never_see_each_other(store, encoder):
    a = KnowledgeBase(store, "A", encoder=encoder)
    b = KnowledgeBase(store, "B", encoder=encoder)
    a.add_documents([Document("returns", "Returns", "Merchant A returns: 30 days, free label.")])
    b.add_documents([Document("shipping", "Shipping", "Merchant B ships in 2 days.")])
    assert all(h.doc_id != "returns" for h in b.search("returns free label 30 days", k=10))
    assert [h.doc_id for h in a.search("merchant returns ships days", k=10)] == ["returns"]
    # same doc_id in both: independent version histories
    b.add_documents([Document("returns", "Returns", "Merchant B returns: 7 days.")])
    assert a.search("returns")[0].text.startswith("Merchant A")
    assert b.search("returns")[0].text.startswith("Merchant B")
    assert [d.version for d in a.documents()] == [1]
    # the store scope is the only door, and it is tenant-filtered
    assert {d.doc_id for d in store.scoped("B").kb_documents(current_only=False)} == {"shipping", "returns"}
    assert all("Merchant A" not in c.text for c in store.scoped("B").kb_chunks(current_only=False))
    assert store.scoped("C").kb_documents() == [] and store.scoped("C").kb_chunks() == []
    admin = store.scoped(ALL_MERCHANTS)
    assert {(d.merchant_id, d.doc_id) for d in admin.kb_documents()} == {
        ("A", "returns"), ("B", "returns"), ("B", "shipping")}


def test_admin_scope_cannot_write(store):
    with pytest.raises(StateError):
        store.scoped(ALL_MERCHANTS).kb_put([KbDocument("x", "X", "text")])
    with pytest.raises(StateError):
        KnowledgeBase(store, ALL_MERCHANTS, encoder=None)
    with pytest.raises(StateError):
        KnowledgeBase(store, "", encoder=None)
    assert store.scoped(ALL_MERCHANTS).kb_documents() == []
