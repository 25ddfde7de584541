import pytest

from ecomops.core.errors import StateError
from ecomops.store import ALL_MERCHANTS, DeadLetterRow, Store


def _commit(store, n, comps, dls=()):
    store.commit_checkpoint(
        "main",
        "sim",
        offset=n - 1,
        records_read=n,
        events_applied=n - len(dls),
        dead_letter_total=len(dls),
        state=b"engine",
        components=comps,
        new_dead_letters=list(dls),
    )


def test_checkpoint_roundtrip_and_upsert(tmp_path):
    store = Store.open(tmp_path)
    assert store.checkpoint("main") is None
    _commit(store, 10, {("m1", "risk"): (b"a", "d1")})
    _commit(store, 20, {("m1", "risk"): (b"b", "d2"), ("m2", "risk"): (b"c", "d3")})
    ck = store.checkpoint("main")
    assert (ck.offset, ck.records_read, ck.state) == (19, 20, b"engine")
    comps = store.scoped(ALL_MERCHANTS).components()
    assert comps == {("m1", "risk"): (b"b", "d2"), ("m2", "risk"): (b"c", "d3")}
    # reopening sees the same committed state
    assert Store.open(tmp_path).checkpoint("main").records_read == 20


def test_scoped_reads_never_cross_merchants(tmp_path):
    store = Store.open(tmp_path)
    dls = [
        DeadLetterRow("m1", "sim", 1, "e1", "missing_field", "no ts", b"{1}"),
        DeadLetterRow("m2", "sim", 2, "e2", "duplicate", "dup", b"{2}"),
        DeadLetterRow("", "sim", 3, None, "malformed", "bad json", b"\xff"),
    ]
    _commit(store, 3, {("m1", "risk"): (b"x", "d1"), ("m2", "risk"): (b"y", "d2")}, dls)
    m1 = store.scoped("m1")
    assert [d.event_id for d in m1.dead_letters()] == ["e1"]
    assert m1.count_dead_letters() == {"missing_field": 1}
    assert set(m1.components()) == {("m1", "risk")}
    assert set(m1.digests()) == {("m1", "risk")}
    admin = store.scoped(ALL_MERCHANTS)
    assert len(admin.dead_letters()) == 3  # the unattributable one is admin-only
    assert admin.dead_letters(code="malformed")[0].raw == b"\xff"
    with pytest.raises(StateError):
        store.scoped("")


def test_failed_transaction_leaves_previous_checkpoint(tmp_path):
    store = Store.open(tmp_path)
    _commit(store, 5, {("m1", "risk"): (b"a", "d1")})
    with pytest.raises(Exception):
        # a None blob violates NOT NULL mid-transaction: nothing of this checkpoint may land
        _commit(store, 9, {("m1", "risk"): (b"b", "d2"), ("m2", "risk"): (None, "d3")})
    assert store.checkpoint("main").records_read == 5
    assert store.scoped(ALL_MERCHANTS).components() == {("m1", "risk"): (b"a", "d1")}


def test_bad_database_url_says_what_to_do(tmp_path):
    with pytest.raises(StateError, match="cannot open database"):
        Store.open(tmp_path, "nosuchdb://x")


def test_put_component_is_scoped_and_admin_cannot_write(tmp_path):
    store = Store.open(tmp_path)
    d = store.scoped("m1").put_component("service_intent", b"v1")
    store.scoped("m2").put_component("service_intent", b"other")
    store.scoped("m1").put_component("service_intent", b"v2")  # an update, not a second row
    assert store.scoped("m1").components("service_intent") == {("m1", "service_intent"): (b"v2", ANY_DIGEST)}
    assert store.scoped("m1").components("service_intent")[("m1", "service_intent")][1] != d
    assert set(store.scoped(ALL_MERCHANTS).components("service_intent")) == {("m1", "service_intent"),
                                                                            ("m2", "service_intent")}
    with pytest.raises(StateError, match="read-only"):
        store.scoped(ALL_MERCHANTS).put_component("service_intent", b"x")


class _Any:
    def __eq__(self, other):
        return isinstance(other, str) and len(other) == 16


ANY_DIGEST = _Any()
