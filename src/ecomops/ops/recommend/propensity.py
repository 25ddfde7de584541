"""Purchase propensity: will this buyer order the product it is looking at?

The first view or click of (buyer, product) asks for a score, which is what a recommender needs
before the buyer commits; an order of that product by that buyer within the horizon makes it a
positive, silence a negative; either way it is learned when the horizon ends. Add-to-cart is deliberately not a scoring point: about 90% of carts
convert, so scoring them would inflate AUC without helping anyone decide what to show. Features mix
identity (buyer, product, and their cross: memorization of repeat purchases) with streaming
statistics (the buyer's reorder cycle for the product, the product's current popularity and
conversion, which move with promotions and seasons).
"""

from __future__ import annotations

import math

from ...core.config import EngineConfig
from ...core.events import Click, Event, Order, View
from ...learn.online.sketch import DecayedCounters, LastSeen, RecentKeys
from ..coldstart import PRODUCT_KEY, CategoryHeads
from ..task import OnlineTask, log_bucket

_DAY = 86400.0


class PurchasePropensity(OnlineTask):
    name = "propensity"
    default_label = 0.0
    stats = ("product_orders", "product_views", "buyer_orders", "buyer_views", "pair_orders", "pair_last",
             "recent_products")

    def __init__(self, cfg: EngineConfig, catalog=None):
        # With a catalogue (transfer on) the model is one head per category, a new category's
        # warm-started from the most similar one (ops/coldstart.py); otherwise one model.
        heads = CategoryHeads(cfg, cfg.max_category_heads) if catalog is not None else None
        # Every example is learned one horizon after its view, positives too: learning positives
        # as they arrive and negatives an hour later made the hour-of-day weights chase the
        # clock (benchmarks/online_learning.py, sim_propensity, ecomops-ftrl: logloss 0.554 -> 0.428).
        super().__init__(cfg, cfg.propensity_horizon_s, hold_labels=True, catalog=catalog, model=heads)
        self.product_orders = DecayedCounters(16, half_life=_DAY)
        self.product_views = DecayedCounters(16, half_life=_DAY)
        self.buyer_orders = DecayedCounters(16, half_life=7 * _DAY)
        self.buyer_views = DecayedCounters(16, half_life=7 * _DAY)
        self.pair_orders = DecayedCounters(18, half_life=0.0)  # plain count: repeat purchases
        self.pair_last = LastSeen(18)
        # the products buyers currently look at and order: what recommendations rank (ops.recommend)
        self.recent_products = RecentKeys(2000)

    def observe(self, ev: Event) -> None:
        self.advance(ev.ts)
        if isinstance(ev, (View, Click)):
            key = (ev.buyer_id, ev.product_id)
            if key not in self.labels:
                self.labels.register(key, self.features(ev), ev.ts)
                self.product_views.add(ev.product_id, ev.ts)
                self.buyer_views.add(ev.buyer_id, ev.ts)
                self.recent_products.add(ev.product_id, ev.category or "")
        elif isinstance(ev, Order):
            seen = set()
            for line in ev.lines:
                if line.product_id in seen:
                    continue
                seen.add(line.product_id)
                if (ev.buyer_id, line.product_id) in self.labels:
                    self.labels.resolve((ev.buyer_id, line.product_id), 1.0)
                pair = ev.buyer_id + "\x1f" + line.product_id
                self.pair_orders.add(pair, ev.ts)
                self.pair_last.set(pair, ev.ts)
                self.product_orders.add(line.product_id, ev.ts)
                self.recent_products.add(line.product_id, line.category or "")
            self.buyer_orders.add(ev.buyer_id, ev.ts)

    def features(self, ev: View | Click) -> dict:
        b, p, ts = ev.buyer_id, ev.product_id, ev.ts
        cat = getattr(ev, "category", None) or ""
        pair = b + "\x1f" + p
        last = self.pair_last.get(pair)
        p_orders = self.product_orders.get(p, ts)
        p_views = self.product_views.get(p, ts)
        hour = int((ts % _DAY) // 3600)
        b_orders = self.buyer_orders.get(b, ts)
        f = {
            "kind": ev.type,
            "position": log_bucket(getattr(ev, "position", None)),
            "buyer": b,
            "product": p,
            "category": cat,
            "buyer_product": pair,
            "buyer_category": b + "\x1f" + cat,
            "hour": str(hour),
            "since_last_order_days": log_bucket(None if last is None else (ts - last) / _DAY, 1.6),
            "pair_orders": log_bucket(self.pair_orders.get(pair, ts)),
            "product_orders": math.log1p(p_orders),
            "product_conv": p_orders / (p_views + 5.0),
            "buyer_orders": math.log1p(b_orders),
            "buyer_conv": b_orders / (self.buyer_views.get(b, ts) + 5.0),
        }
        if self.catalog is not None:
            f[PRODUCT_KEY] = p  # text features are filled in at the chunk's end, once titles are coded
        return f

    # -- per-category heads (transfer on) ----------------------------------------------------------
    def _heads(self, pending: list) -> list[str]:
        cat = self.catalog.category_of
        return [self.model.head_for(cat(p.key[1]), self.catalog) for p in pending]

    def _predict(self, batch, pending):
        if self.catalog is None:
            return super()._predict(batch, pending)
        return self.model.predict_many(batch, self._heads(pending))

    def _learn(self, batch, y, prob, pending):
        if self.catalog is None:
            return super()._learn(batch, y, prob, pending)
        return self.model.learn_many(batch, y, self._heads(pending), prob)
