"""A seeded simulated B2B marketplace: the ground truth for drift, fraud rings, stockouts and compliance.

>>> from ecomops.sim import SimConfig, Simulator
>>> sim = Simulator(SimConfig(seed=0))
>>> ev, truth = next(sim.stream(1))
>>> ev["event_id"], ev["type"] in ("view", "click"), truth
('s0-0', True, None)

See :mod:`ecomops.sim.simulator` for the stream and :mod:`ecomops.sim.export` for JSONL files.
"""

from .config import SimConfig
from .simulator import Simulator

__all__ = ["SimConfig", "Simulator"]
