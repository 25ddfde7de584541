"""Listings as merchants publish them, some breaking the platform's rules on purpose.

The truth of a listing is exactly the set of rules its content breaks, by construction:

- ``missing_certification``: an electronics product that needs China Compulsory Certification
  (chargers, power banks, adapters, smartphones, laptops) listed without "CCC";
- ``prohibited_claim``: an absolute claim (最, 第一, 国家级, 顶级, best, No.1, number one) in the
  title or description;
- ``wrong_category``: listed under a category other than the product's own;
- ``price_anomaly``: price far outside the category's range (below half its minimum or above
  twice its maximum);
- ``missing_attribute``: one of the category's required attributes left out.

>>> import random
>>> from ecomops.sim.catalog import build_catalog
>>> from ecomops.sim.listings import make_listing
>>> rng = random.Random(1)
>>> _, products = build_catalog(rng, 2, 5, [])
>>> body, truth = make_listing(rng, products[0], violation_rate=0.0)
>>> truth["violations"], body["category"] == products[0].category, body["type"]
([], True, 'listing')
"""

from __future__ import annotations

import random

from .categories import CATEGORIES, CATEGORY_NAMES, PROHIBITED_PHRASES

VIOLATION_CODES = ("missing_certification", "prohibited_claim", "wrong_category", "price_anomaly", "missing_attribute")
_CODE_WEIGHTS = (0.22, 0.28, 0.15, 0.17, 0.18)
_DESC_OPENERS = (
    "厂家直供，支持批量采购与定制。", "Factory direct, bulk orders welcome.", "现货供应，48小时内发货。",
    "Stock available, ships within 48h.", "支持开具增值税专用发票。", "VAT invoice available for companies.",
)
_DESC_BODIES = (
    "{item_zh}，{spec}，适合企业采购、门店补货。", "{item_en} ({spec}) for offices, factories and retailers.",
    "规格：{spec}；起订量 {pack} 件，量大从优。", "MOQ {pack} units, tiered pricing for larger volumes.",
    "品牌：{brand}；质保与售后由商家提供。", "Brand: {brand}. After-sales service by the seller.",
)


# Smartphones and laptops joined the simulator's CCC list after its streams and the results built on
# them (README, benchmarks/results) were published. Every draw from the market's random stream
# shifts all later events, so for these items (Item.ccc_added_later) the main stream is drawn
# exactly as before, as if they needed no CCC, and whether a violating listing also lacks "CCC" is
# decided by a private random.Random seeded from the product id and the listing's own gate draw:
# deterministic (str seeds hash with SHA-512, whatever PYTHONHASHSEED), different for every
# listing, and invisible to the main stream. False: such items are listed as before (no CCC).
LATE_CCC = True


def _late_ccc(product) -> bool:
    return LATE_CCC and product.needs_ccc and product.item.ccc_added_later


def _pick_codes(rng: random.Random, product) -> list[str]:
    # draws on the main stream: CCC items added later count as not needing CCC here (see LATE_CCC)
    needs_ccc = product.needs_ccc and not product.item.ccc_added_later
    # products that need CCC are the ones sellers most often list without it
    codes = ["missing_certification"] if needs_ccc and rng.random() < 0.5 else []
    for _ in range(1 if rng.random() < 0.85 else 2):
        u, acc = rng.random(), 0.0
        for code, w in zip(VIOLATION_CODES, _CODE_WEIGHTS):
            acc += w
            if u < acc:
                break
        if code == "missing_certification" and not needs_ccc:
            code = "prohibited_claim" if rng.random() < 0.5 else "missing_attribute"
        if code not in codes:
            codes.append(code)
    return sorted(codes)


def make_listing(rng: random.Random, product, violation_rate: float, merchant_id: str = "") -> tuple[dict, dict]:
    """Event body (no event_id/ts yet) and truth ``{"violations": [codes], "true_category": ...}``."""
    cat = CATEGORIES[product.category]
    gate = rng.random()
    codes = _pick_codes(rng, product) if gate < violation_rate else []
    late = _late_ccc(product)
    # as for the other CCC items, about half the violating listings lack it, drawn off the main
    # stream; clean listings stay clean, so the share of violating listings is unchanged
    if late and codes and random.Random(f"ccc:{product.product_id}:{gate!r}").random() < 0.5:
        codes = sorted(codes + ["missing_certification"])
    title = product.title
    fmt = {"item_zh": product.item.zh, "item_en": product.item.en, "spec": product.spec,
           "pack": product.pack, "brand": product.brand}
    desc = rng.choice(_DESC_OPENERS) + " " + " ".join(b.format(**fmt) for b in rng.sample(_DESC_BODIES, 3))
    if "prohibited_claim" in codes:
        claim = rng.choice(PROHIBITED_PHRASES)
        if rng.random() < 0.5:
            title = f"{title} {claim}"
        else:
            desc = f"{claim}！{desc}"
    category = product.category
    if "wrong_category" in codes:
        category = rng.choice([c for c in CATEGORY_NAMES if c != product.category])
    price = round(product.price * rng.uniform(0.95, 1.05), 2)
    if "price_anomaly" in codes:
        if rng.random() < 0.5:
            price = round(cat.price_min * rng.uniform(0.02, 0.3), 2)
        else:
            price = round(cat.price_max * rng.uniform(3.0, 12.0), 2)
    attrs = dict(product.attributes)
    if "missing_attribute" in codes:
        attrs.pop(rng.choice(cat.required_attributes))
    certs = []
    if (late or (product.needs_ccc and not product.item.ccc_added_later)) and "missing_certification" not in codes:
        certs.append("CCC")
    certs += [c for c in cat.optional_certs if rng.random() < 0.4]
    body = {"type": "listing", "event_id": None, "merchant_id": merchant_id, "ts": None,
            "product_id": product.product_id, "title": title, "category": category, "price": price,
            "description": desc, "attributes": attrs, "certifications": certs, "currency": "CNY"}
    return body, {"violations": codes, "true_category": product.category}
