"""The listing auditor: rule pack checks, online price statistics and reviewers' feedback.

``Auditor(pack).audit(listing) -> Verdict``. The verdict is ``reject`` when any *hard* rule
fires (by default ``missing_certification``, ``prohibited_claim``), ``review`` when only *soft*
ones do (``price_anomaly``, ``missing_attribute``, ``wrong_category``), ``pass`` otherwise.

Wrong category first: when the title names another category's product, the price band and the
required attributes are those of the category the product really belongs to (the seller filled
in a power bank's attributes; once the listing is moved it is complete), so one mistake gives
one reason, not three.

Price anomaly has two parts: the pack's static category band (works from the first listing)
and a learned robust z: for each product type (the longest product term in the title, else the
listed category), merchant-agnostic, the last ``window`` log prices; flagged when
``|log p - median| / (1.4826 MAD) > threshold`` after ``min_count`` prices. Every listing's
price is added after it is scored (median and MAD shrug off the few anomalies).

Learned price reference (``Auditor(pack, price_model=PriceModel())``, see
:mod:`~ecomops.ops.audit.price`): once warmed up it replaces the per-type robust z (the static
band still applies): flagged when ``|log p - predicted| / scale > price_model.threshold``, the
prediction coming from similar titles and a regression on the title's n-grams. It learns every
listing whose price it accepts, and a price reviewers declare fine (an overturned
``price_anomaly``).

Learned category (``Auditor(pack, category_model=clf)``, a
:class:`~ecomops.ops.audit.category.CategoryClassifier`): when the model knows the listed
category, it decides instead of the keyword rule: ``wrong_category`` when its top category is
another one with probability >= ``category_threshold`` (that category is then the effective
one); with ``claimed_threshold`` set, when the listed category's own probability is below it
(and another category is the top one) instead. Listings of categories the model has never seen fall back to the keyword rule. Reviewers'
feedback on ``wrong_category`` trains the model online with the right category (the one the
reviewer names, else the model's guess when upheld, the listed one when overturned).

Citations: with ``kb=`` (a :class:`~ecomops.knowledge.base.KnowledgeBase` loaded with
:func:`load_pack_into_kb`) a reason cites the current version of the regulation document
``rule:<code>``, so an updated regulation is cited from the next audit on; the pack's citation
is the fallback when the KB has no such document.

Feedback: ``learn_feedback(listing_id, code, correct)`` for a reason the auditor gave on a
recently audited listing (the last ``memory`` listings are remembered). Counts are kept per
rule key (``prohibited_claim:zui:最新``, ``missing_certification:charger``, ...); a key that
reviewers overturned at least ``min_overturned`` times and in at least ``overturn_ratio`` of
their decisions is suppressed: it no longer fires (its neighbours still do). Upholding a
key's decisions keeps it active.

>>> a = Auditor()
>>> v = a.audit({"listing_id": "L1", "title": "Anker 移动电源 power bank 20000mAh", "category": "electronics",
...              "attributes": {"model": "A1", "warranty_months": "12", "color": "black"},
...              "certifications": [], "price": 120, "currency": "CNY"})
>>> v.verdict, [r["code"] for r in v.to_dict()["reasons"]]
('reject', ['missing_certification'])
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from numbers import Real

from ...core.errors import ValidationError
from . import checks
from .checks import Finding
from .rules import CODES, HARD, RulePack, load_pack, normalize

__all__ = ["Auditor", "Verdict", "Reason", "validate_listing", "load_pack_into_kb", "regulation_doc_id",
           "STATE_VERSION"]

STATE_VERSION = 1


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    citation: str
    key: str = ""  # the rule that fired (internal; not in the JSON output)

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "citation": self.citation}


@dataclass
class Verdict:
    listing_id: str
    verdict: str
    reasons: list[Reason] = field(default_factory=list)

    @property
    def codes(self) -> set[str]:
        return {r.code for r in self.reasons}

    def to_dict(self) -> dict:
        return {"listing_id": self.listing_id, "verdict": self.verdict, "reasons": [r.to_dict() for r in self.reasons]}


def validate_listing(listing) -> dict:
    """Check the fields the audit reads; raises :class:`ValidationError` naming the bad field.

    ``listing_id`` may also come as ``event_id`` (listing events from the stream)."""
    if not isinstance(listing, dict):
        raise ValidationError(f"a listing must be a JSON object, got {type(listing).__name__}", "type")
    lid = listing.get("listing_id", listing.get("event_id"))
    if isinstance(lid, (int, float)) and not isinstance(lid, bool):
        lid = str(lid)
    if not isinstance(lid, str) or not lid.strip():
        raise ValidationError("listing_id: missing or not a non-empty string", "listing_id")
    out = {"listing_id": lid}
    for name in ("title", "category"):
        val = listing.get(name)
        if not isinstance(val, str) or not val.strip():
            raise ValidationError(f"{name}: missing or not a non-empty string", name)
        out[name] = val
    desc = listing.get("description") or ""
    if not isinstance(desc, str):
        raise ValidationError("description: expected a string", "description")
    out["description"] = desc
    out["merchant_id"] = str(listing.get("merchant_id") or "")
    # optional: the marketplace's own leaf category; prices are compared within it when given
    ptype = listing.get("product_type") or ""
    if not isinstance(ptype, str):
        raise ValidationError("product_type: expected a string", "product_type")
    out["product_type"] = ptype.strip()
    attrs = listing.get("attributes")
    attrs = {} if attrs is None else attrs
    if not isinstance(attrs, dict):
        raise ValidationError("attributes: expected an object of name -> value", "attributes")
    out["attributes"] = attrs
    certs = listing.get("certifications")
    certs = [] if certs is None else certs
    if not isinstance(certs, list) or not all(isinstance(c, str) for c in certs):
        raise ValidationError("certifications: expected a list of strings", "certifications")
    out["certifications"] = certs
    price = listing.get("price")
    if isinstance(price, bool) or not isinstance(price, Real) or not math.isfinite(price) or price < 0:
        raise ValidationError(f"price: expected a number >= 0, got {price!r}", "price")
    out["price"] = float(price)
    cur = listing.get("currency") or "CNY"
    if not isinstance(cur, str):
        raise ValidationError("currency: expected a string such as CNY", "currency")
    out["currency"] = cur.upper()
    return out


def regulation_doc_id(code: str) -> str:
    """The knowledge-base document holding the regulation a reason code cites."""
    return f"rule:{code}"


def load_pack_into_kb(pack: RulePack, kb) -> list[tuple[str, int]]:
    """Add each rule's regulation text to ``kb`` as a ``kind="regulation"`` document
    (``doc_id="rule:<code>"``, source ``pack:<name>``); returns ``[(doc_id, version), ...]``.

    Loading again makes new versions (the KB keeps the history); to change a regulation, add a
    document with the same ``doc_id`` and the new text."""
    from ...knowledge.loaders import Document

    docs = [Document(regulation_doc_id(code), f"{pack.name} {code} regulation", rule.citation, kind="regulation",
                     source=f"pack:{pack.name}") for code, rule in pack.rules.items()]
    return kb.add_documents(docs)


class Auditor:
    def __init__(self, pack: RulePack | None = None, *, memory: int = 100_000, min_overturned: int = 3,
                 overturn_ratio: float = 0.75, category_model=None, category_threshold: float = 0.6, kb=None,
                 price_model=None, claimed_threshold: float | None = None):
        self.pack = pack or load_pack()
        self.memory, self.min_overturned, self.overturn_ratio = memory, min_overturned, overturn_ratio
        self.category_model, self.category_threshold, self.kb = category_model, float(category_threshold), kb
        self._cat_recent: OrderedDict[str, tuple[str, str, str]] = OrderedDict()  # listing -> (text, listed, guess)
        self.price_model = price_model
        self.claimed_threshold = None if claimed_threshold is None else float(claimed_threshold)
        self._price_recent: OrderedDict[str, tuple[dict, float]] = OrderedDict()  # listing -> (fields, price)
        self._kb_cache: tuple[object, dict[str, str]] | None = None  # (kb revision, code -> text)
        self.prices: dict[str, deque] = {}
        self.feedback: dict[str, list[int]] = {}  # rule key -> [upheld, overturned]
        self.suppressed: set[str] = set()
        self.recent: OrderedDict[str, list[tuple[str, str]]] = OrderedDict()  # listing -> [(code, key)]
        self.counts = {"audited": 0, "pass": 0, "review": 0, "reject": 0}

    # --- auditing --------------------------------------------------------------------------
    def audit(self, listing: dict) -> Verdict:
        """Audit one listing (raises :class:`ValidationError` on a malformed one) and learn its price."""
        li = validate_listing(listing)
        rules, sup = self.pack.rules, frozenset(self.suppressed)
        title = normalize(li["title"])
        text = title + "\n" + normalize(li["description"])
        category = li["category"]
        findings: list[Finding] = []
        effective = category
        product_key = ""
        if (r := rules.get("wrong_category")) is not None:
            model = self.category_model
            if model is not None and category in getattr(model, "classes", ()):
                found, effective = self._model_category(r, li, category, sup)
            else:
                found, effective = checks.wrong_category(r, title, category, sup)
            findings += found
            product_key = checks.detect_categories(r, title)[1]
        product_key = li["product_type"] or product_key
        if (r := rules.get("missing_certification")) is not None:
            findings += checks.missing_certification(r, title, li["certifications"], sup)
        if (r := rules.get("prohibited_claim")) is not None:
            findings += checks.prohibited_claim(r, text, sup)
        if (r := rules.get("missing_attribute")) is not None:
            findings += checks.missing_attribute(r, li["attributes"], effective, sup)
        if (r := rules.get("price_anomaly")) is not None:
            findings += self._price(r, li["price"], li["currency"], effective, product_key, sup, li)
        cite = self._citations() if (findings and self.kb is not None) else {}
        reasons = [Reason(f.code, f.message, cite.get(f.code) or rules[f.code].citation, f.key) for f in findings]
        reasons.sort(key=lambda x: CODES.index(x.code))
        if any(rules[x.code].severity == HARD for x in reasons):
            verdict = "reject"
        elif reasons:
            verdict = "review"
        else:
            verdict = "pass"
        self.counts["audited"] += 1
        self.counts[verdict] += 1
        self._remember(li["listing_id"], [(x.code, x.key) for x in reasons])
        return Verdict(li["listing_id"], verdict, reasons)

    def _model_category(self, rule, li: dict, category: str, sup) -> tuple[list[Finding], str]:
        model = self.category_model
        text = model.text_of(li)
        best, p, proba = model.top_one(text)
        self._cat_recent[li["listing_id"]] = (text, category, best or category)
        self._cat_recent.move_to_end(li["listing_id"])
        while len(self._cat_recent) > self.memory:
            self._cat_recent.popitem(last=False)
        if best is None or best == category:
            return [], category
        if self.claimed_threshold is not None:  # flag by how unlikely the listed category is
            if proba.get(category, 0.0) >= self.claimed_threshold:
                return [], category
        elif p < self.category_threshold:
            return [], category
        key = f"wrong_category:model:{category}->{best}"
        if key in sup or "wrong_category" in sup:
            return [], category
        zh = rule.category_zh.get(best)
        name = f"{best} ({zh})" if zh else best
        return [Finding("wrong_category", key,
                        f"listed under '{category}' but the category model reads it as {name} "
                        f"(p={p:.2f}; '{category}' p={proba.get(category, 0.0):.2f})")], best

    def _citations(self) -> dict[str, str]:
        """code -> the current regulation text in the KB (re-read when the KB changed)."""
        try:
            rev = self.kb.scope.kb_revision()
        except AttributeError:  # a KB-like object without revisions: read every time
            rev = None
        if self._kb_cache is not None and rev is not None and self._kb_cache[0] == rev:
            return self._kb_cache[1]
        out = {}
        for d in self.kb.documents(current_only=True):
            if d.kind == "regulation" and d.doc_id.startswith("rule:"):
                code = d.doc_id[len("rule:"):]
                if code in CODES and d.text.strip():
                    out[code] = " ".join(d.text.split())
        self._kb_cache = (rev, out)
        return out

    def _price(self, rule, price, currency, category, product_key, sup, li=None) -> list[Finding]:
        pack_cur = "CNY"  # bands are in the pack's currency; other currencies only use learned stats
        key = f"{category}|{product_key}" if product_key else category
        key = f"{key}|{currency}" if currency != pack_cur else key
        out = []
        if currency == pack_cur:
            f = checks.price_band(rule, price, category)
            if f is not None and f.key not in sup:
                out.append(f)
        if price <= 0:  # free or zero: no log price to learn from, always worth a look
            if not out and "price_anomaly:zero" not in sup:
                out.append(Finding("price_anomaly", "price_anomaly:zero", f"price {price:g} is not positive"))
            return out
        # the finest key with enough history decides: the product type once it has warmed up, the
        # whole category until then (a x20 price stands out in either)
        coarse = category if currency == pack_cur else f"{category}|{currency}"
        keys = [key] if key == coarse else [key, coarse]
        warm = int(rule.params.get("min_count", 0))
        model = self.price_model
        if model is not None and li is not None:
            seen = {"title": li["title"], "category": category, "product_type": li["product_type"],
                    "attributes": {"brand": li["attributes"].get("brand", "")}, "currency": currency}
            if not out and model.ready():
                z, typical, _ = model.score(seen, price)
                key = f"price_anomaly:model:{category}"
                if abs(z) > model.threshold and key not in sup:
                    out.append(Finding("price_anomaly", key,
                                       f"price {price:g} is far from the {typical:.2f} expected for similar "
                                       f"listings in '{category}' (z {z:+.1f})"))
            if out:
                model.learn(seen, price, accepted=False)
                self._price_recent[li["listing_id"]] = (seen, price)
                self._price_recent.move_to_end(li["listing_id"])
                while len(self._price_recent) > self.memory:
                    self._price_recent.popitem(last=False)
            else:
                model.learn(seen, price)
        if not out and (model is None or not model.ready()):
            for k in keys:
                hist = self.prices.get(k)
                if hist is not None and len(hist) >= warm:
                    f = checks.price_outlier(rule, price, k, hist, category)
                    if f is not None and f.key not in sup:
                        out.append(f)
                    break
        for k in keys:
            hist = self.prices.get(k)
            if hist is None:
                hist = self.prices[k] = deque(maxlen=int(rule.params["window"]))
            hist.append(math.log(price))
        return out

    def _remember(self, listing_id: str, fired: list[tuple[str, str]]) -> None:
        self.recent[listing_id] = fired
        self.recent.move_to_end(listing_id)
        while len(self.recent) > self.memory:
            self.recent.popitem(last=False)

    # --- feedback --------------------------------------------------------------------------
    def learn_feedback(self, listing_id: str, code: str, correct: bool, category: str | None = None) -> bool:
        """A reviewer upheld (``correct=True``) or overturned a reason the auditor gave.

        ``category`` (``wrong_category`` only): the right category per the reviewer. With a
        category model, the listing's text is learned with it (default: the model's guess when
        upheld, the listed category when overturned), also for a listing the auditor did not
        flag when ``category`` is given (a missed wrong category).

        Returns False (and learns nothing) when the listing is not among the recent ones or the
        auditor gave no reason with that code for it (and nothing was taught to the model)."""
        if code not in CODES:
            raise ValueError(f"unknown reason code {code!r}; one of: {', '.join(CODES)}")
        keys = [k for c, k in self.recent.get(listing_id, ()) if c == code]
        taught = False
        if code == "price_anomaly" and not correct and self.price_model is not None and keys \
                and listing_id in self._price_recent:  # the price is fine after all: learn it
            self.price_model.learn(*self._price_recent.pop(listing_id))
        if code == "wrong_category" and self.category_model is not None and listing_id in self._cat_recent:
            text, listed, guess = self._cat_recent[listing_id]
            if keys or category:
                target = category or (guess if correct else listed)
                self.category_model.correct(text, target)
                taught = True
        for k in keys:
            up, over = self.feedback.setdefault(k, [0, 0])
            self.feedback[k] = [up + bool(correct), over + (not correct)]
            up, over = self.feedback[k]
            if over >= self.min_overturned and over >= self.overturn_ratio * (up + over):
                self.suppressed.add(k)
            else:
                self.suppressed.discard(k)
        return bool(keys) or taught

    # --- persistence -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "version": STATE_VERSION, "pack": self.pack.name,
            "prices": {k: [round(x, 6) for x in v] for k, v in self.prices.items()},
            "feedback": self.feedback, "suppressed": sorted(self.suppressed),
            "recent": [[k, [list(p) for p in v]] for k, v in self.recent.items()],
            "counts": dict(self.counts),
            **({"price_model": self.price_model.state_dict()} if self.price_model is not None else {}),
            "settings": {"memory": self.memory, "min_overturned": self.min_overturned,
                         "overturn_ratio": self.overturn_ratio, "category_threshold": self.category_threshold,
                         "claimed_threshold": self.claimed_threshold},
        }

    @classmethod
    def from_state(cls, state: dict, pack: RulePack | None = None, *, category_model=None, kb=None,
                   price_model=None) -> "Auditor":
        """Restore an auditor; the category model (see its own ``state_dict``) and the KB are
        passed in again, they are not part of this state. The price model is (when the auditor
        had one); ``price_model=`` replaces it."""
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            from ...core.errors import StateError

            raise StateError(f"audit state has version {state.get('version') if isinstance(state, dict) else None!r}, "
                             f"expected {STATE_VERSION}: remove it to start afresh")
        if price_model is None and state.get("price_model") is not None:
            from .price import PriceModel

            price_model = PriceModel.from_state(state["price_model"])
        a = cls(pack, **state.get("settings", {}), category_model=category_model, kb=kb, price_model=price_model)
        window = int(a.pack.rules["price_anomaly"].params["window"]) if "price_anomaly" in a.pack.rules else 1000
        a.prices = {k: deque(v, maxlen=window) for k, v in state.get("prices", {}).items()}
        a.feedback = {k: list(v) for k, v in state.get("feedback", {}).items()}
        a.suppressed = set(state.get("suppressed", ()))
        a.recent = OrderedDict((k, [tuple(p) for p in v]) for k, v in state.get("recent", ()))
        a.counts.update(state.get("counts", {}))
        return a
