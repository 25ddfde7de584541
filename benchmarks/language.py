"""Language benchmarks: one function per section, each returning a JSON-able dict.

Sections (``--sections``, comma separated; the default runs them all):

- ``audit``: listing-audit precision and recall per reason code and ``Auditor.audit`` latency on
  CPU, on two labelled listing sets:

  * ``sim``: the simulator's listings and their truth (``SimConfig(seed)``, the whole stream),
    audited by the keyword rules alone and with a category classifier trained on the listings of
    another simulated world (``SimConfig(seed + 1)``), so no evaluated listing was trained on.
  * ``flipkart``: Flipkart product titles (``catalog/flipkart`` under ``--data-dir``) listed
    under their top-level category (categories with >= ``MIN_CATEGORY`` distinct titles), with
    violations injected into half of an evaluation split (see :func:`inject`): absolute claims
    inserted into the title, the required attribute (``brand``) dropped, the price x20 or /20,
    the listing moved to another category, chargers / power banks / adapters / phones / laptops
    (by their category path) listed without CCC. The category classifier is trained on the
    other titles (distinct titles only, so no title is both trained on and evaluated), and the
    price statistics are warmed with the training listings. Titles the claim rule already flags
    before injection are left out (their truth is unknown).

To add a section: write ``def <name>_section(data_dir: Path | None, seed: int = 0) -> dict`` and
register it in ``SECTIONS``; ``main`` runs the requested ones and merges them into the results
file (sections not run keep their previous results).

    python benchmarks/language.py --sections audit --data-dir ../shared/data \\
        --out benchmarks/results/language.json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ecomops.ops.audit import CODES, Auditor, CategoryClassifier, load_pack_into_kb, parse_pack  # noqa: E402
from ecomops.ops.audit.checks import prohibited_claim  # noqa: E402
from ecomops.ops.audit.price import PriceModel  # noqa: E402
from ecomops.ops.audit.rules import DEFAULT_PACK, normalize  # noqa: E402

TARGET_RECALL, TARGET_PRECISION = 0.98, 0.95
MIN_CATEGORY = 100  # Flipkart top-level categories with at least this many distinct titles
FLIPKART_EVAL = 3000  # evaluated Flipkart listings (plus every CCC product)
FLIPKART_VIOLATION_RATE = 0.5
CLAIMS = ("Best Quality", "No.1", "#1 Best Seller", "Number One", "Best Price", "最畅销", "全网第一", "顶级",
          "国家级", "World's Best")
# category paths of products in the CCC catalogue (chargers, power banks, power adapters, phones, laptops)
CCC_PATH = re.compile(r">> (?:Mobile )?Chargers\b|>> Power Banks\b|^Mobiles & Accessories >> Mobiles >>|"
                      r"^Computers >> Laptops >>|>> (?:Laptop )?Adapters\b")  # laptop power adapters need CCC too
CLASSIFIER = dict(n_bits=18, lr=0.5, epochs=4)
CATEGORY_THRESHOLD = 0.6
# the learned price reference (ops/audit/price.py); lr and min_sim were chosen on a validation split of the
# Flipkart training rows (a fifth, never the evaluation listings); its threshold is selected per run there
PRICE_MODEL = dict(lr=0.15, min_sim=0.1)
VALIDATION_FRACTION = 0.2  # of the Flipkart training rows: where the thresholds below are selected
# candidates: wrong_category flagged when the listed category's probability is below ``claimed``
# (``None``: the older rule, the top category is another one with probability >= CATEGORY_THRESHOLD)
CLAIMED_GRID = (None, 0.02, 0.05, 0.1, 0.2, 0.3)
PRICE_GRID = (4.0, 4.5, 4.75, 5.0, 5.25, 5.5, 6.0)


# -- metrics ---------------------------------------------------------------------------------------
class Score:
    """Per-code confusion counts and audit latencies."""

    def __init__(self):
        self.tp, self.fp, self.fn = Counter(), Counter(), Counter()
        self.lat_us: list[float] = []
        self.n = 0

    def add(self, got: set[str], want: set[str], us: float) -> None:
        self.n += 1
        self.lat_us.append(us)
        for c in CODES:
            self.tp[c] += c in got and c in want
            self.fp[c] += c in got and c not in want
            self.fn[c] += c in want and c not in got

    def report(self) -> dict:
        per = {}
        for c in CODES:
            tp, fp, fn = self.tp[c], self.fp[c], self.fn[c]
            p = tp / (tp + fp) if tp + fp else None
            r = tp / (tp + fn) if tp + fn else None
            per[c] = {"precision": None if p is None else round(p, 4), "recall": None if r is None else round(r, 4),
                      "support": tp + fn, "tp": tp, "fp": fp, "fn": fn,
                      "meets_target": None if r is None else bool(r >= TARGET_RECALL and (p or 0) >= TARGET_PRECISION)}
        lat = np.asarray(self.lat_us) if self.lat_us else np.zeros(1)
        return {"listings": self.n, "per_code": per,
                "latency_us": {"p50": round(float(np.percentile(lat, 50)), 1),
                               "p95": round(float(np.percentile(lat, 95)), 1),
                               "mean": round(float(lat.mean()), 1)}}


def run_audit(auditor: Auditor, items: Iterable[tuple[dict, set[str]]]) -> dict:
    s = Score()
    clock = time.perf_counter_ns
    for listing, want in items:
        t0 = clock()
        got = auditor.audit(listing).codes
        s.add(got, want, (clock() - t0) / 1000)
    return s.report()


# -- packs -----------------------------------------------------------------------------------------
def _pack_data() -> dict:
    import yaml

    return yaml.safe_load(DEFAULT_PACK.read_text(encoding="utf-8"))


def sim_pack():
    """The China pack as shipped: the simulator's CCC list is the pack's (power banks, chargers,
    adapters, smartphones, laptops) since smartphones and laptops need CCC there too."""
    return parse_pack(_pack_data(), "china-sim")


def flipkart_pack(categories: list[str]):
    """The China pack with one required attribute (``brand``) for every Flipkart category."""
    d = _pack_data()
    d["rules"]["missing_attribute"]["categories"] = {c: ["brand"] for c in categories}
    return parse_pack(d, "china-flipkart")


# -- the simulator's listings ----------------------------------------------------------------------
def sim_listings(seed: int, events: int = 1_000_000) -> list[tuple[dict, set[str], str]]:
    """(listing, true violations, true category) for each listing event of a simulated world."""
    from ecomops.sim import SimConfig, Simulator

    out = []
    for ev, truth in Simulator(SimConfig(seed=seed)).stream(events):
        if ev["type"] == "listing":
            out.append((ev, set(truth["violations"]), truth.get("true_category") or ev["category"]))
    return out


def sim_part(seed: int, events: int = 1_000_000) -> dict:
    t0 = time.perf_counter()
    train = sim_listings(seed + 1, events)
    evald = sim_listings(seed, events)
    clf = CategoryClassifier(n_bits=CLASSIFIER["n_bits"], lr=CLASSIFIER["lr"], seed=seed)
    t1 = time.perf_counter()
    clf.learn_many([x for x, _, _ in train], [c for _, _, c in train], epochs=CLASSIFIER["epochs"])
    train_s = time.perf_counter() - t1
    acc = float(np.mean([clf.predict_one(x) == c for x, _, c in evald])) if evald else None
    pack = sim_pack()
    keyword = run_audit(Auditor(pack), ((x, v) for x, v, _ in evald))
    model = run_audit(Auditor(pack, category_model=clf, category_threshold=CATEGORY_THRESHOLD),
                      ((x, v) for x, v, _ in evald))
    return {"train_listings": len(train), "eval_listings": len(evald),
            "classifier": {"accuracy_true_category": None if acc is None else round(acc, 4),
                           "train_s": round(train_s, 2), "classes": len(clf.classes)},
            "keyword_rules": keyword, "with_classifier": model, "seconds": round(time.perf_counter() - t0, 1)}


# -- Flipkart --------------------------------------------------------------------------------------
def read_flipkart(data_dir: Path) -> list[dict]:
    """Rows ``{uniq_id, title, path, category, price, brand}`` (price: discounted, else retail, INR)."""
    base = Path(data_dir) / "catalog" / "flipkart"
    prices = {}
    with open(base / "flipkart_prices_brand.csv", encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            prices[r["uniq_id"]] = r
    rows = []
    with open(base / "flipkart_names_category_tree_noheader.csv", encoding="utf-8", newline="") as f:
        for uid, name, tree in csv.reader(f):
            try:
                path = json.loads(tree)[0]
            except (ValueError, IndexError):
                continue
            pr = prices.get(uid, {})
            price = None
            for k in ("discounted_price", "retail_price"):
                try:
                    price = float(pr.get(k) or "")
                    break
                except ValueError:
                    pass
            rows.append({"uniq_id": uid, "title": name.strip(), "path": path,
                         "category": path.split(" >> ")[0].strip(), "price": price,
                         "brand": (pr.get("brand") or "").strip()})
    return rows


def prepare_catalogue(rows: list[dict], claim_rule, min_category: int = MIN_CATEGORY) -> tuple[list[dict], dict]:
    """Distinct titles with a price > 0 and a brand, of categories with >= ``min_category`` of them,
    without an absolute claim already in the title."""
    seen, kept, dropped = set(), [], Counter()
    for r in rows:
        key = normalize(r["title"])
        if not r["title"] or key in seen:
            dropped["duplicate_title"] += 1
            continue
        seen.add(key)
        if not r["price"] or r["price"] <= 0 or not r["brand"]:
            dropped["no_price_or_brand"] += 1
            continue
        if prohibited_claim(claim_rule, key):
            dropped["claim_in_source_title"] += 1
            continue
        kept.append(r)
    counts = Counter(r["category"] for r in kept)
    cats = {c for c, n in counts.items() if n >= min_category}
    dropped["small_category"] = sum(1 for r in kept if r["category"] not in cats)
    return [r for r in kept if r["category"] in cats], dict(dropped)


def to_listing(r: dict, i: int) -> dict:
    ccc = bool(CCC_PATH.search(r["path"]))
    return {"listing_id": f"F{i}", "merchant_id": "flipkart", "title": r["title"], "description": "",
            "category": r["category"], "attributes": {"brand": r["brand"]},
            "product_type": (r["path"].split(" >> ") + [""])[1].strip(),  # Flipkart's second level
            "certifications": ["CCC"] if ccc else [], "price": float(r["price"]), "currency": "INR"}


def inject(rng: random.Random, listing: dict, is_ccc: bool, categories: list[str],
           rate: float = FLIPKART_VIOLATION_RATE) -> tuple[dict, set[str]]:
    """Inject 1 (85%) or 2 violations into ``rate`` of the listings; CCC products lose their mark
    half the time they are picked. Returns the listing (a copy) and its true codes."""
    d = json.loads(json.dumps(listing))
    if rng.random() >= rate:
        return d, set()
    codes = set()
    if is_ccc and rng.random() < 0.5:
        codes.add("missing_certification")
    pool = ["prohibited_claim", "wrong_category", "price_anomaly", "missing_attribute"]
    for c in rng.sample(pool, 1 if rng.random() < 0.85 else 2):
        codes.add(c)
    if "missing_certification" in codes:
        d["certifications"] = []
    if "prohibited_claim" in codes:
        claim = rng.choice(CLAIMS)
        d["title"] = f"{claim} {d['title']}" if rng.random() < 0.5 else f"{d['title']} {claim}"
    if "missing_attribute" in codes:
        if rng.random() < 0.5:
            d["attributes"].pop("brand")
        else:
            d["attributes"]["brand"] = " "
    if "price_anomaly" in codes:
        d["price"] = round(d["price"] * 20 if rng.random() < 0.5 else d["price"] / 20, 2)
    if "wrong_category" in codes:
        d["category"] = rng.choice([c for c in categories if c != d["category"]])
    return d, codes


def _pick(results: dict, code: str):
    """The candidate with the highest recall among those reaching the precision target, else
    the highest F1 (ties: the first)."""
    def pr(k):
        m = results[k]["per_code"][code]
        return (m["precision"] or 0.0), (m["recall"] or 0.0)
    ok = [k for k in results if pr(k)[0] >= TARGET_PRECISION]
    if ok:
        return max(ok, key=lambda k: pr(k)[1])
    return max(results, key=lambda k: 2 * pr(k)[0] * pr(k)[1] / max(1e-9, pr(k)[0] + pr(k)[1]))


def validate_flipkart(train_rows: list[dict], categories: list[str], pack, seed: int) -> dict:
    """Select the wrong-category and price thresholds on a validation split of the training rows:
    the classifier is trained and the auditor warmed on the rest, violations injected as in the
    evaluation. Per code, the candidate with the best recall at precision >= the target wins."""
    rng = random.Random(seed + 1)
    rows = list(train_rows)
    rng.shuffle(rows)
    n_val = int(len(rows) * VALIDATION_FRACTION)
    val, fit = rows[:n_val], rows[n_val:]
    clf = CategoryClassifier(n_bits=CLASSIFIER["n_bits"], lr=CLASSIFIER["lr"], seed=seed)
    clf.learn_many([r["title"] for r in fit], [r["category"] for r in fit], epochs=CLASSIFIER["epochs"])
    irng = random.Random(seed + 2)
    items = [inject(irng, to_listing(r, i), False, categories) for i, r in enumerate(val)]

    def run(claimed, price_threshold) -> dict:
        a = Auditor(pack, category_model=clf, category_threshold=CATEGORY_THRESHOLD, claimed_threshold=claimed,
                    price_model=PriceModel(**PRICE_MODEL, threshold=price_threshold))
        for i, r in enumerate(fit):
            a.audit(to_listing(r, -1 - i))
        return run_audit(a, items)

    mid = PRICE_GRID[len(PRICE_GRID) // 2]
    by_claimed = {str(c): run(c, mid) for c in CLAIMED_GRID}
    claimed = dict(zip(map(str, CLAIMED_GRID), CLAIMED_GRID))[_pick(by_claimed, "wrong_category")]
    by_price = {str(t): run(claimed, t) for t in PRICE_GRID}
    price_threshold = float(_pick(by_price, "price_anomaly"))

    def brief(res, code):
        return {k: {x: v["per_code"][code][x] for x in ("precision", "recall")} for k, v in res.items()}
    return {"fit_rows": len(fit), "validation_rows": len(val), "claimed_threshold": claimed,
            "price_threshold": price_threshold, "wrong_category": brief(by_claimed, "wrong_category"),
            "price_anomaly": brief(by_price, "price_anomaly")}


def flipkart_part(rows: list[dict], seed: int, n_eval: int = FLIPKART_EVAL, min_category: int = MIN_CATEGORY,
                  kb_latency: bool = True) -> dict:
    t0 = time.perf_counter()
    claim_rule = sim_pack().rules["prohibited_claim"]
    kept, dropped = prepare_catalogue(rows, claim_rule, min_category)
    categories = sorted({r["category"] for r in kept})
    rng = random.Random(seed)
    ccc_rows = [r for r in kept if CCC_PATH.search(r["path"])]
    other = [r for r in kept if not CCC_PATH.search(r["path"])]
    rng.shuffle(other)
    n_other = max(0, min(n_eval, len(other) // 4))
    evald_rows = ccc_rows + other[:n_other]  # every CCC product is evaluated (there are few)
    train_rows = other[n_other:]
    rng.shuffle(evald_rows)

    clf = CategoryClassifier(n_bits=CLASSIFIER["n_bits"], lr=CLASSIFIER["lr"], seed=seed)
    t1 = time.perf_counter()
    clf.learn_many([r["title"] for r in train_rows], [r["category"] for r in train_rows], epochs=CLASSIFIER["epochs"])
    train_s = time.perf_counter() - t1
    acc = float(np.mean([clf.predict_one(r["title"]) == r["category"] for r in evald_rows])) if evald_rows else None

    items = []
    for i, r in enumerate(evald_rows):
        items.append(inject(rng, to_listing(r, i), bool(CCC_PATH.search(r["path"])), categories))
    pack = flipkart_pack(categories)
    chosen = validate_flipkart(train_rows, categories, pack, seed)  # thresholds: never from the evaluation

    def warmed(**kw) -> Auditor:
        a = Auditor(pack, price_model=PriceModel(**PRICE_MODEL, threshold=chosen["price_threshold"]),
                    claimed_threshold=chosen["claimed_threshold"], **kw)
        for i, r in enumerate(train_rows):  # clean listings: learn the price statistics
            a.audit(to_listing(r, -1 - i))
        return a

    model = run_audit(warmed(category_model=clf, category_threshold=CATEGORY_THRESHOLD), items)
    out = {"categories": categories, "train_titles": len(train_rows), "eval_listings": len(items),
           "ccc_products_evaluated": len(ccc_rows), "dropped": dropped,
           "injected": dict(Counter(c for _, v in items for c in v)),
           "classifier": {"accuracy_top_category": None if acc is None else round(acc, 4),
                          "train_s": round(train_s, 2), "classes": len(clf.classes), **CLASSIFIER,
                          "threshold": CATEGORY_THRESHOLD, "claimed_threshold": chosen["claimed_threshold"]},
           "price_model": {**PRICE_MODEL, "threshold": chosen["price_threshold"]},
           "validation": chosen, "with_classifier": model}
    if kb_latency:
        out["with_classifier_and_kb_citations"] = _kb_run(pack, clf, items, warmed)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def _kb_run(pack, clf, items, warmed) -> dict:
    """Same audit with citations read from a BM25-only knowledge base in a temporary store."""
    from ecomops.knowledge.base import KnowledgeBase
    from ecomops.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "state")
        try:
            kb = KnowledgeBase(store, "bench", encoder=None)
            load_pack_into_kb(pack, kb)
            return run_audit(warmed(category_model=clf, category_threshold=CATEGORY_THRESHOLD, kb=kb), items)
        finally:
            store.close()


# -- sections --------------------------------------------------------------------------------------
def audit_section(data_dir: Path | None, seed: int = 0, *, sim_events: int = 1_000_000,
                  catalogue: list[dict] | None = None, n_eval: int = FLIPKART_EVAL,
                  min_category: int = MIN_CATEGORY, kb_latency: bool = True) -> dict:
    """The audit section. ``catalogue``: Flipkart-like rows (``title, path, category, price, brand``)
    to use instead of reading ``data_dir``; with neither, the Flipkart part is skipped."""
    out = {"targets": {"recall": TARGET_RECALL, "precision": TARGET_PRECISION},
           "sim": sim_part(seed, sim_events)}
    rows = catalogue
    if rows is None and data_dir is not None and (Path(data_dir) / "catalog" / "flipkart").is_dir():
        rows = read_flipkart(Path(data_dir))
    if rows is not None:
        out["flipkart"] = flipkart_part(rows, seed, n_eval, min_category, kb_latency)
    else:
        out["flipkart"] = {"skipped": "no catalog/flipkart under the data directory"}
    return out


sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling module, however this file is loaded
from language_service import ask_section, intent_section, retrieval_section  # noqa: E402

SECTIONS: dict[str, Callable[..., dict]] = {"intent": intent_section, "retrieval": retrieval_section,
                                            "ask": ask_section, "audit": audit_section}


def _summary(name: str, res: dict) -> str:
    lines = [f"== {name}"]
    if name == "audit":
        for part, keys in (("sim", ("keyword_rules", "with_classifier")),
                           ("flipkart", ("with_classifier", "with_classifier_and_kb_citations"))):
            for k in keys:
                r = res.get(part, {}).get(k)
                if not r:
                    continue
                lat = r["latency_us"]
                lines.append(f"{part}/{k}: {r['listings']} listings, latency p50 {lat['p50']}us p95 {lat['p95']}us")
                for c, m in r["per_code"].items():
                    lines.append(f"  {c:22s} P={m['precision']} R={m['recall']} (n={m['support']})")
    else:
        lines.append(json.dumps(res)[:2000])
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sections", default=",".join(SECTIONS), help=f"comma separated: {', '.join(SECTIONS)}")
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help="results JSON to write (merged with the sections already in it)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)
    names = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in names if s not in SECTIONS]
    if unknown:
        ap.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    results = {}
    for name in names:
        t0 = time.perf_counter()
        results[name] = SECTIONS[name](args.data_dir, seed=args.seed)
        results[name]["seconds"] = round(time.perf_counter() - t0, 1)
        if not args.json:
            print(_summary(name, results[name]), flush=True)
    meta = {"generated": datetime.now(timezone.utc).isoformat(timespec="seconds"), "python": platform.python_version(),
            "machine": platform.machine(), "processor": platform.processor() or platform.machine(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "seed": args.seed}
    if args.out:
        doc = {}
        if args.out.exists():
            try:
                doc = json.loads(args.out.read_text(encoding="utf-8"))
            except ValueError:
                doc = {}
        doc.setdefault("sections", {}).update(results)
        doc.setdefault("meta", {}).update({n: meta for n in names})
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps({"sections": results, "meta": meta}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
