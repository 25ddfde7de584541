"""The learned price reference (ops/audit/price.py) and its use by the auditor; the auditor's
``claimed_threshold`` wrong-category rule. Generated data only."""

from __future__ import annotations

import json
import math
import random

import pytest

from ecomops.ops.audit import Auditor, CategoryClassifier
from ecomops.ops.audit.price import PriceModel

# product families: (category, words, typical price); families of one category differ by 10x and more
FAMILIES = [
    ("kitchen", "steel teaspoon set", 120), ("kitchen", "pressure cooker 5 litre", 2400),
    ("kitchen", "glass water bottle", 300), ("furniture", "wooden bookshelf", 8000),
    ("furniture", "plastic stool", 400), ("furniture", "leather sofa 3 seater", 45000),
    ("jewellery", "alloy necklace", 250), ("jewellery", "18k gold diamond ring", 30000),
]
BRANDS = ["acme", "zenith", "orbit", "nova", "kite", "lumen"]


def catalogue(n: int, seed: int = 0) -> list[tuple[dict, float]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        cat, words, typical = rng.choice(FAMILIES)
        brand = rng.choice(BRANDS)
        title = f"{brand.title()} {words} {rng.choice(['black', 'blue', 'red', 'white'])} model {rng.randint(1, 99)}"
        price = round(typical * math.exp(rng.gauss(0, 0.25)), 0)
        out.append(({"listing_id": f"P{seed}-{i}", "title": title, "category": cat, "attributes": {"brand": brand},
                     "certifications": [], "price": price, "currency": "INR", "description": ""}, price))
    return out


def warmed_model(n: int = 600, **kw) -> PriceModel:
    # 8 families only: each family word is in 1/8 of the listings, so the neighbour index must not
    # skip frequent words (``max_df``) as it does on a real catalogue's thousands of words
    m = PriceModel(min_count=30, max_df=0.5, **kw)
    for listing, price in catalogue(n):
        m.learn(listing, price)
    return m


def test_model_predicts_the_family_not_the_category():
    m = warmed_model()
    cat_logs: dict[str, list[float]] = {}
    for listing, price in catalogue(600):
        cat_logs.setdefault(listing["category"], []).append(math.log(price))
    err, base = [], []
    for listing, price in catalogue(100, seed=1):
        pred, sim = m.predict(listing)
        assert sim > 0.1  # similar titles were found
        err.append(abs(pred - math.log(price)))
        logs = sorted(cat_logs[listing["category"]])
        base.append(abs(logs[len(logs) // 2] - math.log(price)))
    assert sum(err) / len(err) < 0.5
    assert sum(err) < sum(base) / 3  # far better than the category's median price


def test_model_flags_x20_and_div20_not_the_normal_price():
    m = warmed_model(threshold=4.0)
    normal, high, low = [], [], []
    for listing, price in catalogue(200, seed=2):
        normal.append(abs(m.score(listing, price)[0]) > m.threshold)
        high.append(m.score(listing, price * 20)[0] > m.threshold)
        low.append(m.score(listing, price / 20)[0] < -m.threshold)
    assert sum(normal) <= 4
    assert sum(high) >= 196 and sum(low) >= 196


def test_model_not_ready_before_min_count():
    m = PriceModel(min_count=10)
    for listing, price in catalogue(5):
        m.learn(listing, price)
    assert not m.ready() and m.score(*catalogue(1, seed=3)[0])[0] == 0.0


def test_unaccepted_price_does_not_enter_the_neighbour_index():
    m = warmed_model(200)
    n_items, n_seen = len(m.items), m.n_seen
    listing, price = catalogue(1, seed=4)[0]
    before = m.predict(listing)[0]
    m.learn(listing, price * 20, accepted=False)
    assert len(m.items) == n_items and m.n_seen == n_seen
    assert abs(m.predict(listing)[0] - before) < 0.5  # a clipped step barely moves it


def test_capacity_forgets_the_oldest():
    m = PriceModel(min_count=1, capacity=50)
    for listing, price in catalogue(120):
        m.learn(listing, price)
    assert len(m.items) == 50 and min(m.items) == 70
    assert all(len(v) for v in m.post.values())
    assert sum(len(v) for v in m.post.values()) == sum(len(f) for f, _ in m.items.values())


def test_state_roundtrip_predicts_the_same():
    m = warmed_model(300)
    st = json.loads(json.dumps(m.state_dict()))
    r = PriceModel.from_state(st)
    for listing, price in catalogue(30, seed=5):
        assert r.score(listing, price)[0] == pytest.approx(m.score(listing, price)[0], abs=1e-4)
    with pytest.raises(ValueError):
        PriceModel.from_state({"version": 99})


def test_auditor_uses_price_model_and_learns_overturned_prices(listing):
    a = Auditor(price_model=PriceModel(min_count=30, threshold=4.0, max_df=0.5))
    for x, _ in catalogue(400):
        a.audit(x)
    x, price = catalogue(1, seed=6)[0]
    assert "price_anomaly" not in a.audit(x).codes
    v = a.audit(dict(x, listing_id="BIG", price=price * 20))
    assert "price_anomaly" in v.codes and any("similar listings" in r.message for r in v.reasons)
    # a reviewer says the price is fine: the model learns it (the neighbour index grows)
    n = len(a.price_model.items)
    assert a.learn_feedback("BIG", "price_anomaly", correct=False)
    assert len(a.price_model.items) == n + 1
    # the auditor's state carries the price model
    b = Auditor.from_state(json.loads(json.dumps(a.state_dict())))
    assert b.price_model is not None and b.price_model.n_seen == a.price_model.n_seen
    assert "price_anomaly" in b.audit(dict(x, listing_id="BIG2", price=price / 20)).codes


def test_auditor_without_price_model_keeps_robust_z(listing):
    a = Auditor()
    assert a.price_model is None and "price_model" not in a.state_dict()


TOY = [("cotton t-shirt", "clothing"), ("denim jeans", "clothing"), ("wool jacket", "clothing"),
       ("usb charger", "electronics"), ("power bank", "electronics"), ("bluetooth earbuds", "electronics"),
       ("instant coffee", "food"), ("mineral water", "food"), ("cooking oil", "food")]


def test_claimed_threshold_flags_by_the_listed_categorys_probability(listing):
    clf = CategoryClassifier(n_bits=12)
    clf.learn_many([t for t, _ in TOY], [c for _, c in TOY], epochs=10)
    x = listing(title="usb charger", description="", category="clothing", attributes={})
    p_listed = clf.predict_proba_one(x)["clothing"]
    assert clf.predict_one(x) == "electronics"
    # top-category rule with a threshold above the top probability: not flagged
    assert "wrong_category" not in Auditor(category_model=clf, category_threshold=0.999).audit(x).codes
    # listed category's probability below the claimed threshold: flagged; above it: not
    assert "wrong_category" in Auditor(category_model=clf, claimed_threshold=p_listed + 0.01).audit(x).codes
    assert "wrong_category" not in Auditor(category_model=clf, claimed_threshold=p_listed - 0.01).audit(x).codes
    # the right category is never flagged, whatever the threshold
    ok = listing(title="usb charger", description="", category="electronics", attributes={"model": "a", "warranty_months": "1",
                                                                          "color": "b"}, price=50)
    assert "wrong_category" not in Auditor(category_model=clf, claimed_threshold=0.99).audit(ok).codes
    st = Auditor(category_model=clf, claimed_threshold=0.3).state_dict()
    assert Auditor.from_state(st, category_model=clf).claimed_threshold == 0.3
