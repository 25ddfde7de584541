"""One pass over the default 1M-event stream (~30 simulated days), shared by the sim tests."""

from __future__ import annotations

import pytest
from sim_stats import N_1M, StreamStats, collect

from ecomops.sim import SimConfig, Simulator


@pytest.fixture(scope="session")
def stats_1m() -> StreamStats:
    return collect(Simulator(SimConfig(seed=0)), N_1M)
