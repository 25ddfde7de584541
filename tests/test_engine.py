"""The engine end to end: crash safety (kill -9), dead letters, resume, tenancy of state."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from ecomops.core.config import EngineConfig
from ecomops.engine import Engine, model_digest
from ecomops.store import ALL_MERCHANTS, Store
from ecomops.stream import open_source

CLI = [sys.executable, "-m", "ecomops.cli"]


def _state(state_dir) -> dict:
    out = subprocess.run([*CLI, "state", str(state_dir), "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _run(state_dir, *args, check=True, env=None):
    cmd = [*CLI, "run", "--state", str(state_dir), "--json", "--no-report", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=check, env=env)


def _records_read(state_dir) -> int:
    try:
        ck = Store.open(state_dir).checkpoint("main")
    except Exception:
        return 0
    return ck.records_read if ck else 0


@pytest.mark.slow
def test_sigkill_mid_stream_then_resume_equals_uninterrupted(tmp_path):
    n = 250_000
    args = ["--source", "sim", "--events", str(n), "--seed", "3", "--checkpoint-seconds", "0.2"]
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    _run(clean, *args)

    proc = subprocess.Popen([*CLI, "run", "--state", str(crashed), "--json", "--no-report", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while _records_read(crashed) < 30_000:
        assert proc.poll() is None, "run ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.05)
    time.sleep(0.3)  # kill between checkpoints, not right at one
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    at_kill = _records_read(crashed)
    assert 0 < at_kill < n, "the kill must land mid-stream"

    _run(crashed, *args)  # restart: resumes from the checkpoint
    a, b = _state(clean), _state(crashed)
    assert b["records_read"] == n
    assert (b["events_applied"], b["dead_letters"], b["model_digest"]) == (
        a["events_applied"], a["dead_letters"], a["model_digest"])

    # SIGTERM (what a service manager sends) stops cleanly at a chunk boundary and resumes exactly
    stopped = tmp_path / "stopped"
    proc = subprocess.Popen([*CLI, "run", "--state", str(stopped), "--json", "--no-report", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    while _records_read(stopped) < 30_000:
        assert proc.poll() is None and time.time() < deadline + 300
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    first = json.loads(out)
    assert first["interrupted"] and first["records_read"] < n and first["records_read"] % 1024 == 0
    _run(stopped, *args)
    assert _state(stopped)["model_digest"] == a["model_digest"]


def _jsonl_with_bad_lines(path: Path, n: int = 6000) -> int:
    from ecomops.sim import SimConfig, Simulator

    bad = 0
    with open(path, "wb") as f:
        for i, (ev, _truth) in enumerate(Simulator(SimConfig(seed=5)).stream(n)):
            line = orjson.dumps(ev)
            if i % 500 == 7:
                line = line.replace(b'"ts"', b'"tz"')  # missing field
                bad += 1
            elif i % 500 == 9:
                line = b"\xff\xfe not utf-8"
                bad += 1
            elif i % 500 == 11:
                f.write(line + b"\n")  # the same event again: a duplicate
                bad += 1
            f.write(line + b"\n")
        f.write(b'{"type": "view", "event_id": "trunc')  # truncated last line, no newline
        bad += 1
    return bad


def test_crash_on_file_with_bad_input_loses_nothing_and_learns_nothing_twice(tmp_path):
    path = tmp_path / "events.jsonl"
    bad = _jsonl_with_bad_lines(path)
    src = f"file:{path}"
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    _run(clean, "--source", src, "--checkpoint-every", "1024")
    env = dict(os.environ, ECOMOPS_CRASH_AFTER_RECORDS="3500")  # SIGKILLs itself mid-chunk
    r = _run(crashed, "--source", src, "--checkpoint-every", "1024", check=False, env=env)
    assert r.returncode == -signal.SIGKILL
    assert 0 < _records_read(crashed) < 3500
    _run(crashed, "--source", src, "--checkpoint-every", "1024")
    a, b = _state(clean), _state(crashed)
    assert a == {**b, "updated_at": a["updated_at"]}
    assert a["dead_letters"] == bad
    store = Store.open(crashed)
    codes = store.scoped(ALL_MERCHANTS).count_dead_letters()
    assert sum(codes.values()) == bad  # none written twice by the replay
    assert {"missing_field", "encoding", "duplicate", "truncated"} <= set(codes)


def test_engine_learns_and_keeps_merchants_apart(tmp_path):
    store = Store.open(tmp_path)
    # 150k events = 4.5 simulated days: past the 72 h risk horizon, so legit orders get labels
    eng = Engine(store, open_source("sim", events=150_000, seed=1), EngineConfig(checkpoint_every=65536))
    s = eng.run()
    assert s.records_read == 150_000 and s.events_applied + s.dead_letters == 150_000
    risk = s.models["risk"]
    assert risk["n"] > 1000 and risk["cum_auc"] > 0.75
    assert s.models["propensity"]["n"] > 10_000 and s.models["propensity"]["cum_auc"] > 0.6
    merchants = store.merchants()
    assert len(merchants) >= 2
    m = merchants[0]
    mine = store.scoped(m).components()
    assert mine and all(k[0] == m for k in mine)
    assert model_digest(store, m) != model_digest(store, merchants[1])


def test_resume_with_other_source_is_refused(tmp_path):
    _run(tmp_path / "st", "--source", "sim", "--events", "2000")
    other = tmp_path / "x.jsonl"
    other.write_bytes(b"")
    r = _run(tmp_path / "st", "--source", f"file:{other}", check=False)
    assert r.returncode == 2
    assert "same --source" in r.stderr and "Traceback" not in r.stderr


_VALID = {"type": "view", "event_id": "e", "merchant_id": "m1", "ts": 1.7e9, "buyer_id": "b", "product_id": "p"}


def _mutations():
    from hypothesis import strategies as st

    junk = st.binary(max_size=200).filter(lambda b: b"\n" not in b and b"\r" not in b)
    def mutate(d):
        return st.sampled_from(list(d)).flatmap(
            lambda k: st.one_of(
                st.just({x: v for x, v in d.items() if x != k}),
                st.builds(lambda v: {**d, k: v}, st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=30),
                                                           st.lists(st.integers(), max_size=3))),
            )
        )
    return st.one_of(junk, mutate(_VALID).map(lambda d: json.dumps(d).encode()),
                     st.just(orjson.dumps(_VALID)))


def test_fuzzed_file_every_line_is_applied_or_dead_lettered(tmp_path_factory):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(_mutations(), min_size=1, max_size=40))
    def check(lines):
        d = tmp_path_factory.mktemp("fuzz")
        lines = [ln.replace(b"e\"", f"e{i}\"".encode(), 1) if i % 2 else ln for i, ln in enumerate(lines)]
        body = b"\n".join(lines) + b"\n"
        (d / "in.jsonl").write_bytes(body)
        store = Store.open(d / "st")
        s = Engine(store, open_source(f"file:{d / 'in.jsonl'}"), EngineConfig(chunk_size=8, checkpoint_every=8)).run()
        # a UTF-8 byte-order mark opening the file is an encoding marker, not data
        first = lines[0][3:] if lines[0].startswith(b"\xef\xbb\xbf") else lines[0]
        non_empty = sum(1 for ln in [first, *lines[1:]] if ln.strip())
        assert s.records_read == non_empty  # blank lines are skipped, every other line is a record
        assert s.events_applied + s.dead_letters == s.records_read
        rows = store.scoped(ALL_MERCHANTS).dead_letters(limit=1000)
        assert len(rows) == s.dead_letters and all(r.reason and r.code for r in rows)

    check()
