"""One pass over a simulated stream, summarised for many tests (aggregates only: flat memory)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ecomops.sim import Simulator

N_1M = 1_000_000
BUCKET = 5_000  # events per aggregation bucket


@dataclass
class StreamStats:
    sim: Simulator
    n: int
    types: Counter = field(default_factory=Counter)
    # per bucket of BUCKET events
    views_cat: dict = field(default_factory=lambda: defaultdict(Counter))  # bucket -> category -> views
    views_mcat: dict = field(default_factory=lambda: defaultdict(Counter))  # bucket -> (merchant, cat) -> views
    lines_cat: dict = field(default_factory=lambda: defaultdict(Counter))  # bucket -> category -> order lines
    ring_orders: dict = field(default_factory=lambda: defaultdict(list))  # ring -> [(index, age_h, hour)]
    orders: dict = field(default_factory=dict)  # order event_id -> (index, ts, fraud)
    order_ids: dict = field(default_factory=dict)  # order_id -> fraud
    order_ts: dict = field(default_factory=dict)  # order_id -> ts
    paid: dict = field(default_factory=dict)  # order_id -> payment ts
    cancelled: set = field(default_factory=set)
    refunded: set = field(default_factory=set)
    lifecycle_errors: list = field(default_factory=list)  # follow-ups out of order
    device_accounts: dict = field(default_factory=lambda: {True: defaultdict(set), False: defaultdict(set)})
    feedback: list = field(default_factory=list)  # (index, ts, target_id, label)
    listings: list = field(default_factory=list)  # (event, truth)
    inventory: list = field(default_factory=list)  # (stock_level, inbound, stockout)
    reviews: list = field(default_factory=list)  # (rating, fake, order_id)
    pair_orders: dict = field(default_factory=lambda: defaultdict(list))  # (buyer, product) -> [ts]
    view_then_order: Counter = field(default_factory=Counter)  # kind -> [registered, converted in 1h]


def collect(sim: Simulator, n: int) -> StreamStats:
    st = StreamStats(sim, n)
    pending: dict = {}  # (buyer, product) -> (ts, kind): first look in the current hour
    for i, (ev, truth) in enumerate(sim.stream(n)):
        ty = ev["type"]
        st.types[ty] += 1
        b = i // BUCKET
        if ty == "view":
            st.views_cat[b][ev["category"]] += 1
            st.views_mcat[b][(ev["merchant_id"], ev["category"])] += 1
        if ty in ("view", "click", "add_to_cart"):
            key = (ev["buyer_id"], ev["product_id"])
            old = pending.get(key)
            if old is None or ev["ts"] - old[0] > 3600:
                if old is not None:
                    st.view_then_order[(old[1], False)] += 1
                pending[key] = (ev["ts"], ty)
        elif ty == "order":
            fraud = truth["fraud"]
            st.orders[ev["event_id"]] = (i, ev["ts"], fraud)
            st.order_ids[ev["order_id"]] = fraud
            st.order_ts[ev["order_id"]] = ev["ts"]
            st.device_accounts[fraud][ev["device_id"]].add(ev["account_id"])
            if fraud:
                st.ring_orders[truth["ring_id"]].append(
                    (i, (ev["ts"] - ev["account_created_ts"]) / 3600, int(ev["ts"] % 86400 // 3600)))
            for line in ev["lines"]:
                st.lines_cat[b][line["category"]] += 1
                key = (ev["buyer_id"], line["product_id"])
                if not fraud:
                    st.pair_orders[key].append(ev["ts"])
                old = pending.pop(key, None)
                if old is not None:
                    st.view_then_order[(old[1], ev["ts"] - old[0] <= 3600)] += 1
        elif ty in ("payment", "refund", "cancel"):
            oid = ev["order_id"]
            if oid not in st.order_ts or ev["ts"] < st.order_ts[oid]:
                st.lifecycle_errors.append((ty, oid, "before its order"))
            if ty == "payment":
                if oid in st.cancelled or oid in st.refunded:
                    st.lifecycle_errors.append((ty, oid, "paid after a cancel or refund"))
                st.paid[oid] = ev["ts"]
            elif ty == "cancel":
                st.cancelled.add(oid)
            else:
                st.refunded.add(oid)
        elif ty == "feedback":
            st.feedback.append((i, ev["ts"], ev["target_id"], ev["label"]))
        elif ty == "listing":
            st.listings.append((ev, truth))
        elif ty == "inventory":
            st.inventory.append((ev["stock_level"], ev["inbound"], truth["stockout"]))
        elif ty == "review":
            st.reviews.append((ev["rating"], truth["fake"], ev["order_id"]))
    return st
