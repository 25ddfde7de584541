"""open_source spec parsing, the simulator source, and the Source protocol."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass

import orjson
import pytest

from ecomops.core.errors import SourceError
from ecomops.stream import FileSource, ListSource, Source, open_source, parse
from stream_events import view


@pytest.fixture
def fake_sim(monkeypatch):
    """A stand-in ecomops.sim with the agreed API, so the source logic is tested on its own."""

    @dataclass
    class SimConfig:
        seed: int = 0
        merchants: int = 2

    class Simulator:
        runs = 0

        def __init__(self, cfg):
            self.cfg = cfg

        def stream(self, n):
            Simulator.runs += 1
            for i in range(n):
                yield view(i, merchant=f"m{(i + self.cfg.seed) % self.cfg.merchants}"), {"i": i}

    mod = types.ModuleType("ecomops.sim")
    mod.SimConfig, mod.Simulator = SimConfig, Simulator
    monkeypatch.setitem(sys.modules, "ecomops.sim", mod)
    return mod


def test_sim_source_offsets_are_indexes_and_resume_exactly(fake_sim):
    src = open_source("sim", events=20, seed=3)
    recs = list(src.read())
    assert [r.offset for r in recs] == list(range(20)) and src.name == "sim:seed=3"
    assert recs[0].payload["merchant_id"] == "m1" and parse(recs[5]).event_id == "e5"
    for k in (0, 7, 18, 19):
        assert list(src.read(after=k)) == recs[k + 1:]
    assert list(src.read(after=-1)) == recs
    longer = open_source("sim?events=30&seed=3")  # a longer run may resume a shorter one
    assert longer.name == src.name and [r.offset for r in longer.read(after=19)] == list(range(20, 30))
    assert open_source("sim:seed=3,merchants=5", events=3).name == "sim:seed=3,merchants=5"
    with pytest.raises(SourceError, match="unknown simulator option"):
        open_source("sim", colour="red")
    with pytest.raises(SourceError, match="not a simulator position"):
        list(src.read(after=[1, 0, 0]))


def test_real_simulator_is_deterministic_and_resumable():
    src = open_source("sim", events=300, seed=11)
    a = list(src.read())
    assert a == list(open_source("sim", events=300, seed=11).read())
    assert list(src.read(after=149)) == a[150:]
    assert [r.payload for r in open_source("sim", events=100, seed=11).read()] == [r.payload for r in a[:100]]


def test_query_options_and_keyword_options(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("type,event_id,merchant_id,ts,buyer_id,product_id\nview,v1,m1,1,b1,p1\n")
    src = open_source(f"file:{path}?format=csv")
    assert isinstance(src, FileSource) and src.format == "csv"
    weird = tmp_path / "what?.jsonl"  # a '?' that belongs to the path
    weird.write_bytes(orjson.dumps(view(1)) + b"\n")
    assert [parse(r).event_id for r in open_source(f"file:{weird}").read()] == ["e1"]
    with pytest.raises(SourceError, match="must be a whole number"):
        open_source("sim?events=many")


@pytest.mark.parametrize("spec, message", [
    ("", "no source given"),
    ("events.jsonl", "did you mean file:events.jsonl"),
    ("kafka://broker:9092/topic", "Kafka is not supported yet"),
    ("ftp://x/y", "unknown source"),
    ("file:", "needs a path"),
    ("rediss://localhost:6379/s", "TLS"),
])
def test_unknown_specs_say_what_to_use(spec, message):
    with pytest.raises(SourceError, match=message):
        open_source(spec)


def test_sources_satisfy_the_protocol(tmp_path):
    (tmp_path / "e.jsonl").write_bytes(b"")
    for src in (ListSource("l", []), open_source(f"file:{tmp_path / 'e.jsonl'}")):
        assert isinstance(src, Source)
        src.commit([1, 0, 0] if isinstance(src, FileSource) else 0)
        src.close()
