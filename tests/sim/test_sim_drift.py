"""Every drift point in the first 30 days changes the data the way its description says."""

from __future__ import annotations

from collections import Counter

from sim_stats import BUCKET

WINDOW = 60_000  # events compared on each side (~2 days)
GAP = 10_000  # skip sessions that straddle the change


def _window(per_bucket: dict, lo: int, hi: int) -> Counter:
    out: Counter = Counter()
    for b in range(max(lo, 0) // BUCKET, hi // BUCKET):
        out.update(per_bucket.get(b, {}))
    return out


def _share(c: Counter, keys) -> float:
    total = sum(c.values())
    return sum(c[k] for k in keys) / total


def _before_after(per_bucket, idx):
    return _window(per_bucket, idx - WINDOW, idx), _window(per_bucket, idx + GAP, idx + GAP + WINDOW)


def _drift(stats, kind):
    return [d for d in stats.sim.ground_truth(upto=stats.n)["drift_points"] if d["kind"] == kind]


def test_first_month_holds_every_kind_of_drift(stats_1m):
    kinds = {d["kind"] for d in stats_1m.sim.ground_truth(upto=stats_1m.n)["drift_points"]}
    assert {"promotion_start", "promotion_end", "seasonal_shift", "category_launch", "fraud_ring_start",
            "fraud_tactic_shift"} <= kinds


def test_promotion_shifts_views_and_orders_to_the_category(stats_1m):
    for d in _drift(stats_1m, "promotion_start"):
        cat = d["category"]
        vb, va = _before_after(stats_1m.views_cat, d["event_index"])
        ob, oa = _before_after(stats_1m.lines_cat, d["event_index"])
        assert _share(va, [cat]) > 1.3 * _share(vb, [cat]), (d, _share(vb, [cat]), _share(va, [cat]))
        assert _share(oa, [cat]) > 1.15 * _share(ob, [cat])
    for d in _drift(stats_1m, "promotion_end"):
        cat = d["category"]
        vb, va = _before_after(stats_1m.views_cat, d["event_index"])
        assert _share(va, [cat]) < 0.8 * _share(vb, [cat])


def test_category_launch_opens_a_new_category_at_the_merchant(stats_1m):
    (d,) = _drift(stats_1m, "category_launch")
    key = (d["merchant_id"], d["category"])
    vb, va = _before_after(stats_1m.views_mcat, d["event_index"])
    assert vb[key] == 0 and va[key] > 200
    early = _window(stats_1m.views_mcat, 0, d["event_index"])
    assert early[key] == 0
    launched = [ev for ev, truth in stats_1m.listings if truth["true_category"] == d["category"]
                and ev["merchant_id"] == d["merchant_id"]]
    assert len([ev for ev in launched if ev["ts"] < d["ts"]]) >= 10  # the new catalogue is listed just before
    assert min(ev["ts"] for ev in launched) > d["ts"] - 6 * 3600


def test_seasonal_shift_moves_category_shares(stats_1m):
    (d,) = [d for d in _drift(stats_1m, "seasonal_shift") if d["season"] == "spring_festival_stockup"]
    vb, va = _before_after(stats_1m.views_cat, d["event_index"])
    assert _share(va, ["food", "packaging"]) > 1.1 * _share(vb, ["food", "packaging"])
    assert _share(va, ["industrial_parts"]) < 0.95 * _share(vb, ["industrial_parts"])


def test_new_ring_orders_appear_only_after_it_starts(stats_1m):
    (d,) = _drift(stats_1m, "fraud_ring_start")
    rows = stats_1m.ring_orders[d["ring_id"]]
    assert rows and min(i for i, _, _ in rows) >= d["event_index"]
    assert len(rows) > 100
