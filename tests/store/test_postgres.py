"""The same store on a real PostgreSQL server (by URL), and the same engine results as SQLite."""

import uuid

from sqlalchemy import text

from ecomops.core.config import EngineConfig
from ecomops.engine import Engine, model_digest
from ecomops.store import ALL_MERCHANTS, DeadLetterRow, Store
from ecomops.stream import open_source


def _fresh(url):
    # one schema per test keeps tests independent on one server
    schema = "t" + uuid.uuid4().hex[:10]
    store = Store.open("/nonexistent-unused", url)
    with store.engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    store.close()
    return Store.open("/nonexistent-unused", url + f"?options=-csearch_path%3D{schema}")


def test_checkpoint_and_scoping_on_postgres(postgres_url):
    store = _fresh(postgres_url)
    store.commit_checkpoint(
        "main", "sim", offset={"pos": 3}, records_read=4, events_applied=3, dead_letter_total=1, state=b"s",
        components={("m1", "risk"): (b"a", "d1"), ("m2", "risk"): (b"b", "d2")},
        new_dead_letters=[DeadLetterRow("m2", "sim", 2, "e2", "duplicate", "dup", b"{}")],
    )
    store.commit_checkpoint(
        "main", "sim", offset={"pos": 5}, records_read=6, events_applied=5, dead_letter_total=1, state=b"t",
        components={("m1", "risk"): (b"c", "d3")}, new_dead_letters=[],
    )
    ck = store.checkpoint("main")
    assert ck.offset == {"pos": 5} and ck.state == b"t"
    assert store.scoped("m1").components() == {("m1", "risk"): (b"c", "d3")}
    assert store.scoped("m1").dead_letters() == []
    assert len(store.scoped(ALL_MERCHANTS).dead_letters()) == 1


def test_engine_on_postgres_matches_sqlite(postgres_url, tmp_path):
    cfg = EngineConfig(checkpoint_every=4096)
    pg = _fresh(postgres_url)
    Engine(pg, open_source("sim", events=12_000, seed=2), cfg).run()
    lite = Store.open(tmp_path)
    Engine(lite, open_source("sim", events=12_000, seed=2), EngineConfig(checkpoint_every=4096)).run()
    assert pg.checkpoint("main").events_applied == lite.checkpoint("main").events_applied
    assert model_digest(pg) == model_digest(lite)
