"""Accepted means kept: kill -9 right after 202s, restart, every event is applied once. Forwarded
sources resume from their cursor. Keys made and revoked with the CLI while the server runs."""

from __future__ import annotations

import json
import sqlite3
import subprocess

from api_server import CLI, ENV, Server, create_key, sim_events, wait_until


def _engine(client) -> dict:
    return client.get("/v1/engine").json()


def test_kill_9_after_202_loses_nothing(tmp_path):
    state = tmp_path / "state"
    admin = create_key(state, "ops", "--admin")
    keys = {}
    events = sim_events(4000, seed=11)
    by_m: dict[str, list] = {}
    for e in events:
        by_m.setdefault(e["merchant_id"], []).append(e)
    for m in by_m:
        keys[m] = create_key(state, m)
    srv = Server(state, "--flush-interval", "30").start()  # the engine would checkpoint late: the kill wins
    sent = 0
    for m, evs in sorted(by_m.items()):
        with srv.client(keys[m]) as c:
            for i in range(0, len(evs), 250):
                r = c.post("/v1/events", json=evs[i:i + 250])
                assert r.status_code == 202 and r.json()["invalid"] == 0
                sent += len(evs[i:i + 250])
    assert srv.kill() == -9
    srv2 = Server(state).start()
    try:
        with srv2.client(admin) as c:
            eng = wait_until(lambda: (lambda e: e if e["records_read"] >= sent and e["inbox_backlog"] == 0 else None)(
                _engine(c)), what="the engine to catch up after the restart")
            assert eng["records_read"] == sent == len(events)
            assert eng["dead_letters"] == 0 and eng["events_applied"] == sent  # none lost, none twice
            assert set(eng["merchants"]) == set(by_m)
    finally:
        srv2.stop()
    st = subprocess.run([*CLI, "state", str(state), "--json"], env=ENV, capture_output=True, text=True, check=True)
    assert json.loads(st.stdout)["events_applied"] == sent  # SIGTERM checkpointed on the way out


def test_forwarded_simulator_resumes_from_its_cursor(tmp_path):
    state = tmp_path / "state"
    admin = create_key(state, "ops", "--admin")
    srv = Server(state, "--source", "sim?events=3000&seed=4").start()
    try:
        with srv.client(admin) as c:
            wait_until(lambda: _engine(c)["records_read"] == 3000 and _engine(c)["forwarders"][0]["done"],
                       what="the simulator to be forwarded")
    finally:
        srv.stop()
    srv = Server(state, "--source", "sim?events=3500&seed=4").start()  # a longer run of the same stream
    try:
        with srv.client(admin) as c:
            eng = wait_until(lambda: (lambda e: e if e["forwarders"][0]["done"] and e["inbox_backlog"] == 0
                                      and e["records_read"] >= 3500 else None)(_engine(c)), what="the rest")
            assert eng["records_read"] == 3500 and eng["dead_letters"] == 0  # nothing forwarded twice
            assert eng["forwarders"][0]["forwarded"] == 500
    finally:
        srv.stop()


def test_keys_cli_hashes_lists_and_revokes(tmp_path):
    state = tmp_path / "state"
    key = create_key(state, "m01", "--label", "warehouse app")
    listed = subprocess.run([*CLI, "keys", "list", "--state", str(state), "--json"], env=ENV, capture_output=True,
                            text=True, check=True).stdout
    row = json.loads(listed.splitlines()[0])
    assert row["merchant_id"] == "m01" and row["label"] == "warehouse app" and not row["revoked"]
    assert key not in listed and key.split("_")[-1] not in listed
    db = sqlite3.connect(state / "ecomops.db")
    dump = "\n".join(db.iterdump())
    db.close()
    assert key.split("_")[-1] not in dump  # only the hash is stored
    srv = Server(state).start()
    try:
        with srv.client(key) as c:
            assert c.get("/v1/me").json()["merchant_id"] == "m01"
            out = subprocess.run([*CLI, "keys", "revoke", row["key_id"], "--state", str(state), "--json"], env=ENV,
                                 capture_output=True, text=True, check=True)
            assert json.loads(out.stdout)["revoked"] is True
            wait_until(lambda: c.get("/v1/me").status_code == 401, 30, 0.2, "the revoked key to be refused")
    finally:
        srv.stop()
    again = subprocess.run([*CLI, "keys", "revoke", row["key_id"], "--state", str(state)], env=ENV,
                           capture_output=True, text=True)
    assert again.returncode == 1 and "no live key" in again.stderr
    bad = subprocess.run([*CLI, "keys", "create", "--merchant", "*", "--state", str(state)], env=ENV,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "one merchant" in bad.stderr


def test_second_server_on_the_same_state_is_refused(tmp_path):
    state = tmp_path / "state"
    srv = Server(state).start()
    try:
        other = subprocess.run([*CLI, "serve", "--state", str(state), "--port", "1"], env=ENV, capture_output=True,
                               text=True, timeout=120)
        assert other.returncode == 2 and "another `ecomops serve`" in other.stderr
    finally:
        srv.stop()
