"""The drift schedule: promotions, seasons, category launches and fraud-ring changes.

Decided up front from the seed and config, in simulated time, so each change has a known ts
and event index before a single event is generated. The first 30 days (the default 1M-event
stream) hold one of each kind; later months repeat the pattern (monthly category promotions,
618 and Double 11, seasons, new rings replacing old ones).

>>> from ecomops.sim.config import SimConfig
>>> from ecomops.sim.schedule import build_schedule
>>> s = build_schedule(SimConfig(seed=0))
>>> sorted({d.kind for d in s.drift if d.ts < SimConfig().start_ts + 30 * 86400})[:4]
['category_launch', 'fraud_ring_start', 'fraud_tactic_shift', 'promotion_end']
>>> all(a.ts <= b.ts for a, b in zip(s.drift, s.drift[1:]))
True
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .catalog import INITIAL_CATEGORIES
from .categories import CATEGORIES
from .config import SimConfig

DAY = 86400.0
HOUR = 3600.0


@dataclass(frozen=True)
class Promotion:
    promo_id: str
    start_ts: float
    end_ts: float
    category: str | None  # None: every category
    merchant: int | None  # None: platform-wide
    discount: float  # price cut on promoted products
    view_boost: float  # how much more often promoted products are shown
    conv_boost: float  # how much more likely a viewed promoted product is bought
    name: str


@dataclass(frozen=True)
class Season:
    start_ts: float
    name: str
    category_weight: dict[str, float]  # multiplies a category's share of browsing
    tag_boost: dict[str, float]  # multiplies products whose item carries the season tag


@dataclass
class RingPlan:
    ring_id: str
    merchant: int
    start_ts: float
    end_ts: float
    shift_ts: float | None = None  # from here: aged accounts, daytime bursts, more devices
    category: str | None = None  # brush only this category's products (a launch ring)


@dataclass(frozen=True)
class DriftPoint:
    ts: float
    kind: str
    merchant: int | None
    description: str
    extra: dict = field(default_factory=dict)


@dataclass
class Schedule:
    promotions: list[Promotion]
    seasons: list[Season]
    launches: list[tuple[str, int, float]]  # (category, merchant index, ts)
    rings: list[RingPlan]
    drift: list[DriftPoint]

    def change_times(self) -> list[float]:
        """Every ts at which the behaviour regime changes (sorted, unique)."""
        return sorted({d.ts for d in self.drift})

    def season_at(self, ts: float) -> Season:
        cur = self.seasons[0]
        for s in self.seasons:
            if s.start_ts <= ts:
                cur = s
        return cur

    def promotions_at(self, ts: float) -> list[Promotion]:
        return [p for p in self.promotions if p.start_ts <= ts < p.end_ts]


_SEASONS = (  # (day, name, category weights, season-tag boosts)
    (0, "winter", {"clothing": 1.2}, {"winter": 2.2, "summer": 0.3, "festival": 0.8}),
    (24, "spring_festival_stockup", {"food": 1.9, "packaging": 1.6, "industrial_parts": 0.6, "office_supplies": 0.8},
     {"winter": 1.8, "summer": 0.3, "festival": 5.0}),
    (47, "post_festival_restart", {"office_supplies": 1.7, "industrial_parts": 1.6, "packaging": 1.2, "food": 0.8},
     {"winter": 1.0, "summer": 0.5, "festival": 0.3}),
    (91, "spring", {}, {"winter": 0.4, "summer": 1.0, "festival": 0.5}),
    (152, "summer", {"food": 1.2, "home_appliances": 1.3}, {"winter": 0.15, "summer": 2.6, "festival": 0.5}),
    (244, "autumn", {"industrial_parts": 1.2}, {"winter": 1.0, "summer": 0.6, "festival": 0.6}),
    (305, "winter", {"clothing": 1.2}, {"winter": 2.2, "summer": 0.3, "festival": 0.8}),
    (374, "spring_festival_stockup", {"food": 1.9, "packaging": 1.6, "industrial_parts": 0.6},
     {"winter": 1.8, "summer": 0.3, "festival": 5.0}),
)


def _sellers(merchant_cats: list[list[str]], cat: str) -> list[int]:
    return [m for m, cats in enumerate(merchant_cats) if cat in cats]


def build_schedule(cfg: SimConfig) -> Schedule:
    rng = random.Random(cfg.seed * 7919 + 17)
    t0, horizon = cfg.start_ts, cfg.start_ts + cfg.horizon_days * DAY
    n_m = cfg.n_merchants
    primary = [INITIAL_CATEGORIES[k % len(INITIAL_CATEGORIES)] for k in range(n_m)]
    drift: list[DriftPoint] = []

    # Category launches: a clothing merchant opens home appliances on day 18; more later.
    launches: list[tuple[str, int, float]] = []
    for day, cat, from_cat in ((18 + 8 / 24, "home_appliances", "clothing"), (120, "furniture", "office_supplies"),
                               (200, "home_appliances", "electronics")):
        ts = t0 + day * DAY
        cands = [m for m in range(n_m) if primary[m] == from_cat and (cat, m) not in {(c, mm) for c, mm, _ in launches}]
        if ts < horizon and cands:
            m = cands[0]
            launches.append((cat, m, ts))
            drift.append(DriftPoint(ts, "category_launch", m, f"m{m + 1:02d} (sells {from_cat}) opens "
                                    f"{cat} ({CATEGORIES[cat].zh}): new products, listings and orders",
                                    {"category": cat}))
    sold = [[primary[m]] for m in range(n_m)]  # rough view of who sells what, for promotions
    for cat, m, _ in launches:
        sold[m].append(cat)

    # Promotions: an electronics week in the first month, then one category a month, plus 618 and Double 11.
    promos: list[Promotion] = []

    def add_promo(start, end, cat, merchant, discount, vb, cb, name):
        if start >= horizon:
            return
        p = Promotion(f"promo-{len(promos) + 1}", start, end, cat, merchant, discount, vb, cb, name)
        promos.append(p)
        where = "platform-wide" if merchant is None else f"at m{merchant + 1:02d}"
        what = cat or "all categories"
        drift.append(DriftPoint(start, "promotion_start", merchant,
                                f"{name}: {what} {where}, -{int(discount * 100)}% on promoted products, "
                                f"shown x{vb:g}, bought x{cb:g}", {"category": cat, "promo_id": p.promo_id}))
        drift.append(DriftPoint(end, "promotion_end", merchant, f"{name} ends: {what} {where} back to normal",
                                {"category": cat, "promo_id": p.promo_id}))

    add_promo(t0 + 5 * DAY + 9 * HOUR, t0 + 12 * DAY + 21 * HOUR, "electronics", None, 0.15, 4.0, 2.0,
              "数码节 electronics week")
    rotation = ["food", "office_supplies", "clothing", "industrial_parts", "packaging", "electronics"]
    for month in range(1, cfg.horizon_days // 30 + 1):
        cat = rotation[(month - 1) % len(rotation)]
        start = t0 + (month * 30 + rng.randint(3, 10)) * DAY + 9 * HOUR
        merchant = rng.choice(_sellers(sold, cat)) if rng.random() < 0.5 and _sellers(sold, cat) else None
        add_promo(start, start + rng.randint(5, 8) * DAY, cat, merchant, rng.choice((0.1, 0.15, 0.2)),
                  rng.choice((3.0, 4.0, 5.0)), rng.choice((1.6, 1.8, 2.2)), f"{cat} month deal")
    add_promo(t0 + 166 * DAY, t0 + 171 * DAY, None, None, 0.12, 2.5, 1.6, "618 mid-year sale")
    add_promo(t0 + 305 * DAY, t0 + 315 * DAY + 23 * HOUR, None, None, 0.18, 3.0, 2.0, "双11 Double 11")

    # Seasons.
    seasons = []
    for day, name, cw, tb in _SEASONS:
        ts = t0 + day * DAY
        if ts >= horizon:
            break
        seasons.append(Season(ts, name, cw, tb))
        if day > 0:
            ups = ", ".join(f"{k} x{v:g}" for k, v in cw.items()) or "category mix unchanged"
            drift.append(DriftPoint(ts, "seasonal_shift", None,
                                    f"season -> {name}: {ups}; seasonal items {tb}", {"season": name}))

    # Fraud rings: three from the start, one more on day 11, a tactic change on day 27, then turnover.
    order = list(range(n_m))
    rng.shuffle(order)
    rings: list[RingPlan] = []

    def add_ring(start, life_days):
        k = len(rings)
        ring = RingPlan(f"ring-{k + 1}", order[k % n_m], start, min(start + life_days * DAY, horizon + DAY))
        rings.append(ring)
        if start > t0:
            drift.append(DriftPoint(start, "fraud_ring_start", ring.merchant,
                                    f"{ring.ring_id} starts brushing (刷单) for m{ring.merchant + 1:02d}: new devices, "
                                    "IP ranges and fresh accounts", {"ring_id": ring.ring_id}))
        if ring.end_ts < horizon:
            drift.append(DriftPoint(ring.end_ts, "fraud_ring_end", ring.merchant, f"{ring.ring_id} stops",
                                    {"ring_id": ring.ring_id}))
        return ring

    for _ in range(min(cfg.n_rings_initial, n_m)):
        add_ring(t0, rng.randint(110, 170))
    if cfg.n_rings_initial:
        add_ring(t0 + 11 * DAY, rng.randint(120, 160))
        rings[0].shift_ts = t0 + 27 * DAY
        drift.append(DriftPoint(rings[0].shift_ts, "fraud_tactic_shift", rings[0].merchant,
                                f"{rings[0].ring_id} changes tactics: bought aged accounts, daytime bursts, "
                                "many more devices (harder to spot)", {"ring_id": rings[0].ring_id}))
        day = 50
        while t0 + day * DAY < horizon:
            add_ring(t0 + day * DAY + rng.randint(0, 23) * HOUR, rng.randint(100, 160))
            day += rng.randint(35, 50)

    if cfg.launch_ring_days is not None:  # after every other draw: the rest of the schedule is unchanged
        lrng = random.Random(cfg.seed * 7919 + 23)
        for k, (cat, m, ts) in enumerate(launches):
            start = ts + cfg.launch_ring_days * DAY
            if start >= horizon:
                continue
            ring = RingPlan(f"ring-launch-{k + 1}", m, start, min(start + lrng.randint(60, 120) * DAY, horizon + DAY),
                            category=cat)
            rings.append(ring)
            drift.append(DriftPoint(start, "fraud_ring_start", m,
                                    f"{ring.ring_id} starts brushing (刷单) m{m + 1:02d}'s new {cat} products",
                                    {"ring_id": ring.ring_id, "category": cat}))
            if ring.end_ts < horizon:
                drift.append(DriftPoint(ring.end_ts, "fraud_ring_end", m, f"{ring.ring_id} stops",
                                        {"ring_id": ring.ring_id}))

    drift = [d for d in drift if d.ts < horizon]
    drift.sort(key=lambda d: (d.ts, d.kind))
    return Schedule(promos, seasons, launches, rings, drift)
