"""One pure function per reason code: ``(rule, listing fields, ...) -> list[Finding]``.

Texts come in already normalised (:func:`ecomops.ops.audit.rules.normalize`). A finding's
``key`` identifies the rule that fired precisely enough for reviewers' feedback to suppress it
(``prohibited_claim:zui:最新`` rather than every 最). Nothing here keeps state.

>>> from ecomops.ops.audit.rules import load_pack
>>> rule = load_pack().rules["prohibited_claim"]
>>> [f.key for f in prohibited_claim(rule, "best seller! 最小起订量 10 件")]
['prohibited_claim:best:best']
>>> prohibited_claim(rule, "bestow 最小起订量 10 件")
[]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping

from .rules import Rule, normalize

__all__ = ["Finding", "missing_certification", "prohibited_claim", "detect_categories", "wrong_category",
           "missing_attribute", "price_band", "robust_z", "price_outlier"]

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Finding:
    code: str
    key: str  # what feedback keys on
    message: str


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"


def missing_certification(rule: Rule, title: str, certifications: Iterable[str],
                          suppressed: frozenset[str] = frozenset()) -> list[Finding]:
    """A product type of the CCC catalogue named in the title, and no accepted CCC mark listed."""
    have = {"".join(normalize(c).split()) for c in certifications}
    if have & rule.accepted:
        return []
    for pat in rule.patterns:
        key = f"missing_certification:{pat.id}"
        if key in suppressed:
            continue
        m = pat.search(title)
        if m:
            listed = ", ".join(sorted(certifications)) or "none"
            return [Finding("missing_certification", key,
                            f"'{m.group(0)}' is a {pat.label} product in the CCC catalogue and needs China "
                            f"Compulsory Certification (CCC/3C); certifications listed: {listed}")]
    return []


def prohibited_claim(rule: Rule, text: str, suppressed: frozenset[str] = frozenset()) -> list[Finding]:
    """Absolute claims; ``allow`` phrases (最小起订量 ...) are masked out first. One finding per pattern."""
    if rule.allow is not None:
        text = rule.allow.sub(lambda m: " " * len(m.group(0)), text)
    out = []
    for pat in rule.patterns:
        for m in pat.regex.finditer(text):
            phrase = m.group(0)
            if len(phrase) == 1 and _is_cjk(phrase):  # 最 + what it qualifies: 最新, 最低价
                phrase = text[m.start(): m.end() + 2].strip()
            key = f"prohibited_claim:{pat.id}:{phrase}"
            if key in suppressed or f"prohibited_claim:{pat.id}" in suppressed:
                continue
            ctx = text[max(0, m.start() - 8): m.end() + 8].strip()
            out.append(Finding("prohibited_claim", key,
                               f"absolute claim '{phrase}' ({pat.label}) in \"…{ctx}…\""))
            break
    return out


def detect_categories(rule: Rule, title: str) -> tuple[set[str], str]:
    """Categories whose product-type terms the title names, longest match first (a term inside a
    longer matched term does not count); also the longest matched term (a product-type key)."""
    hits = []
    for pat in rule.patterns:
        for m in pat.regex.finditer(title):
            hits.append((m.end() - m.start(), m.start(), m.end(), pat.category, m.group(0)))
    hits.sort(key=lambda h: (-h[0], h[1]))
    taken: list[tuple[int, int]] = []
    cats: set[str] = set()
    best = ""
    for _, a, b, cat, term in hits:
        if any(a < y and x < b for x, y in taken):
            continue
        taken.append((a, b))
        cats.add(cat)
        best = best or term
    return cats, best


def wrong_category(rule: Rule, title: str, category: str,
                   suppressed: frozenset[str] = frozenset()) -> tuple[list[Finding], str]:
    """Flag a title naming only other categories' products. Returns (findings, effective category):
    the category the product really belongs to when exactly one is detected, else the listed one."""
    cats, _ = detect_categories(rule, title)
    if not cats or category in cats:
        return [], category
    guess = sorted(cats)[0] if len(cats) == 1 else category
    key = f"wrong_category:{category}->{'/'.join(sorted(cats))}"
    if key in suppressed or "wrong_category" in suppressed:
        return [], category
    names = ", ".join(f"{c} ({rule.category_zh.get(c, c)})" for c in sorted(cats))
    return [Finding("wrong_category", key,
                    f"listed under '{category}' but the title names a product of {names}")], guess


def missing_attribute(rule: Rule, attributes: Mapping, category: str,
                      suppressed: frozenset[str] = frozenset()) -> list[Finding]:
    """One finding per required attribute of ``category`` that is absent or blank."""
    out = []
    for attr in rule.required.get(category, ()):
        val = attributes.get(attr)
        if val is None or (isinstance(val, str) and not val.strip()):
            key = f"missing_attribute:{category}:{attr}"
            if key not in suppressed:
                out.append(Finding("missing_attribute", key,
                                   f"required attribute '{attr}' of category '{category}' is missing"))
    return out


def price_band(rule: Rule, price: float, category: str) -> Finding | None:
    """Outside the pack's static band for the category (``min*low_factor``, ``max*high_factor``)."""
    band = rule.bands.get(category)
    if band is None:
        return None
    lo, hi = band[0] * rule.params["low_factor"], band[1] * rule.params["high_factor"]
    if lo <= price <= hi:
        return None
    side = "below" if price < lo else "above"
    return Finding("price_anomaly", f"price_anomaly:band:{category}",
                   f"price {price:g} is {side} the '{category}' category range "
                   f"({lo:g} to {hi:g}, from its band {band[0]:g}-{band[1]:g})")


def robust_z(log_prices, x: float, min_scale: float) -> tuple[float, float]:
    """(robust z of ``x``, median) against a sample of log prices: (x - median) / (1.4826 MAD)."""
    vals = sorted(log_prices)
    n = len(vals)
    med = (vals[(n - 1) // 2] + vals[n // 2]) / 2
    dev = sorted(abs(v - med) for v in vals)
    mad = (dev[(n - 1) // 2] + dev[n // 2]) / 2
    return (x - med) / max(MAD_TO_SIGMA * mad, min_scale), med


def price_outlier(rule: Rule, price: float, key: str, log_prices, category: str) -> Finding | None:
    """Learned check: |robust z| of log(price) against the product type's recent prices."""
    if len(log_prices) < rule.params["min_count"]:
        return None
    z, med = robust_z(log_prices, math.log(price), rule.params["min_scale"])
    if abs(z) <= rule.params["threshold"]:
        return None
    return Finding("price_anomaly", f"price_anomaly:learned:{key}",
                   f"price {price:g} is far from the typical {math.exp(med):.2f} for '{key}' in '{category}' "
                   f"(robust z {z:+.1f}, over {len(log_prices)} listings)")
