"""Rule packs: YAML files that say what the listing audit checks, loaded and validated here.

A pack has one section per reason code under ``rules`` (see ``rules/china.yaml``, the pack
shipped for China). Any section may be left out, which switches that check off. Errors name the
offending key path (``rules.prohibited_claim.patterns[2].regex``) and the file.

>>> pack = load_pack()
>>> pack.name, sorted(pack.rules)[:2]
('china', ['missing_attribute', 'missing_certification'])
>>> pack.rules["prohibited_claim"].patterns[0].search("全网最低价") is not None
True
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ...core.errors import ConfigError

__all__ = ["CODES", "HARD", "SOFT", "RulePack", "Rule", "Pattern", "PackError", "load_pack", "parse_pack",
           "normalize", "DEFAULT_PACK"]

CODES = ("missing_certification", "prohibited_claim", "wrong_category", "price_anomaly", "missing_attribute")
HARD, SOFT = "hard", "soft"
DEFAULT_SEVERITY = {"missing_certification": HARD, "prohibited_claim": HARD, "wrong_category": SOFT,
                    "price_anomaly": SOFT, "missing_attribute": SOFT}
DEFAULT_PACK = Path(__file__).with_name("rules") / "china.yaml"
_WORD = re.compile(r"[a-z0-9]")


class PackError(ConfigError):
    """A rule pack is unreadable or malformed; the message names the file and the key."""


def normalize(text: str) -> str:
    """NFKC (full-width to half-width) and lower case: what every pattern is matched against."""
    return unicodedata.normalize("NFKC", text).lower()


def _term_regex(term: str) -> str:
    """A literal term; Latin/digit edges only match at word boundaries ("best" but not "bestow")."""
    t = normalize(term).strip()
    body = r"\s+".join(re.escape(part) for part in t.split())
    lead = r"(?<![a-z0-9])" if _WORD.match(t[0]) else ""
    tail = r"(?![a-z0-9])" if _WORD.match(t[-1]) else ""
    return lead + body + tail


@dataclass(frozen=True)
class Pattern:
    """A named group of terms/regexes compiled into one regex (``rule_id`` is what feedback keys on)."""

    id: str
    label: str
    regex: re.Pattern
    exclude: re.Pattern | None = None
    category: str = ""

    def search(self, text: str):
        """First match in already-normalised ``text``, ignoring spans inside an ``exclude`` hit."""
        if self.exclude is None:
            return self.regex.search(text)
        blocked = [m.span() for m in self.exclude.finditer(text)]
        for m in self.regex.finditer(text):
            if not any(a <= m.start() < b for a, b in blocked):
                return m
        return None


@dataclass(frozen=True)
class Rule:
    code: str
    severity: str
    citation: str
    patterns: tuple[Pattern, ...] = ()
    allow: re.Pattern | None = None  # masked out of the text before patterns run
    accepted: frozenset[str] = frozenset()  # missing_certification: names that count as CCC
    required: dict[str, tuple[str, ...]] = field(default_factory=dict)  # missing_attribute
    category_zh: dict[str, str] = field(default_factory=dict)  # wrong_category
    params: dict[str, float] = field(default_factory=dict)  # price_anomaly
    bands: dict[str, tuple[float, float]] = field(default_factory=dict)  # price_anomaly


@dataclass(frozen=True)
class RulePack:
    name: str
    version: str
    source: str
    rules: dict[str, Rule]

    def get(self, code: str) -> Rule | None:
        return self.rules.get(code)


class _V:
    """Validation helpers that raise :class:`PackError` naming ``source`` and the key path."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, msg: str):
        raise PackError(f"rule pack {self.source}: {path}: {msg}")

    def mapping(self, obj, path) -> dict:
        if not isinstance(obj, dict):
            self.fail(path, f"expected a mapping, got {type(obj).__name__}")
        return obj

    def text(self, obj, path, allow_empty=False) -> str:
        if isinstance(obj, (int, float)) and not isinstance(obj, bool):
            obj = str(obj)
        if not isinstance(obj, str) or (not allow_empty and not obj.strip()):
            self.fail(path, "expected a non-empty string")
        return obj.strip()

    def texts(self, obj, path, allow_empty=False) -> list[str]:
        if isinstance(obj, str):
            obj = [obj]
        if not isinstance(obj, list) or (not allow_empty and not obj):
            self.fail(path, "expected a non-empty list of strings")
        return [self.text(x, f"{path}[{i}]") for i, x in enumerate(obj)]

    def number(self, obj, path, lo=None, hi=None) -> float:
        if isinstance(obj, bool) or not isinstance(obj, (int, float)):
            self.fail(path, f"expected a number, got {obj!r}")
        if (lo is not None and obj < lo) or (hi is not None and obj > hi):
            self.fail(path, f"{obj} is out of range [{lo}, {hi}]")
        return float(obj)

    def known(self, obj: dict, path: str, keys: set[str]) -> None:
        extra = sorted(set(map(str, obj)) - keys)
        if extra:
            self.fail(f"{path}.{extra[0]}", f"unknown key (expected one of: {', '.join(sorted(keys))})")

    def compile(self, parts: list[str], path: str) -> re.Pattern:
        try:
            return re.compile("|".join(f"(?:{p})" for p in parts))
        except re.error as exc:
            self.fail(path, f"invalid regular expression: {exc}")


def _pattern(v: _V, entry, path: str, *, id_key: str = "id", category: str = "") -> Pattern:
    entry = v.mapping(entry, path)
    v.known(entry, path, {id_key, "label", "terms", "regex", "exclude", "exclude_regex", "zh"})
    pid = category or v.text(entry.get(id_key), f"{path}.{id_key}")
    parts: list[str] = []
    if "terms" in entry:
        parts += [_term_regex(t) for t in v.texts(entry["terms"], f"{path}.terms")]
    if "regex" in entry:
        regs = v.texts(entry["regex"], f"{path}.regex")
        for i, r in enumerate(regs):
            v.compile([r], f"{path}.regex[{i}]")
        parts += regs
    if not parts:
        v.fail(path, "needs `terms` or `regex`")
    excl: list[str] = []
    if "exclude" in entry:
        excl += [_term_regex(t) for t in v.texts(entry["exclude"], f"{path}.exclude")]
    if "exclude_regex" in entry:  # e.g. accessories named after the device: "laptop backpack", "for mobile phones"
        regs = v.texts(entry["exclude_regex"], f"{path}.exclude_regex")
        for i, r in enumerate(regs):
            v.compile([r], f"{path}.exclude_regex[{i}]")
        excl += regs
    exclude = v.compile(excl, f"{path}.exclude") if excl else None
    label = v.text(entry.get("label", entry.get("zh", pid)), f"{path}.label")
    return Pattern(pid, label, v.compile(parts, path), exclude, category)


def parse_pack(data: Any, source: str = "<memory>") -> RulePack:
    """Validate an already-parsed pack (a dict); raises :class:`PackError` naming the bad key."""
    v = _V(source)
    top = v.mapping(data, "<top>")
    v.known(top, "<top>", {"name", "version", "jurisdiction", "currency", "rules"})
    name = v.text(top.get("name"), "name")
    version = v.text(top.get("version", "1"), "version")
    sections = v.mapping(top.get("rules"), "rules")
    v.known(sections, "rules", set(CODES))
    if not sections:
        v.fail("rules", "no rules: give at least one of " + ", ".join(CODES))
    rules: dict[str, Rule] = {}
    for code, sec in sections.items():
        p = f"rules.{code}"
        sec = v.mapping(sec, p)
        common = {"severity", "citation"}
        severity = v.text(sec.get("severity", DEFAULT_SEVERITY[code]), f"{p}.severity")
        if severity not in (HARD, SOFT):
            v.fail(f"{p}.severity", f"must be `hard` (reject) or `soft` (review), got {severity!r}")
        if "citation" not in sec:
            v.fail(f"{p}.citation", "missing: every rule must cite the regulation it enforces")
        citation = " ".join(v.text(sec["citation"], f"{p}.citation").split())
        kw: dict[str, Any] = {}
        if code == "missing_certification":
            v.known(sec, p, common | {"accepted", "products"})
            kw["accepted"] = frozenset(_cert_key(a) for a in v.texts(sec.get("accepted", ["CCC"]), f"{p}.accepted"))
            prods = sec.get("products")
            if not isinstance(prods, list) or not prods:
                v.fail(f"{p}.products", "expected a non-empty list of product types needing CCC")
            kw["patterns"] = tuple(_pattern(v, e, f"{p}.products[{i}]", id_key="name") for i, e in enumerate(prods))
        elif code == "prohibited_claim":
            v.known(sec, p, common | {"allow", "patterns"})
            pats = sec.get("patterns")
            if not isinstance(pats, list) or not pats:
                v.fail(f"{p}.patterns", "expected a non-empty list of patterns")
            kw["patterns"] = tuple(_pattern(v, e, f"{p}.patterns[{i}]") for i, e in enumerate(pats))
            if sec.get("allow"):
                allow = v.texts(sec["allow"], f"{p}.allow")
                kw["allow"] = v.compile([re.escape(normalize(a)) for a in sorted(allow, key=len, reverse=True)],
                                        f"{p}.allow")
        elif code == "missing_attribute":
            v.known(sec, p, common | {"categories"})
            cats = v.mapping(sec.get("categories"), f"{p}.categories")
            kw["required"] = {str(c): tuple(v.texts(a, f"{p}.categories.{c}")) for c, a in cats.items()}
        elif code == "wrong_category":
            v.known(sec, p, common | {"categories"})
            cats = v.mapping(sec.get("categories"), f"{p}.categories")
            if len(cats) < 2:
                v.fail(f"{p}.categories", "needs at least two categories to tell them apart")
            kw["patterns"] = tuple(_pattern(v, e, f"{p}.categories.{c}", category=str(c)) for c, e in cats.items())
            kw["category_zh"] = {pt.category: pt.label for pt in kw["patterns"]}
        elif code == "price_anomaly":
            keys = {"threshold", "min_count", "window", "min_scale", "low_factor", "high_factor", "bands"}
            v.known(sec, p, common | keys)
            defaults = {"threshold": 4.0, "min_count": 30, "window": 1000, "min_scale": 0.05,
                        "low_factor": 0.5, "high_factor": 2.0}
            params = {k: v.number(sec.get(k, d), f"{p}.{k}", lo=0) for k, d in defaults.items()}
            for k in ("threshold", "window", "min_scale", "high_factor"):
                if params[k] <= 0:
                    v.fail(f"{p}.{k}", "must be > 0")
            if params["low_factor"] >= 1 or params["high_factor"] <= 1:
                v.fail(f"{p}.low_factor", "need low_factor < 1 < high_factor")
            kw["params"] = params
            bands = {}
            for c, b in v.mapping(sec.get("bands", {}), f"{p}.bands").items():
                b = v.mapping(b, f"{p}.bands.{c}")
                v.known(b, f"{p}.bands.{c}", {"min", "max"})
                lo = v.number(b.get("min"), f"{p}.bands.{c}.min", lo=0)
                hi = v.number(b.get("max"), f"{p}.bands.{c}.max", lo=0)
                if not 0 < lo < hi:
                    v.fail(f"{p}.bands.{c}", f"need 0 < min < max, got min={lo} max={hi}")
                bands[str(c)] = (lo, hi)
            kw["bands"] = bands
        rules[code] = Rule(code=code, severity=severity, citation=citation, **kw)
    return RulePack(name=name, version=version, source=source, rules=rules)


def _cert_key(name: str) -> str:
    return "".join(normalize(name).split())


def load_pack(path: str | Path | None = None) -> RulePack:
    """Load and validate a pack from YAML (default: the China pack shipped with ecomops)."""
    p = Path(path) if path is not None else DEFAULT_PACK
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PackError(f"rule pack {p} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PackError(f"rule pack {p} cannot be read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PackError(f"rule pack {p} is not valid YAML: {exc}") from None
    return parse_pack(data, str(p))
