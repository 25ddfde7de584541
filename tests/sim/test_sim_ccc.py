"""Smartphones and laptops need CCC, without moving any other event of a published stream."""

from __future__ import annotations

import hashlib
import json

from ecomops.sim import SimConfig, Simulator
from ecomops.sim import listings as listings_mod

N = 200_000
LATE_ITEMS = ("smartphone", "laptop")


def _digest(obj) -> str:
    return hashlib.sha1(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def _summarise(cfg: SimConfig):
    """Per-event digests of everything but listings, and listings without their certifications."""
    sim = Simulator(cfg)
    products = {p.product_id: p for p in sim.products}
    others, listings = [], []
    for ev, truth in sim.stream(N):
        if ev["type"] == "listing":
            body = {k: v for k, v in ev.items() if k != "certifications"}
            item = products[ev["product_id"]].item.en
            listings.append((_digest(body), item, "CCC" in ev["certifications"], set(truth["violations"])))
        else:
            others.append((ev["type"], ev["event_id"], _digest(ev), _digest(truth)))
    return others, listings


def test_new_ccc_items_leave_the_main_random_stream_alone(monkeypatch):
    cfg = SimConfig(seed=7)
    new_others, new_listings = _summarise(cfg)
    monkeypatch.setattr(listings_mod, "LATE_CCC", False)  # the simulator as it was before
    old_others, old_listings = _summarise(cfg)

    # every non-listing event (type, id, buyer, product, price, ...) and its truth is unchanged
    assert len(new_others) == len(old_others) > 0.9 * N
    assert new_others == old_others
    # listings are the same events in the same places, only their CCC and its truth may differ
    assert [x[:2] for x in new_listings] == [x[:2] for x in old_listings]

    late = missing = 0
    for (_, item, has_ccc, codes), (_, _, old_ccc, old_codes) in zip(new_listings, old_listings):
        assert codes - {"missing_certification"} == old_codes - {"missing_certification"}
        if item in LATE_ITEMS:
            late += 1
            assert not old_ccc and "missing_certification" not in old_codes  # before: no CCC at all
            assert has_ccc == ("missing_certification" not in codes)
            # only listings that broke a rule before may lack CCC now: the violation share stands
            assert not ("missing_certification" in codes and not old_codes)
            missing += not has_ccc
        else:
            assert (has_ccc, codes) == (old_ccc, old_codes)
    assert late >= 30
    assert 3 <= missing < late / 2, (missing, late)


def test_ccc_decision_is_deterministic_and_varies_between_listings():
    import random

    from ecomops.sim.catalog import build_catalog
    from ecomops.sim.listings import make_listing

    _, products = build_catalog(random.Random(3), 2, 40, [])
    phones = [p for p in products if p.item.en in LATE_ITEMS]
    assert phones and all(p.needs_ccc for p in phones)

    def run():
        rng = random.Random(11)
        return [make_listing(rng, p, violation_rate=1.0) for p in phones for _ in range(5)]

    first = run()
    assert first == run()
    missing = [("missing_certification" in t["violations"]) for _, t in first]
    assert any(missing) and not all(missing)
    for body, truth in first:
        assert ("CCC" in body["certifications"]) != ("missing_certification" in truth["violations"])
