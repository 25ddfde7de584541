import subprocess
import sys

import pytest

from ecomops.learn.online.sketch import DecayedCounters, LastSeen, stable_index


def test_decay_halves_per_half_life():
    c = DecayedCounters(n_bits=10, half_life=100.0)
    c.add("k", ts=0.0, amount=8.0)
    assert c.get("k", 100.0) == pytest.approx(4.0)
    assert c.get("k", 300.0) == pytest.approx(1.0)
    assert c.add("k", 300.0) == pytest.approx(2.0)


def test_plain_counter_and_roundtrip():
    c = DecayedCounters(n_bits=10, half_life=0.0)
    for _ in range(3):
        c.add("a", ts=1e9)
    s = c.state_dict()
    d = DecayedCounters(n_bits=10, half_life=0.0)
    d.load_state_dict(s)
    assert d.get("a", 2e9) == 3.0 and d.get("b", 0) == 0.0


def test_last_seen():
    ls = LastSeen(10)
    assert ls.set("x", 5.0) is None
    assert ls.set("x", 7.0) == 5.0 and ls.get("x") == 7.0


def test_index_is_stable_across_processes():
    code = "from ecomops.learn.online.sketch import stable_index; print(stable_index('buyer=b1', 65535))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert int(other) == stable_index("buyer=b1", 65535)
