"""The public face of the simulated B2B marketplace: ``Simulator(SimConfig(seed)).stream(n)``.

The stream is a generator of ``(event, truth)`` pairs: ``event`` is a plain dict that
:func:`ecomops.core.events.event_from_dict` accepts; ``truth`` is the ground truth the
simulator knows about it (``{"fraud": bool, "ring_id": ...}`` for orders,
``{"violations": [...]}`` for listings, ``{"stockout": bool}`` for inventory snapshots,
``{"fake": bool}`` for reviews, ``{"intent": ...}`` for tickets) or ``None``.

Same seed, same stream, byte for byte; ``stream(n)`` is a prefix of ``stream(m)`` for n < m,
because time and the drift schedule are fixed per event index (see :mod:`.clock`).

>>> from ecomops.sim import SimConfig, Simulator
>>> sim = Simulator(SimConfig(seed=0))
>>> pairs = list(sim.stream(2000))
>>> len(pairs), pairs[0][0]["event_id"], sorted(pairs[0][0])[:3]
(2000, 's0-0', ['buyer_id', 'category', 'event_id'])
>>> d = sim.ground_truth()["drift_points"][0]
>>> {"event_index", "ts", "kind", "merchant_id", "description"} <= set(d), d["kind"]
(True, 'promotion_start')
"""

from __future__ import annotations

import random
from heapq import heappop
from typing import Iterator

from .catalog import build_catalog
from .categories import CATEGORIES, CATEGORY_NAMES
from .clock import Clock
from .config import SimConfig
from .market import Market
from .schedule import build_schedule

DAY = 86400.0


class Simulator:
    def __init__(self, config: SimConfig | None = None):
        self.config = cfg = config or SimConfig()
        self.clock = Clock(cfg.seed, cfg.events_per_day, cfg.start_ts)
        self.schedule = build_schedule(cfg)
        self.merchants, self.products = build_catalog(
            random.Random(cfg.seed * 1_000_003 + 7), cfg.n_merchants, cfg.products_per_category,
            self.schedule.launches)
        self._market: Market | None = None
        self._emitted = 0
        self._drift_cache: list[dict] | None = None

    # -- streaming ---------------------------------------------------------------------------------
    def stream(self, n_events: int) -> Iterator[tuple[dict, dict | None]]:
        """Yield exactly ``n_events`` (event, truth) pairs; each call starts the world afresh."""
        if n_events < 0:
            raise ValueError("n_events must be >= 0")
        market = Market(self.config, self.schedule, self.merchants, self.products)
        self._market, self._emitted = market, 0
        return self._run(market, n_events)

    def _run(self, market: Market, n: int):
        clock, heap, counts = self.clock, market.heap, market.counts
        start_activity = market.start_activity
        prefix = f"s{self.config.seed}-"
        i, day = 0, 0
        while i < n:
            times = clock.day_times(day)
            market.new_day(times[0], first=day == 0)
            for t in times:
                if i >= n:
                    break
                while not heap or heap[0][0] > t:
                    start_activity(t)
                _, _, body, truth, hook, arg = heappop(heap)
                body["event_id"] = prefix + str(i)
                body["ts"] = t
                if hook is not None:
                    hook(body, truth, t, arg)
                counts[body["type"]] += 1
                i += 1
                self._emitted = i
                yield body, truth
            day += 1

    # -- ground truth ------------------------------------------------------------------------------
    def drift_points(self, upto: int | None = None) -> list[dict]:
        """The schedule's changes with the index of the first event at or after each one."""
        if self._drift_cache is None:
            out = []
            for d in self.schedule.drift:
                rec = {"event_index": self.clock.index_at(d.ts), "ts": d.ts, "kind": d.kind,
                       "merchant_id": None if d.merchant is None else self.merchants[d.merchant].merchant_id,
                       "description": d.description}
                rec.update({k: v for k, v in d.extra.items() if v is not None})
                out.append(rec)
            self._drift_cache = out
        return [dict(d) for d in self._drift_cache if upto is None or d["event_index"] < upto]

    def ground_truth(self, upto: int | None = None) -> dict:
        """Summary of the world and what happened so far (drift points: all scheduled, or < ``upto``)."""
        cfg = self.config
        market = self._market or Market(cfg, self.schedule, self.merchants, self.products)
        launch = {(c, m): ts for c, m, ts in self.schedule.launches}
        categories = []
        for name in CATEGORY_NAMES:
            c = CATEGORIES[name]
            sellers = [m.merchant_id for m in self.merchants if name in m.categories]
            categories.append({
                "name": name, "zh": c.zh, "price_min": c.price_min, "price_max": c.price_max,
                "required_attributes": list(c.required_attributes),
                "ccc_required_items": [i.en for i in c.items if i.needs_ccc],
                "merchants": sellers,
                "launches": [{"merchant_id": self.merchants[m].merchant_id, "ts": ts}
                             for (cn, m), ts in launch.items() if cn == name],
                "n_products": sum(1 for p in self.products if p.category == name),
            })
        counts = dict(sorted(market.counts.items()))
        counts["events"] = self._emitted if self._market is not None else 0
        orders = counts.get("fraud_orders", 0) + counts.get("legit_orders", 0)
        counts["fraud_rate"] = round(counts.get("fraud_orders", 0) / orders, 5) if orders else 0.0
        counts["listing_violations"] = dict(sorted(market.violations.items()))
        return {
            "seed": cfg.seed,
            "config": cfg.to_dict(),
            "start_ts": cfg.start_ts,
            "events_per_day": cfg.events_per_day,
            "drift_points": self.drift_points(upto),
            "categories": categories,
            "merchants": [m.summary() for m in self.merchants],
            "fraud_rings": [g.summary() for g in market.rings],
            "promotions": [{"promo_id": p.promo_id, "name": p.name, "category": p.category,
                            "merchant_id": None if p.merchant is None else self.merchants[p.merchant].merchant_id,
                            "start_ts": p.start_ts, "end_ts": p.end_ts, "discount": p.discount}
                           for p in self.schedule.promotions],
            "seasons": [{"name": s.name, "start_ts": s.start_ts} for s in self.schedule.seasons],
            "n_buyers": len(market.book.buyers),
            "n_products": len(self.products),
            "counts": counts,
        }
