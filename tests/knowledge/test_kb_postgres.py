"""The same versioning and isolation guarantees on PostgreSQL (a throwaway server from tests/conftest.py)."""

import uuid

from ecomops.knowledge import Document, KnowledgeBase
from ecomops.store import Store


def test_versioning_and_isolation_on_postgres(postgres_url, tmp_path, encoder):
    store = Store.open(tmp_path, postgres_url)
    m = f"pg-{uuid.uuid4().hex[:8]}"
    try:
        kb = KnowledgeBase(store, m, encoder=encoder)
        kb.add_documents([Document("returns", "Returns", "A 7-day return window applies.")])
        kb.add_documents([Document("returns", "Returns", "A 14-day return window applies.")])
        hits = kb.search("how many days to return", k=5)
        assert [(h.doc_id, h.version) for h in hits] == [("returns", 2)] and "14-day" in hits[0].text
        assert KnowledgeBase(store, m + "-other", encoder=encoder).search("return window") == []
        assert [d.version for d in store.scoped(m).kb_documents(current_only=False)] == [1, 2]
    finally:
        store.close()
