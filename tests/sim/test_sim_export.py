"""export() writes the stream, its truth and the summary, consistently with each other."""

from __future__ import annotations

import orjson

from ecomops.core.events import decode_event
from ecomops.sim import SimConfig, Simulator
from ecomops.sim.export import export, side_paths


def test_export_writes_three_consistent_files(tmp_path):
    out = tmp_path / "run" / "events.jsonl"
    n = 12_000
    info = export(n, 4, out, progress=False)
    events_path, truth_path, meta_path = side_paths(out)
    assert truth_path.name == "events.truth.jsonl" and meta_path.name == "events.meta.json"
    lines = events_path.read_bytes().splitlines()
    assert len(lines) == n == info["events"]
    expected = [(orjson.dumps(ev), tr and {"event_id": ev["event_id"], **tr})
                for ev, tr in Simulator(SimConfig(seed=4)).stream(n)]
    assert lines == [e for e, _ in expected]
    for line in lines[:2000]:
        decode_event(line)
    truths = [orjson.loads(x) for x in truth_path.read_bytes().splitlines()]
    assert truths == [t for _, t in expected if t is not None]
    assert len(truths) == info["truth_records"]
    ids = {orjson.loads(x)["event_id"] for x in lines}
    assert all(t["event_id"] in ids for t in truths)
    meta = orjson.loads(meta_path.read_bytes())
    assert meta["seed"] == 4 and meta["n_events"] == n
    assert meta["counts"]["events"] == n
    assert meta["counts"]["order"] == sum(1 for x in lines if b'"type":"order"' in x)
    assert meta["counts"]["fraud_orders"] == sum(1 for t in truths if t.get("fraud"))
    assert all(d["event_index"] < n for d in meta["drift_points"])
    full = Simulator(SimConfig(seed=4)).ground_truth()["drift_points"]
    assert meta["drift_points"] == [d for d in full if d["event_index"] < n]


def test_export_with_progress_bar(tmp_path, capsys):
    out = tmp_path / "e.jsonl"
    export(500, 1, out, progress=True)
    assert len(out.read_bytes().splitlines()) == 500
    assert side_paths(out)[2].exists()
