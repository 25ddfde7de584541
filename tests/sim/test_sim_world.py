"""Listings, stock, repeat purchases and the event mix: the truth matches the content."""

from __future__ import annotations

import statistics

from ecomops.sim import SimConfig, Simulator
from ecomops.sim.categories import CATEGORIES, PROHIBITED_TOKENS
from ecomops.sim.listings import VIOLATION_CODES

DAY = 86400.0


def _has_claim(ev) -> bool:
    text = (ev["title"] + " " + ev["description"]).lower()
    return any(tok.lower() in text for tok in PROHIBITED_TOKENS)


def test_listing_truth_matches_listing_content(stats_1m):
    products = {p.product_id: p for p in stats_1m.sim.products}
    found = {code: 0 for code in VIOLATION_CODES}
    for ev, truth in stats_1m.listings:
        codes = set(truth["violations"])
        for c in codes:
            found[c] += 1
        prod = products[ev["product_id"]]
        true_cat = CATEGORIES[prod.category]
        assert truth["true_category"] == prod.category
        assert ("missing_certification" in codes) == (prod.needs_ccc and "CCC" not in ev["certifications"])
        if "missing_certification" in codes:
            assert prod.category == "electronics"
        assert ("prohibited_claim" in codes) == _has_claim(ev)
        assert ("wrong_category" in codes) == (ev["category"] != prod.category)
        anomalous = ev["price"] < 0.5 * true_cat.price_min or ev["price"] > 2 * true_cat.price_max
        assert ("price_anomaly" in codes) == anomalous
        missing = not set(true_cat.required_attributes) <= set(ev["attributes"])
        assert ("missing_attribute" in codes) == missing
    assert all(n >= 20 for n in found.values()), found
    clean = sum(1 for _, t in stats_1m.listings if not t["violations"])
    assert 0.6 < clean / len(stats_1m.listings) < 0.95
    assert stats_1m.sim.ground_truth()["counts"]["listing_violations"] == found


def test_inventory_truth_and_restocks(stats_1m):
    inv = stats_1m.inventory
    assert all(stockout == (level == 0) for level, _, stockout in inv)
    assert sum(stockout for _, _, stockout in inv) > 50
    assert sum(inbound > 0 for _, inbound, _ in inv) > 100  # supplier orders on the way
    assert sum(1 for level, _, _ in inv if level > 0) > len(inv) / 2


def test_buyers_reorder_staples_on_a_cycle(stats_1m):
    gaps = []
    for times in stats_1m.pair_orders.values():
        if len(times) >= 3:
            gaps.extend((b - a) / DAY for a, b in zip(times, times[1:]))
    assert len(gaps) > 5000
    assert 2.0 < statistics.median(gaps) < 15.0


def test_looks_convert_within_the_hour(stats_1m):
    c = stats_1m.view_then_order

    def rate(kind):
        return c[(kind, True)] / (c[(kind, True)] + c[(kind, False)])

    assert 0.05 < rate("view") < 0.6
    assert rate("add_to_cart") > 2 * rate("view")


def test_order_lifecycle_is_causal(stats_1m):
    assert stats_1m.lifecycle_errors == []
    assert stats_1m.paid and stats_1m.cancelled and stats_1m.refunded
    assert not stats_1m.cancelled & set(stats_1m.paid)
    paid_share = len(stats_1m.paid) / len(stats_1m.order_ts)
    assert 0.55 < paid_share < 0.85  # credit-terms orders settle on the monthly statement


def test_event_mix_is_dominated_by_browsing(stats_1m):
    share = {k: v / stats_1m.n for k, v in stats_1m.types.items()}
    assert 0.45 < share["view"] < 0.62
    assert 0.10 < share["click"] < 0.22
    assert 0.06 < share["add_to_cart"] < 0.14
    assert 0.06 < share["order"] < 0.11
    assert 0.04 < share["payment"] < 0.08
    for rare in ("refund", "cancel", "inventory", "listing", "review", "ticket", "feedback"):
        assert 0.0005 < share[rare] < 0.03, rare


def test_ground_truth_summary_shape():
    gt = Simulator(SimConfig(seed=1)).ground_truth()
    assert len(gt["merchants"]) == 12
    names = [c["name"] for c in gt["categories"]]
    assert {"clothing", "home_appliances", "electronics", "food", "office_supplies", "industrial_parts"} <= set(names)
    assert len(gt["fraud_rings"]) >= 4 and all(r["devices"] and r["ip_prefixes"] for r in gt["fraud_rings"])
    for d in gt["drift_points"]:
        assert set(d) >= {"event_index", "ts", "kind", "merchant_id", "description"}
    idx = [d["event_index"] for d in gt["drift_points"]]
    assert idx == sorted(idx) and gt["counts"]["events"] == 0


def test_titles_are_bilingual_and_free_of_claims():
    sim = Simulator(SimConfig(seed=5))
    for p in sim.products:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in p.title)
        assert any("a" <= ch.lower() <= "z" for ch in p.title)
        assert not any(tok.lower() in p.title.lower() for tok in PROHIBITED_TOKENS)


def test_smallest_world_runs():
    """Two merchants (the smallest allowed) still give every buyer valid suppliers."""
    from ecomops.sim import SimConfig, Simulator

    events = [ev for ev, _ in Simulator(SimConfig(n_merchants=2, n_buyers=50)).stream(20_000)]
    assert len(events) == 20_000
    assert {ev["merchant_id"] for ev in events} == {"m01", "m02"}
