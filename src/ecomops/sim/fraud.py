"""Fake-order rings (刷单): coordinated shell accounts brushing one merchant's products.

A ring owns a small pool of devices and proxy IP ranges and keeps opening fresh accounts
(created hours to days before they order). It works in bursts, mostly in the small hours,
placing small orders of the same few products at odd quantities, pays at once, leaves 5-star
reviews and is often refunded. After a ring's tactic shift (see the schedule) it buys aged
accounts, works in the daytime from many more devices and orders pack-sized quantities: still
learnable (device reuse, reviews, repeat products) but no longer from account age or hour.

>>> import random
>>> from ecomops.sim.fraud import odd_quantity
>>> rng = random.Random(0)
>>> sorted({odd_quantity(rng) for _ in range(200)})[:4]
[1, 2, 3, 5]
"""

from __future__ import annotations

import random

from .buyers import CARRIER_PREFIXES, BuyerBook, device_id

DAY = 86400.0
HOUR = 3600.0
_PROXY_NETS = ("101.33", "43.248", "106.55", "180.163", "36.112", "49.7", "110.40", "14.29")


def odd_quantity(rng: random.Random) -> int:
    return rng.choice((1, 1, 1, 2, 2, 3, 5, 7, 9, 11, 13))


class FakeAccount:
    __slots__ = ("account_id", "buyer_id", "created_ts")

    def __init__(self, account_id, buyer_id, created_ts):
        self.account_id, self.buyer_id, self.created_ts = account_id, buyer_id, created_ts


class FakeOrder:
    """What one fake order looks like; the simulator turns it into events."""

    __slots__ = ("delay", "account", "device", "ip", "channel", "lines", "view_first")

    def __init__(self, delay, account, device, ip, channel, lines, view_first):
        self.delay, self.account, self.device, self.ip = delay, account, device, ip
        self.channel, self.lines, self.view_first = channel, lines, view_first


class Ring:
    def __init__(self, plan, rng: random.Random, book: BuyerBook, products, merchant_products: list[int],
                 bursts_per_day: float, burst_orders: int):
        self.plan, self.rng, self.book, self.products = plan, rng, book, products
        self.ring_id, self.merchant = plan.ring_id, plan.merchant
        self.bursts_per_day, self.burst_orders = bursts_per_day, burst_orders
        live = [p for p in merchant_products if products[p].available_ts <= plan.start_ts
                and (plan.category is None or products[p].category == plan.category)]
        self.targets = rng.sample(live, min(len(live), rng.randint(2, 4)))
        self.devices = [device_id(rng) for _ in range(rng.randint(3, 7))]
        self.nets = [f"{n}.{rng.randint(0, 255)}" for n in rng.sample(_PROXY_NETS, rng.randint(1, 3))]
        self.pool: list[FakeAccount] = []
        self.shifted = False
        self.next_burst = self._next_burst_time(plan.start_ts)

    def summary(self) -> dict:
        p = self.plan
        return {"ring_id": p.ring_id, "merchant_id": f"m{p.merchant + 1:02d}", "start_ts": p.start_ts,
                "end_ts": p.end_ts, "tactic_shift_ts": p.shift_ts,
                "target_products": [self.products[i].product_id for i in self.targets],
                "devices": list(self.devices), "ip_prefixes": list(self.nets)}

    def active(self, ts: float) -> bool:
        return self.plan.start_ts <= ts < self.plan.end_ts

    def _maybe_shift(self, ts: float) -> None:
        if not self.shifted and self.plan.shift_ts is not None and ts >= self.plan.shift_ts:
            self.shifted = True
            self.devices = [device_id(self.rng) for _ in range(self.rng.randint(18, 30))]
            self.pool = []  # the fresh-account pool is abandoned for bought aged accounts

    def _next_burst_time(self, after: float) -> float:
        rng = self.rng
        t = after + rng.expovariate(self.bursts_per_day) * DAY
        shifted = self.shifted or (self.plan.shift_ts is not None and t >= self.plan.shift_ts)
        if shifted:  # office hours, blending in with real buyers
            hour = rng.uniform(8.5, 17.5)
        elif rng.random() < 0.75:  # the small hours, when nobody watches
            hour = rng.uniform(0.5, 5.5)
        else:
            return t
        # move within the day of t, keeping the burst rate: never before the previous burst
        start = self.book.start_ts
        out = start + ((t - start) // DAY) * DAY + hour * HOUR
        return out if out > after + 1800.0 else out + DAY

    def _account(self, ts: float) -> FakeAccount:
        rng = self.rng
        if len(self.pool) < 25 or rng.random() < 0.45:  # burn accounts fast: old ones get flagged
            if self.shifted:
                age = rng.uniform(30, 500) * DAY
            else:  # mostly brand new, some "nurtured" for a few weeks first
                age = rng.uniform(0.3, 48.0) * HOUR if rng.random() < 0.8 else rng.uniform(3, 30) * DAY
            acc = FakeAccount(self.book.new_account_id(), self.book.new_buyer_id(), ts - age)
            if len(self.pool) >= 25:
                self.pool[rng.randrange(len(self.pool))] = acc  # retire a used-up account
            else:
                self.pool.append(acc)
            return acc
        return self.pool[rng.randrange(len(self.pool))]

    def burst(self, ts: float) -> list[FakeOrder]:
        """Plan the fake orders of one burst starting at ``ts``; schedules the next burst."""
        rng = self.rng
        self._maybe_shift(ts)
        self.next_burst = self._next_burst_time(ts)
        n = max(2, int(rng.expovariate(1.0 / self.burst_orders)) + 2)
        out, delay = [], 0.0
        for _ in range(n):
            acc = self._account(ts + delay)
            if self.shifted:
                net = rng.choice(self.nets) if rng.random() < 0.3 else rng.choice(CARRIER_PREFIXES)
                channel = rng.choice(("web", "web", "app", "mini_program"))
            else:  # proxies, or a phone farm on a carrier network
                net = rng.choice(self.nets) if rng.random() < 0.7 else rng.choice(CARRIER_PREFIXES[:8])
                channel = "app" if rng.random() < 0.6 else "mini_program" if rng.random() < 0.85 else "web"
            ip = f"{net}.{rng.randint(1, 254)}"
            lines = []
            for p in rng.sample(self.targets, 1 if rng.random() < 0.85 else min(2, len(self.targets))):
                pack = self.products[p].pack
                q = pack * rng.randint(1, 3) if self.shifted and rng.random() < 0.5 else odd_quantity(rng)
                lines.append((p, q))
            out.append(FakeOrder(delay, acc, rng.choice(self.devices), ip, channel, lines, rng.random() < 0.6))
            delay += rng.expovariate(1.0 / (240.0 if self.shifted else 75.0))
        return out
