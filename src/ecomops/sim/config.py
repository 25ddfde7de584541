"""Sizes and rates of the simulated marketplace, all with working defaults.

The defaults give ~33k events per simulated day, so 1M events cover ~30 days and 10M ~300 days:
long enough for the promotions, seasons, category launches and fraud-ring changes in
:mod:`ecomops.sim.schedule` to show up in the data.

>>> from ecomops.sim.config import SimConfig
>>> cfg = SimConfig(seed=3)
>>> cfg.n_merchants, round(1_000_000 / cfg.events_per_day, 1)
(12, 30.0)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class SimConfig:
    seed: int = 0
    # World sizes: memory is proportional to these, never to the number of events.
    n_merchants: int = 12
    products_per_category: int = 40  # per merchant and category it sells
    n_buyers: int = 3000  # buyer companies (1-5 accounts each); scale with events_per_day (~1 per 11)
    # Clock: a fixed number of events per (weekday-weighted) day, so every simulated moment
    # has a fixed event index whatever the stream length.
    events_per_day: int = 33_334
    start_ts: float = 1_704_067_200.0  # 2024-01-01 00:00 UTC, a Monday; hours are read in UTC
    horizon_days: int = 400  # drift schedule is generated this far ahead (10M events ~ 300 days)
    # Fraud rings (刷单): how many are active at the start, and their burst rhythm.
    n_rings_initial: int = 3
    ring_bursts_per_day: float = 3.0  # per ring at the default traffic; scaled with events_per_day
    ring_burst_orders: int = 12  # burst size: 2 + an exponential draw with this mean
    # A ring that brushes a newly launched category this many days after its launch (new listings
    # with no sales history are what brushing is for); None: no such ring. Off by default so the
    # published streams stay as they were; benchmarks/cold_start.py turns it on.
    launch_ring_days: float | None = None
    fraud_feedback_rate: float = 0.9  # share of fake orders the risk team confirms
    legit_feedback_rate: float = 0.02  # share of legit orders given an explicit "legit" verdict
    # Behaviour knobs.
    listing_violation_rate: float = 0.18
    browse_cart_rate: float = 0.16  # per viewed product in a browsing session, before boosts
    cancel_rate: float = 0.03
    refund_rate: float = 0.02
    review_rate: float = 0.12

    def __post_init__(self) -> None:
        if self.n_merchants < 2:
            raise ValueError("n_merchants must be at least 2")
        if self.n_buyers < 10:
            raise ValueError("n_buyers must be at least 10")
        if self.events_per_day < 1000:
            raise ValueError("events_per_day must be at least 1000")
        if self.products_per_category < 5:
            raise ValueError("products_per_category must be at least 5")

    def to_dict(self) -> dict:
        return asdict(self)
