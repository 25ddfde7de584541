"""The stream contract: deterministic, prefix-stable, schema-valid, unique ids, ordered time, flat memory."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tracemalloc

import orjson

from ecomops.core.events import decode_event, event_from_dict
from ecomops.sim import SimConfig, Simulator
from ecomops.sim.clock import Clock


def _bytes(seed: int, n: int, **kw) -> list[bytes]:
    return [orjson.dumps([ev, tr]) for ev, tr in Simulator(SimConfig(seed=seed, **kw)).stream(n)]


def test_same_seed_same_bytes_and_other_seed_differs():
    a, b = _bytes(7, 4000), _bytes(7, 4000)
    assert a == b
    assert _bytes(8, 4000) != a


def test_prefix_property_across_day_boundary():
    # day 0 of the default clock holds ~36k events: the longer stream crosses into day 1
    short = _bytes(3, 20_000)
    long = _bytes(3, 40_000)
    assert len(short) == 20_000 and len(long) == 40_000
    assert long[:20_000] == short


_DIGEST = """
import hashlib, orjson
from ecomops.sim import SimConfig, Simulator
h = hashlib.sha256()
for ev, tr in Simulator(SimConfig(seed=9)).stream(8000):
    h.update(orjson.dumps([ev, tr]))
print(h.hexdigest())
"""


def test_stream_does_not_depend_on_hash_randomisation():
    here = hashlib.sha256()
    for ev, tr in Simulator(SimConfig(seed=9)).stream(8000):
        here.update(orjson.dumps([ev, tr]))
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", _DIGEST], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == here.hexdigest()


def test_restarting_a_stream_on_the_same_simulator_starts_afresh():
    sim = Simulator(SimConfig(seed=2))
    first = [orjson.dumps(ev) for ev, _ in sim.stream(1500)]
    again = [orjson.dumps(ev) for ev, _ in sim.stream(1500)]
    assert first == again
    assert list(sim.stream(0)) == []


def test_every_event_validates_ids_unique_time_ordered():
    seen: set[str] = set()
    last = 0.0
    types = set()
    for ev, truth in Simulator(SimConfig(seed=11)).stream(60_000):
        typed = event_from_dict(ev)
        assert decode_event(orjson.dumps(ev)) == typed
        assert typed.type == ev["type"]
        assert ev["event_id"] not in seen
        seen.add(ev["event_id"])
        assert ev["ts"] >= last
        last = ev["ts"]
        assert truth is None or isinstance(truth, dict)
        types.add(ev["type"])
    assert types == {"view", "click", "add_to_cart", "order", "payment", "refund", "cancel", "inventory",
                     "listing", "review", "ticket", "feedback"}


def test_clock_gives_drift_points_fixed_indices():
    sim = Simulator(SimConfig(seed=0))
    before = sim.ground_truth()["drift_points"]
    assert before and all(d["event_index"] > 0 for d in before)
    clock = Clock(0, SimConfig().events_per_day, SimConfig().start_ts)
    for d in before[:6]:
        i = d["event_index"]
        assert clock.time_at(i) >= d["ts"] > clock.time_at(i - 1)
    # the default rate: 1M events ~ 30 days, 10M ~ 300 days
    assert abs(clock.events_in_days(30) - 1_000_000) < 10_000
    assert abs(clock.events_in_days(300) - 10_000_000) < 100_000
    list(sim.stream(5000))
    assert sim.ground_truth()["drift_points"] == before  # known up front, unchanged by streaming
    assert sim.ground_truth(upto=5000)["drift_points"] == []


def _peak(n: int) -> int:
    tracemalloc.start()
    try:
        # a slower clock (5k events a day) reaches the steady state of the pending heap (a week of
        # delayed reviews, refunds and restocks) within the first 35k events
        for _ in Simulator(SimConfig(seed=4, events_per_day=5000, n_buyers=450)).stream(n):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_is_bounded_by_the_world_not_the_stream():
    small, big = _peak(15_000), _peak(60_000)
    assert big < 1.3 * small, (small, big)
