"""The command line as a user meets it: help, JSON output, exports, the report, clear errors."""

import json
import subprocess
import sys

import orjson

CLI = [sys.executable, "-m", "ecomops.cli"]


def run(*args, check=True):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, check=check)


def test_help_explains_every_command():
    out = run("--help").stdout
    for cmd in ("run", "state", "report", "deadletters", "sim", "bench"):
        assert cmd in out
    assert "--source" in run("run", "--help").stdout
    assert "--out" in run("sim", "export", "--help").stdout


def test_sim_export_writes_events_truth_and_meta(tmp_path):
    out = tmp_path / "ev.jsonl"
    info = json.loads(run("sim", "export", "--events", "3000", "--seed", "4", "--out", str(out), "--json").stdout)
    assert info["events"] == 3000
    lines = out.read_bytes().splitlines()
    assert len(lines) == 3000
    assert {orjson.loads(line)["type"] for line in lines} >= {"view", "order"}
    assert (tmp_path / "ev.truth.jsonl").stat().st_size > 0
    meta = json.loads((tmp_path / "ev.meta.json").read_text())
    assert "drift_points" in meta


def test_run_json_then_state_and_report(tmp_path):
    st = tmp_path / "st"
    res = json.loads(run("run", "--source", "sim", "--events", "5000", "--state", str(st), "--json").stdout)
    assert res["records_read"] == 5000 and set(res["models"]) == {"propensity", "risk"}
    state = json.loads(run("state", str(st), "--json").stdout)
    assert isinstance(state["events_applied"], int) and state["events_applied"] == res["events_applied"]
    assert isinstance(state["dead_letters"], int)
    assert len(state["model_digest"]) == 64 and state["model_digest"] == res["model_digest"]
    html = (st / "report.html").read_text()
    assert "<img" in html and "data:image/png;base64," in html and "propensity" in html
    # the report can be rebuilt from the checkpoint alone
    (st / "report.html").unlink()
    rebuilt = json.loads(run("report", str(st), "--json").stdout)
    assert (st / "report.html").exists() and rebuilt["models"]["propensity"]["n"] == res["models"]["propensity"]["n"]
    # running again resumes: nothing left to do, same digest
    again = json.loads(run("run", "--source", "sim", "--events", "5000", "--state", str(st), "--json").stdout)
    assert again["records_this_run"] == 0 and again["model_digest"] == res["model_digest"]


def test_file_run_reports_dead_letters_with_reasons(tmp_path):
    f = tmp_path / "in.jsonl"
    good = {"type": "view", "event_id": "e1", "merchant_id": "m1", "ts": 1.7e9, "buyer_id": "b", "product_id": "p"}
    f.write_bytes(orjson.dumps(good) + b"\n" + b'{"type": "teleport", "event_id": "e2"}\n' + orjson.dumps(good) + b"\n")
    res = json.loads(run("run", "--source", f"file:{f}", "--state", str(tmp_path / "s"), "--json").stdout)
    assert res["events_applied"] == 1 and res["dead_letters"] == 2
    rows = [json.loads(x) for x in run("deadletters", str(tmp_path / "s"), "--json").stdout.splitlines()]
    assert sorted(r["code"] for r in rows) == ["duplicate", "unknown_type"]
    assert all(r["reason"] and r["raw"] for r in rows)
    only_m1 = run("deadletters", str(tmp_path / "s"), "--merchant", "m1", "--json").stdout.splitlines()
    assert [json.loads(x)["code"] for x in only_m1] == ["duplicate"]  # the unknown-type line names no merchant


def test_errors_are_one_line_and_say_what_to_do(tmp_path):
    r = run("run", "--source", f"file:{tmp_path / 'missing.jsonl'}", "--state", str(tmp_path / "s"), check=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "error:" in r.stderr
    r = run("state", str(tmp_path / "nothing-here"), check=False)
    assert r.returncode == 2 and "ecomops run" in r.stderr
