"""Intent classifier (toy data, online correction, persistence) and PII redaction."""

from __future__ import annotations

import numpy as np

from ecomops.ops.service import IntentClassifier, redact


def test_learns_toy_data_deterministically(toy_data, trained):
    texts, labels = toy_data
    assert trained.predict(texts) == labels
    again = IntentClassifier(n_bits=14, epochs=30, seed=0).fit(*toy_data)
    assert np.array_equal(again.W, trained.W)
    assert trained.predict_one("where is my parcel, it has not arrived") == "track_order"
    assert trained.predict_one("do you accept paypal payments") == "payment_methods"
    p = trained.predict_proba_one("can I return this item")
    assert abs(sum(p.values()) - 1) < 1e-5 and max(p, key=p.get) == "return_policy"


def test_online_correction_flips_prediction(trained):
    msg = "my parcel never arrived and I am furious"
    before = trained.predict_one(msg)
    target = "complaint" if before != "complaint" else "track_order"
    trained.learn_one(msg, target)
    assert trained.predict_one(msg) == target
    trained.learn_one("can I exchange it for another size", "exchange")  # a new intent
    assert "exchange" in trained.classes and trained.predict_one("can I exchange it for another size") == "exchange"


def test_state_roundtrip(trained):
    clone = IntentClassifier.from_bytes(trained.to_bytes())
    assert clone.classes == trained.classes
    msgs = ["track my parcel", "refund window", "I hate this"]
    assert np.allclose(clone.predict_proba(msgs), trained.predict_proba(msgs))
    assert IntentClassifier().top("anything") == ("unknown", 0.0)


def test_redact_personal_data_keeps_order_ids():
    s = ("email Li.Lei+shop@mail.example.cn, mobile 138 1234 5678 / +86 13912345678, "
         "US (415) 555-0132, ID 11010119900307663X, card 4111-1111-1111-1111, order 113542617735902, "
         "订单号 202405061234567890")
    r = redact(s)
    for raw in ("Li.Lei", "1234 5678", "13912345678", "555-0132", "11010119900307663X", "4111-1111"):
        assert raw not in r, raw
    assert r.count("[PHONE]") == 3 and "[EMAIL]" in r and "[ID]" in r and "[CARD]" in r
    assert "113542617735902" in r and "202405061234567890" in r
    assert redact("SKU 12345, 3 items, total 199.00") == "SKU 12345, 3 items, total 199.00"
