"""Fake-order risk: is this order part of a brushing ring (刷单)?

Every order is scored when it arrives. The label is a later ``feedback`` event from the risk team
(``model="risk"``, label 1 = confirmed fake, 0 = legit); orders nobody flags within the horizon
are learned as legit, which is how chargeback-style truth works in practice. Rings share devices
and IP ranges across many fresh accounts and order in bursts at odd hours, so the features are
velocity and sharing statistics kept in fixed memory, plus the raw device and network identities.
"""

from __future__ import annotations

import math

from ...core.config import EngineConfig
from ...core.events import Event, Feedback, Order
from ...learn.online.sketch import DecayedCounters, LastSeen
from ..coldstart import PRODUCT_KEY
from ..task import OnlineTask, log_bucket

_HOUR = 3600.0


def ip_prefix(ip: str | None) -> str:
    if not ip:
        return ""
    if ":" in ip:  # IPv6: the /48 is what one customer usually gets
        return ":".join(ip.split(":")[:3])
    return ".".join(ip.split(".")[:3])


class FakeOrderRisk(OnlineTask):
    name = "risk"
    default_label = 0.0
    stats = ("device_orders", "ip_orders", "account_orders", "device_accounts", "ip_accounts", "pairs_seen")

    def __init__(self, cfg: EngineConfig, catalog=None):
        # One merchant-wide model even with transfer on: these features are category-free, so
        # they carry over to a new category as they are, and fraud positives are too few to split.
        super().__init__(cfg, cfg.risk_horizon_s, catalog=catalog)
        self.device_orders = DecayedCounters(16, half_life=_HOUR)
        self.ip_orders = DecayedCounters(16, half_life=_HOUR)
        self.account_orders = DecayedCounters(16, half_life=24 * _HOUR)
        self.device_accounts = DecayedCounters(16, half_life=0.0)
        self.ip_accounts = DecayedCounters(16, half_life=0.0)
        self.pairs_seen = LastSeen(18)

    def observe(self, ev: Event) -> None:
        self.advance(ev.ts)
        if isinstance(ev, Order):
            self.labels.register(ev.event_id, self.features(ev), ev.ts)
            self._update(ev)
        elif isinstance(ev, Feedback) and ev.model == "risk" and ev.label is not None:
            self.labels.resolve(ev.target_id, ev.label)

    def features(self, ev: Order) -> dict:
        ts = ev.ts
        acct = ev.account_id or ev.buyer_id
        dev = ev.device_id or ""
        net = ip_prefix(ev.ip)
        total = ev.total
        qty = sum(line.quantity for line in ev.lines)
        age_h = None if ev.account_created_ts is None else max(ts - ev.account_created_ts, 0.0) / _HOUR
        hour = int((ts % 86400.0) // 3600)
        f = {
            "device": dev,
            "ip_net": net,
            "channel": ev.channel or "",
            "country": ev.country or "",
            "hour": str(hour),
            "account_age_h": log_bucket(age_h),
            "account_age_log": math.log1p(age_h) if age_h is not None else 0.0,
            "lines": log_bucket(len(ev.lines)),
            "qty": log_bucket(qty),
            "total": log_bucket(total),
            "device_orders_1h": log_bucket(self.device_orders.get(dev, ts)) if dev else "none",
            "ip_orders_1h": log_bucket(self.ip_orders.get(net, ts)) if net else "none",
            "account_orders_1d": log_bucket(self.account_orders.get(acct, ts)),
            "device_accounts": log_bucket(self.device_accounts.get(dev, ts)) if dev else "none",
            "ip_accounts": log_bucket(self.ip_accounts.get(net, ts)) if net else "none",
            "channel_hour": (ev.channel or "") + "\x1f" + str(hour),
        }
        if self.catalog is not None:
            # what kind of product is ordered: rings brush a few products, and their title codes
            # are shared with similar products in every category
            f[PRODUCT_KEY] = ev.lines[0].product_id
        return f

    def _update(self, ev: Order) -> None:
        ts = ev.ts
        acct = ev.account_id or ev.buyer_id
        self.account_orders.add(acct, ts)
        if ev.device_id:
            self.device_orders.add(ev.device_id, ts)
            if self.pairs_seen.set("d\x1f" + ev.device_id + "\x1f" + acct, ts) is None:
                self.device_accounts.add(ev.device_id, ts)
        net = ip_prefix(ev.ip)
        if net:
            self.ip_orders.add(net, ts)
            if self.pairs_seen.set("i\x1f" + net + "\x1f" + acct, ts) is None:
                self.ip_accounts.add(net, ts)
