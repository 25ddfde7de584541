"""The learned category classifier, its use by the auditor, KB citations, the benchmark's audit section."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from ecomops.ops.audit import Auditor, CategoryClassifier, load_pack_into_kb, regulation_doc_id

TOY = [
    ("cotton t-shirt for men", "clothing"), ("women's summer dress", "clothing"), ("denim jeans slim fit", "clothing"),
    ("wool winter jacket", "clothing"), ("polo shirt short sleeve", "clothing"), ("cycling shorts women", "clothing"),
    ("usb charger 20w fast", "electronics"), ("power bank 10000mah", "electronics"),
    ("bluetooth earbuds wireless", "electronics"), ("laptop 14 inch 16gb", "electronics"),
    ("usb-c cable 1m braided", "electronics"), ("smartphone 128gb dual sim", "electronics"),
    ("mixed nuts gift box", "food"), ("instant coffee 200g jar", "food"), ("uht milk 1l carton", "food"),
    ("cooking oil 5l bottle", "food"), ("mineral water 24 bottles", "food"), ("snack gift pack assorted", "food"),
]


def _toy(seed=0, epochs=8):
    clf = CategoryClassifier(n_bits=14, seed=seed)
    clf.learn_many([t for t, _ in TOY], [c for _, c in TOY], epochs=epochs)
    return clf


def test_classifier_learns_toy_and_is_deterministic(tmp_path):
    a, b = _toy(), _toy()
    assert all(a.predict_one(t) == c for t, c in TOY)
    assert a.predict_one("slim fit cotton shirt") == "clothing"
    assert a.predict_one("fast usb charger cable") == "electronics"
    assert a.predict_one("coffee gift box") == "food"
    pa, pb = a.predict_proba_one("wireless earbuds"), b.predict_proba_one("wireless earbuds")
    assert pa == pb and abs(sum(pa.values()) - 1) < 1e-5
    # a listing dict reads title + description
    assert a.predict_one({"title": "jar", "description": "instant coffee"}) == "food"
    # state round trip (arrays + JSON config, and an .npz file)
    c = CategoryClassifier.from_state(a.state_dict())
    assert c.predict_proba_one("wool jacket") == pytest.approx(a.predict_proba_one("wool jacket"))
    a.save(tmp_path / "clf.npz")
    d = CategoryClassifier.load(tmp_path / "clf.npz")
    assert d.classes == a.classes and d.predict_one("power bank") == "electronics"
    assert CategoryClassifier().predict_proba_one("anything") == {}


def test_online_correction_changes_prediction():
    clf = _toy()
    text = "bamboo charcoal bag"  # nothing the model knows
    before = clf.predict_one(text)
    target = "packaging" if before != "packaging" else "food"
    steps = clf.correct(text, target)
    assert clf.predict_one(text) == target and 1 <= steps <= 20
    assert "packaging" in clf.classes or target == "food"
    # the toy set is still known
    assert sum(clf.predict_one(t) == c for t, c in TOY) >= len(TOY) - 1


def _electronics_listing(listing, **kw):
    d = dict(title="Anker 蓝牙耳机 bluetooth earbuds", category="electronics",
             attributes={"model": "A1", "warranty_months": "12", "color": "black"}, certifications=[], price=199.0)
    d.update(kw)
    return listing(**d)


def test_auditor_flags_wrong_category_via_model(listing):
    clf = CategoryClassifier(n_bits=14)
    clf.learn_many(["reusable shopping zorblat", "zorblat tote", "zorblat set of 3",
                    "deli stapler office", "gel pen 12 pack", "sticky notes 76mm"],
                   ["packaging", "packaging", "packaging", "office_supplies", "office_supplies", "office_supplies"],
                   epochs=10)
    a = Auditor(category_model=clf, category_threshold=0.5)
    # a word the keyword rule does not know: only the model can tell
    d = listing(listing_id="L1", title="zorblat tote large", description="")
    v = a.audit(d)
    assert "wrong_category" in v.codes and "packaging" in v.to_dict()["reasons"][0]["message"]
    assert "wrong_category" not in Auditor().audit(d).codes  # keyword rule alone misses it
    # correctly listed: no flag; a category the model never saw falls back to the keyword rule
    assert "wrong_category" not in a.audit(listing(listing_id="L2", title="zorblat tote", description="",
                                                   category="packaging", attributes={"material": "pp",
                                                                                     "dimensions": "1"})).codes
    assert "wrong_category" in a.audit(_electronics_listing(listing, listing_id="L3", category="food")).codes
    # reviewer overturns L1: the model learns it is office supplies
    assert a.learn_feedback("L1", "wrong_category", False)
    assert clf.predict_one(clf.text_of(d)) == "office_supplies"
    assert "wrong_category" not in a.audit(dict(d, listing_id="L4")).codes
    # the reviewer names the right category for a missed one
    m = listing(listing_id="L5", title="deli zorblat", description="")
    a.audit(m)
    assert a.learn_feedback("L5", "wrong_category", True, category="packaging")
    assert clf.predict_one(clf.text_of(m)) == "packaging"
    # the existing behaviour without a model is untouched, and state round-trips with the model passed in
    st = a.state_dict()
    assert st["settings"]["category_threshold"] == 0.5
    b = Auditor.from_state(st, category_model=clf)
    assert b.category_model is clf and b.category_threshold == 0.5


@pytest.mark.parametrize("dense", [False, True], ids=["bm25", "dense"])
def test_kb_citation_follows_newest_regulation(tmp_path, listing, dense, request):
    encoder = request.getfixturevalue("encoder") if dense else None
    from ecomops.knowledge.base import KnowledgeBase
    from ecomops.knowledge.loaders import Document
    from ecomops.store import Store

    store = Store.open(tmp_path / "state")
    try:
        kb = KnowledgeBase(store, "m01", encoder=encoder)
        a = Auditor(kb=kb)
        loaded = load_pack_into_kb(a.pack, kb)
        assert (regulation_doc_id("prohibited_claim"), 1) in loaded
        assert {d.kind for d in kb.documents()} == {"regulation"}
        d = listing(title="Deli 订书机 stapler 全网最低价")
        r = a.audit(d).to_dict()["reasons"][0]
        assert r["code"] == "prohibited_claim" and r["citation"] == a.pack.rules["prohibited_claim"].citation
        kb.add_documents([Document("rule:prohibited_claim", "广告法 (2025 修订)",
                                   "《广告法》（2025年修订）第九条：不得使用最高级用语。", kind="regulation")])
        r = a.audit(dict(d, listing_id="L9")).to_dict()["reasons"][0]
        assert r["citation"] == "《广告法》（2025年修订）第九条：不得使用最高级用语。"
        # the KB retrieves only the current version
        hits = kb.search("广告法 最高级用语 第九条", k=5)
        assert [h.version for h in hits if h.doc_id == "rule:prohibited_claim"] == [2]
        # a code without a KB document falls back to the pack's citation
        v = a.audit(listing(listing_id="L10", attributes={"material": "ABS"}))
        assert v.to_dict()["reasons"][0]["citation"] == a.pack.rules["missing_attribute"].citation
    finally:
        store.close()


def _bench():
    path = Path(__file__).resolve().parents[3] / "benchmarks" / "language.py"
    spec = importlib.util.spec_from_file_location("_bench_language_audit", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _tiny_catalogue(n_per=60):
    import random

    rng = random.Random(0)
    kinds = {
        "Clothing": ["Women's Cycling Shorts", "Men's Cotton Kurta", "Girls Printed Dress", "Boys Denim Jeans"],
        "Footwear": ["Women's Bellies", "Men's Running Shoes", "Casual Sandals", "Leather Loafers"],
        "Mobiles & Accessories": ["Back Cover for Galaxy", "Screen Guard for iPhone", "Mobile Pouch",
                                  "Wall Charger 2A"],
    }
    brands = ["Alisha", "Bata", "Nike", "Ascend", "Kolor", "Zara", "Puma"]
    rows = []
    for cat, names in kinds.items():
        for i in range(n_per):
            name = rng.choice(names)
            path = f"{cat} >> Sub >> {'Chargers' if 'Charger' in name else 'Things'} >> x"
            rows.append({"uniq_id": f"{cat}{i}", "title": f"{rng.choice(brands)} {name} {i}", "path": path,
                         "category": cat, "price": round(rng.uniform(200, 900), 0), "brand": rng.choice(brands)})
    return rows


def test_benchmark_audit_section_tiny():
    bench = _bench()
    res = bench.audit_section(None, seed=0, sim_events=30_000, catalogue=_tiny_catalogue(), n_eval=60,
                              min_category=20, kb_latency=True)
    sim = res["sim"]
    assert sim["eval_listings"] > 0 and set(sim["keyword_rules"]["per_code"]) == set(bench.CODES)
    assert sim["with_classifier"]["latency_us"]["p95"] >= sim["with_classifier"]["latency_us"]["p50"] > 0
    fk = res["flipkart"]
    assert fk["eval_listings"] > 0 and fk["categories"] == ["Clothing", "Footwear", "Mobiles & Accessories"]
    assert fk["with_classifier"]["listings"] == fk["eval_listings"]
    assert fk["classifier"]["accuracy_top_category"] > 0.5  # chance is 1/3
    pc = fk["with_classifier"]["per_code"]
    assert pc["missing_attribute"]["recall"] in (None, 1.0) and pc["prohibited_claim"]["precision"] in (None, 1.0)
    assert "with_classifier_and_kb_citations" in fk
    val = fk["validation"]  # thresholds selected on a split of the training rows
    assert val["price_threshold"] in bench.PRICE_GRID and val["claimed_threshold"] in bench.CLAIMED_GRID
    assert fk["price_model"]["threshold"] == val["price_threshold"]
    # no catalogue, no data: the Flipkart part says it was skipped
    assert "skipped" in bench.audit_section(None, seed=0, sim_events=5_000, kb_latency=False)["flipkart"]


def test_benchmark_injection_truth():
    import random

    bench = _bench()
    rng = random.Random(1)
    base = bench.to_listing({"title": "Alisha Shorts", "path": "Clothing >> x", "category": "Clothing",
                             "price": 400.0, "brand": "Alisha"}, 0)
    seen = set()
    for _ in range(300):
        d, codes = bench.inject(rng, base, False, ["Clothing", "Footwear"], rate=1.0)
        seen |= codes
        assert ("wrong_category" in codes) == (d["category"] != "Clothing")
        assert ("price_anomaly" in codes) == (d["price"] != 400.0)
        assert ("missing_attribute" in codes) == (not d["attributes"].get("brand", "").strip())
        assert ("prohibited_claim" in codes) == (d["title"] != "Alisha Shorts")
        assert "missing_certification" not in codes
    assert seen == {"prohibited_claim", "wrong_category", "price_anomaly", "missing_attribute"}
    d, codes = bench.inject(random.Random(3), dict(base, certifications=["CCC"]), True, ["Clothing", "Footwear"],
                            rate=1.0)
    assert ("missing_certification" in codes) == (d["certifications"] == [])
