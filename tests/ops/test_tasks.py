"""The operations tasks on hand-made streams: labels join right, features carry the signal."""

import numpy as np

from ecomops.core.config import EngineConfig
from ecomops.core.events import Feedback, Order, OrderLine, View
from ecomops.learn.online.hashing import FeatureHasher
from ecomops.ops.recommend import PurchasePropensity
from ecomops.ops.risk import FakeOrderRisk

CFG = EngineConfig(n_bits=16, rolling_window=200, eval_every=50)
H = FeatureHasher(n_bits=16)


def _view(i, buyer, product, ts):
    return View(event_id=f"v{i}", merchant_id="m", ts=ts, buyer_id=buyer, product_id=product)


def _order(i, buyer, product, ts, **kw):
    return Order(event_id=f"o{i}", merchant_id="m", ts=ts, order_id=f"o{i}", buyer_id=buyer,
                 lines=[OrderLine(product_id=product, quantity=1, unit_price=10.0)], **kw)


def test_propensity_joins_orders_to_views_and_learns_all_at_the_horizon():
    t = PurchasePropensity(CFG)
    t.observe(_view(1, "b1", "p1", 0.0))
    t.observe(_view(2, "b1", "p2", 10.0))
    t.observe(_view(3, "b1", "p1", 20.0))  # same pair again: still one pending example
    t.observe(_order(4, "b1", "p1", 60.0))
    r = t.flush(H, position=4)
    # the positive is known, but waits for its horizon like the negative will
    assert r.scored == 2 and r.labels.tolist() == []
    t.observe(_view(5, "b9", "p9", 3605.0))  # past b1/p1's horizon, not yet b1/p2's
    assert t.flush(H, position=5).labels.tolist() == [1.0]
    t.observe(_view(6, "b9", "p8", 4000.0))  # b1/p2 expires as a negative; b9/p9 waits
    r = t.flush(H, position=6)
    assert r.labels.tolist() == [0.0] and r.scored == 1


def test_propensity_learns_repeat_buyers():
    t = PurchasePropensity(CFG)
    rng = np.random.default_rng(0)
    ts, i = 0.0, 0
    for k in range(600):
        product = f"p{k % 50}"  # a pair comes back every 2 h, after its 1 h horizon
        for buyer in ("loyal", "browser"):
            ts += 60
            i += 1
            t.observe(_view(i, buyer, product, ts))
            if buyer == "loyal" or rng.random() < 0.05:
                i += 1
                t.observe(_order(i, buyer, product, ts + 30))
        t.flush(H, position=i)
    loyal = t.model.predict_one(*H.hash_one(t.features(_view(0, "loyal", "p7", ts + 100))))
    browser = t.model.predict_one(*H.hash_one(t.features(_view(0, "browser", "p7", ts + 100))))
    assert loyal > 0.8 > 0.2 > browser


def test_risk_learns_from_feedback_and_device_sharing():
    t = FakeOrderRisk(CFG)
    ts, i = 0.0, 0
    for k in range(300):
        ts += 120
        i += 1
        # a ring: many fresh accounts on one device
        ring = _order(i, f"r{k}", "p1", ts, account_id=f"r{k}", device_id="dev-ring", account_created_ts=ts - 3600)
        t.observe(ring)
        t.observe(Feedback(event_id=f"f{i}", merchant_id="m", ts=ts + 1, target_id=ring.event_id, model="risk",
                           verdict="fake_order", label=1.0))
        i += 1
        legit = _order(i, f"b{k % 20}", "p2", ts + 5, account_id=f"b{k % 20}", device_id=f"dev-{k % 20}",
                       account_created_ts=0.0)
        t.observe(legit)
        t.observe(Feedback(event_id=f"f{i}", merchant_id="m", ts=ts + 6, target_id=legit.event_id, model="risk",
                           verdict="legit", label=0.0))
        t.flush(H, position=i)
    feats = t.features(_order(0, "new", "p1", ts + 200, account_id="new", device_id="dev-ring",
                              account_created_ts=ts))
    assert feats["device_accounts"] != "0"  # the device was seen with many accounts
    s = t.evaluation.summary()
    assert s["n"] == 600 and s["cum_auc"] > 0.9
    assert t.model.predict_one(*H.hash_one(feats)) > 0.8


def test_task_state_roundtrip_is_exact():
    t = FakeOrderRisk(CFG)
    for k in range(50):
        t.observe(_order(k, f"b{k}", "p", float(k), device_id=f"d{k % 3}"))
    t.flush(H, position=50)
    u = FakeOrderRisk(CFG)
    u.load_state_dict(t.state_dict())
    assert u.model.digest() == t.model.digest()
    assert len(u.labels) == len(t.labels) == 50
    assert u.features(_order(99, "x", "p", 60.0, device_id="d1")) == t.features(_order(99, "x", "p", 60.0, device_id="d1"))
