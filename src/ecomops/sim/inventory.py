"""Stock per product: orders deplete it, merchants reorder from suppliers, restocks arrive late.

Each merchant follows a reorder-point policy on its own demand estimate (a daily moving
average): when stock falls to ``demand x lead time x safety`` it orders up to two more weeks of
cover. Merchants with a low safety factor, promotions that lift demand faster than the average
follows, and supplier lead times that run long (0.6-1.6x the usual) all produce stockouts.

>>> import random
>>> from ecomops.sim.catalog import build_catalog
>>> from ecomops.sim.inventory import Inventory
>>> merchants, products = build_catalog(random.Random(0), 2, 5, [])
>>> inv = Inventory(random.Random(1), products, merchants)
>>> s0 = inv.stock[0]
>>> inv.take(0, s0 + 5), inv.stock[0]
(0, 0)
>>> inbound, lead = inv.place(0)
>>> inbound > 0 and lead > 0 and inv.on_order[0]
True
>>> inv.arrive(0) == inbound and not inv.on_order[0]
True
"""

from __future__ import annotations

import random

_REVIEW_DAYS = 14.0  # cover ordered beyond the lead time
_ALPHA = 0.25  # weight of the latest day in the demand average


def prior_daily_demand(product, scale: float = 1.0) -> float:
    """A first guess of units sold per day, fitted on the default world, before any sales are seen."""
    return product.pack * (4.0 + 70.0 * product.popularity) * scale


class Inventory:
    def __init__(self, rng: random.Random, products, merchants, demand_scale: float = 1.0):
        self.rng = rng
        n = len(products)
        self.product_ids = [p.product_id for p in products]
        self.merchant_of = [p.merchant for p in products]
        self.lead = [merchants[p.merchant].lead_time_days * rng.uniform(0.7, 1.3) for p in products]
        self.safety = [merchants[p.merchant].safety_factor for p in products]
        self.ewma = [prior_daily_demand(p, demand_scale) for p in products]
        self.stock = [int(self.ewma[i] * (self.lead[i] + rng.uniform(2.0, 20.0))) + products[i].pack
                      for i in range(n)]
        self.inbound = [0] * n
        self.on_order = [False] * n
        self.sold_today = [0] * n
        self.stockouts = 0

    def take(self, p: int, qty: int) -> int:
        """Ship ``qty`` units of product ``p`` (what is missing is backordered); returns new stock."""
        s = self.stock[p]
        q = qty if qty < s else s
        self.sold_today[p] += qty  # demand, not shipments: backorders count too
        s -= q
        self.stock[p] = s
        return s

    def reorder_point(self, p: int) -> float:
        return self.ewma[p] * self.lead[p] * self.safety[p]

    def needs_reorder(self, p: int) -> bool:
        return not self.on_order[p] and self.stock[p] <= self.reorder_point(p)

    def place(self, p: int) -> tuple[int, float]:
        """Order from the supplier; returns (units inbound, realised lead time in days)."""
        up_to = self.ewma[p] * (self.lead[p] + _REVIEW_DAYS) * self.safety[p]
        qty = max(int(up_to - self.stock[p]), 1)
        self.inbound[p] = qty
        self.on_order[p] = True
        return qty, round(self.lead[p] * self.rng.uniform(0.6, 1.6), 2)

    def arrive(self, p: int) -> int:
        self.stock[p] += self.inbound[p]
        self.inbound[p] = 0
        self.on_order[p] = False
        return self.stock[p]

    def end_of_day(self, live: list[bool]) -> list[int]:
        """Update demand estimates; returns products that now need a supplier order."""
        out = []
        for p, sold in enumerate(self.sold_today):
            if not live[p]:
                continue
            self.ewma[p] = (1 - _ALPHA) * self.ewma[p] + _ALPHA * sold
            self.sold_today[p] = 0
            if not self.on_order[p] and self.stock[p] <= self.reorder_point(p):
                out.append(p)
        return out
