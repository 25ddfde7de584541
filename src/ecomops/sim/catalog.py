"""Merchants and their products, built once from the seed.

Each merchant sells one or two of the starting categories; a category launch in the schedule
adds a new one mid-stream (its products exist from the start but are listed and sold only
from the launch on). Products carry what the hot loop needs: id, title, price, pack size,
popularity, season and certification needs.

>>> import random
>>> from ecomops.sim.catalog import build_catalog
>>> merchants, products = build_catalog(random.Random(0), n_merchants=4, per_category=6,
...                                     launches=[("home_appliances", 1, 100.0)])
>>> [m.merchant_id for m in merchants]
['m01', 'm02', 'm03', 'm04']
>>> ha = [p for p in products if p.category == "home_appliances"]
>>> len(ha), {p.merchant for p in ha}, ha[0].available_ts
(6, {1}, 100.0)
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from .categories import CATEGORIES, Category

INITIAL_CATEGORIES = ("clothing", "electronics", "food", "office_supplies", "industrial_parts", "packaging")
_CITIES = ("深圳", "义乌", "广州", "杭州", "苏州", "宁波", "东莞", "青岛", "佛山", "温州", "厦门", "成都")
_WORDS = ("华信", "恒达", "联创", "锦程", "宏远", "新科", "汇通", "瑞丰", "金源", "泰和", "博雅", "众诚")
_CATEGORY_ZH_TRADE = {"clothing": "服饰", "electronics": "电子", "food": "食品", "office_supplies": "文具",
                      "industrial_parts": "机电", "packaging": "包装", "home_appliances": "电器", "furniture": "家具"}


class Product:
    __slots__ = ("index", "product_id", "merchant", "category", "item", "brand", "spec", "title", "price",
                 "pack", "popularity", "appeal", "season", "needs_ccc", "available_ts", "attributes")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)

    def __repr__(self) -> str:
        return f"Product({self.product_id!r}, {self.title!r}, {self.price})"


@dataclass
class Merchant:
    index: int
    merchant_id: str
    name: str
    categories: list[str]  # all it will ever sell, launches included
    initial_categories: list[str]
    safety_factor: float  # how generously it stocks: below ~1 it runs out more often
    lead_time_days: float
    warehouse_id: str
    products: list[int] = field(default_factory=list)

    def summary(self) -> dict:
        return {"merchant_id": self.merchant_id, "name": self.name, "categories": self.categories,
                "initial_categories": self.initial_categories, "n_products": len(self.products),
                "safety_factor": round(self.safety_factor, 3), "lead_time_days": round(self.lead_time_days, 2)}


def product_attributes(rng: random.Random, cat: Category, item, spec: str) -> dict[str, str]:
    """Values for every required attribute of the category (listings may later drop one)."""
    pick = rng.choice
    values = {
        "material": pick(("棉 cotton", "涤纶 polyester", "304不锈钢", "ABS", "牛皮纸 kraft", "钢木", "PP", "铝合金")),
        "size_range": pick(("S-XXL", "M-4XL", "均码 one size")),
        "color": pick(("黑 black", "白 white", "灰 grey", "蓝 navy", "多色 mixed")),
        "model": spec.split()[0] + "-" + str(rng.randint(100, 999)),
        "warranty_months": str(pick((6, 12, 24, 36))),
        "shelf_life_days": str(pick((90, 180, 270, 365, 540))),
        "origin": pick(("中国 浙江", "中国 广东", "中国 山东", "新西兰 NZ", "中国 云南")),
        "net_weight": pick(("500g", "1kg", "1.5kg", "5kg", "12L")),
        "pack_qty": str(pick((10, 12, 50, 100, 500))),
        "spec": spec,
        "standard": pick(("GB/T 276", "DIN 933", "ISO 4017", "IEC 60947")),
        "dimensions": pick(("30x20x15cm", "60x40x40cm", "1400x700x750mm", "50x100m")),
        "power_w": str(pick((45, 800, 1200, 1800, 2200))),
        "voltage": pick(("220V", "220V/50Hz", "110-240V")),
    }
    return {k: values[k] for k in cat.required_attributes}


def _title(rng: random.Random, brand: str, item, spec: str) -> str:
    # sellers order the words differently; mixed Chinese/English is the norm on B2B sites
    form = rng.random()
    if form < 0.4:
        return f"{brand} {spec} {item.zh} {item.en}"
    if form < 0.75:
        return f"{brand} {item.zh} {item.en} {spec}"
    return f"【批发】{brand} {item.zh} {spec} {item.en} wholesale"


def build_catalog(rng: random.Random, n_merchants: int, per_category: int,
                  launches: list[tuple[str, int, float]]) -> tuple[list[Merchant], list[Product]]:
    """``launches``: (category, merchant index, ts from which it is sold)."""
    merchants: list[Merchant] = []
    for k in range(n_merchants):
        primary = INITIAL_CATEGORIES[k % len(INITIAL_CATEGORIES)]
        cats = [primary]
        if rng.random() < 0.5:
            cats.append(rng.choice([c for c in INITIAL_CATEGORIES if c != primary]))
        name = f"{rng.choice(_CITIES)}市{rng.choice(_WORDS)}{_CATEGORY_ZH_TRADE[primary]}有限公司"
        merchants.append(Merchant(
            index=k, merchant_id=f"m{k + 1:02d}", name=name, categories=list(cats), initial_categories=list(cats),
            safety_factor=rng.uniform(0.8, 1.8), lead_time_days=rng.uniform(3.0, 12.0), warehouse_id=f"wh-{k + 1:02d}",
        ))
    launch_at = {}
    for cat, m, ts in launches:
        if cat not in merchants[m].categories:
            merchants[m].categories.append(cat)
        launch_at[(m, cat)] = ts
    products: list[Product] = []
    for m in merchants:
        for cat_name in m.categories:
            cat = CATEGORIES[cat_name]
            items = list(cat.items)
            ranks = list(range(per_category))
            rng.shuffle(ranks)
            for j in range(per_category):
                item = items[j % len(items)]
                brand, spec = rng.choice(cat.brands), rng.choice(item.specs)
                price = math.exp(rng.uniform(math.log(item.price_lo), math.log(item.price_hi)))
                p = Product(
                    index=len(products), product_id=f"P{m.index + 1:02d}-{len(m.products) + 1:04d}",
                    merchant=m.index, category=cat_name, item=item, brand=brand, spec=spec,
                    title=_title(rng, brand, item, spec), price=round(price, 2),
                    pack=rng.choice(cat.pack_sizes), popularity=1.0 / (ranks[j] + 1) ** 0.9,
                    # how well a look turns into a purchase (price, photos, MOQ): not the same as traffic
                    appeal=min(rng.lognormvariate(-0.245, 0.7), 6.0),
                    season=item.season, needs_ccc=item.needs_ccc,
                    available_ts=launch_at.get((m.index, cat_name), 0.0),
                    attributes=product_attributes(rng, cat, item, spec),
                )
                m.products.append(p.index)
                products.append(p)
    return merchants, products
