"""benchmarks/service.py in --quick mode with tiny numbers: a real server, nothing lost, well-formed JSON.

No timing assertions: the numbers depend on the machine; only the accounting must be exact.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]


def test_service_benchmark_quick_loses_nothing(tmp_path):
    out = tmp_path / "service.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "service.py"), "--quick", "--events", "1500", "--batch", "200",
           "--connections", "2", "--rate", "40", "--duration", "1.5", "--warmup-s", "0.2", "--idle-duration", "0.5",
           "--bg-rate", "300", "--bg-batch", "50", "--flush-interval", "0.2", "--out", str(out), "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=400, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    assert json.loads(proc.stdout) == res

    assert res["benchmark"] == "service" and "--quick" in res["command"]
    assert res["machine"]["cpu_cores"] >= 1 and res["note"]
    acc = res["accounting"]
    assert res["lost"] == 0 and acc["lost"] == 0 and acc["read_twice"] == 0
    assert acc["events_sent"] == acc["accepted_202"] == acc["engine_records_read"]
    assert acc["engine_events_applied"] + acc["engine_dead_letters"] == acc["events_sent"]
    assert acc["unexpected_dead_letters"] == 0
    assert res["errors_total"] == 0
    ing = res["ingest"]
    assert ing["events"] == 1500 and ing["accepted"] == 1500 and ing["errors"] == 0
    assert ing["accepted_events_per_s"] > 0 and ing["learned_events_per_s"] > 0
    for phase in (res["scoring"], res["scoring_engine_idle"]):
        assert phase["errors"] == 0 and phase["ok"] == phase["requests"] > 0
        lat = phase["latency_from_schedule"]
        assert 0 < lat["p50_ms"] <= lat["p99_ms"] <= lat["max_ms"]
    assert set(res["scoring"]["by_model"]) == {"propensity", "risk"}
    assert res["scoring"]["background_ingest"]["accepted"] == res["scoring"]["background_ingest"]["events"] > 0
    t = res["targets"]
    assert set(t) == {"scoring_p99_ms<=20_at_500_rps", "ingest_events_per_s>=5000", "zero_errors_zero_lost"}
    assert t["zero_errors_zero_lost"]["met"] is True
    assert t["scoring_p99_ms<=20_at_500_rps"]["met"] is None  # a smoke run judges no throughput target
