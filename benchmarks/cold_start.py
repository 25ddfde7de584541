"""Cold start for a new category: the new category's early AUC with and without transfer.

The simulator's first category launch (ground truth ``drift_points``, kind ``category_launch``):
merchant m01, which sells clothing, opens home appliances on day 18. Its stream (every m01
event of the first ``--events`` simulated events) goes through the engine once per arm, with
the settings it ships with. Merchants' models are independent, so leaving the other merchants'
events out changes nothing but the chunk boundaries, and saves 11/12 of the work.

Arms (``propensity`` scored at each first view/click of a (buyer, product), ``risk`` at each order):

* ``scratch``: what "no transfer" means for a new category: a fresh model (zero weights, the
  engine's default features) that sees only the new category, from its launch: its views and
  clicks, the new category's order lines, and the verdicts on orders holding them.
* ``no_transfer``: the engine as it was (``--no-transfer``): one model per merchant and task,
  learning from all categories; the new category just adds examples.
* ``transfer``: ``--transfer``: title embeddings as SimHash tokens and a price band, one
  propensity head per category, a new head warm-started from the most similar category's.
* ``transfer_no_text``: ablation: ``transfer`` without the title tokens and price band (heads,
  warm start, and the embedding-based choice of the source head remain).

Reported per seed and as the mean over seeds: AUC and log loss over the first 1k / 5k / 20k
labelled examples of the new category (in the order they were learned, each scored before it
was learned), their counts, and the merchant's overall AUC. Risk: the simulator's rings only brush
products live when they start, so by default a brushing ring opens on the new category one day
after its launch (``SimConfig(launch_ring_days=1)``; ``--launch-ring-days none`` turns it off).
Risk AUC is reported only when both classes have at least 10 examples; log loss and the number
of false alarms (score > 0.5) always.

    python benchmarks/cold_start.py --events 3800000 --seeds 0 1 2 --out benchmarks/results/cold_start.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import msgspec
import numpy as np
import orjson

from ecomops import engine as engine_mod
from ecomops.core.config import EngineConfig
from ecomops.core.events import Click, Feedback, Order, View
from ecomops.engine import Engine
from ecomops.learn.online.metrics import log_loss, roc_auc
from ecomops.ops.recommend import PurchasePropensity
from ecomops.ops.risk import FakeOrderRisk
from ecomops.sim import SimConfig, Simulator
from ecomops.store import Store
from ecomops.stream.base import ListSource

SIZES = (1000, 5000, 20000)
GRID = (250, 500, 1000, 2000, 3000, 5000, 7500, 10000, 15000, 20000)
ARMS = ("scratch", "no_transfer", "transfer", "transfer_no_text")
MIN_CLASS = 10


class _Launch:
    category = ""
    ts = 0.0
    orders: set = set()  # new-category order ids (risk verdicts on them are the scratch risk labels)


class ScratchPropensity(PurchasePropensity):
    """Purchase propensity knowing nothing but the new category, from its launch on."""

    def observe(self, ev):
        if ev.ts < _Launch.ts:
            return
        if isinstance(ev, (View, Click)):
            if ev.category == _Launch.category:
                super().observe(ev)
        elif isinstance(ev, Order):
            lines = [ln for ln in ev.lines if ln.category == _Launch.category]
            if lines:
                super().observe(msgspec.structs.replace(ev, lines=lines))


class ScratchRisk(FakeOrderRisk):
    def observe(self, ev):
        if ev.ts < _Launch.ts:
            return
        if isinstance(ev, Order) and ev.event_id in _Launch.orders:
            super().observe(ev)
        elif isinstance(ev, Feedback) and ev.target_id in _Launch.orders:
            super().observe(ev)


engine_mod.TASKS.setdefault("propensity_scratch", ScratchPropensity)
engine_mod.TASKS.setdefault("risk_scratch", ScratchRisk)


def launch_stream(seed: int, events: int, which: int = 0, **world) -> dict:
    """The launching merchant's events (JSON bytes) and the truth needed to pick out the new category.

    ``world``: :class:`SimConfig` options (the tests use a small, fast world).
    """
    sim = Simulator(SimConfig(seed=seed, **world))
    launches = [d for d in sim.drift_points() if d["kind"] == "category_launch"]
    d = launches[which]
    m, cat = d["merchant_id"], d["category"]
    payloads, new_orders = [], set()
    for ev, _truth in sim.stream(events):
        if ev["merchant_id"] != m:
            continue
        if ev["type"] == "order" and any(ln.get("category") == cat for ln in ev["lines"]):
            new_orders.add(ev["event_id"])
        payloads.append(orjson.dumps(ev))
    product_cat = {p.product_id: p.category for p in sim.products if p.merchant == int(m[1:]) - 1}
    return {"launch": d, "payloads": payloads, "new_orders": new_orders, "product_cat": product_cat}


def run_arm(arm: str, data: dict, seed: int) -> dict:
    launch = data["launch"]
    _Launch.category, _Launch.ts, _Launch.orders = launch["category"], launch["ts"], data["new_orders"]
    transfer = arm.startswith("transfer")
    cfg = EngineConfig(transfer=transfer, checkpoint_every=1 << 40, checkpoint_seconds=1e12,
                       extra={"transfer_text_features": arm != "transfer_no_text"})
    tasks = ("propensity_scratch", "risk_scratch") if arm == "scratch" else ("propensity", "risk")
    got: dict[str, list] = {t: [] for t in tasks}

    def on_result(_m, name, res):
        if len(res.labels):
            got[name].append((res.keys, res.labels, res.probs))

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        eng = Engine(Store.open(tmp), ListSource(f"m-seed{seed}", data["payloads"]), cfg, tasks=tasks)
        eng.on_result = on_result
        eng.run()
        seconds = time.perf_counter() - t0
        heads = None
        if transfer:
            model = eng.merchants[launch["merchant_id"]]["propensity"].model
            src, sim = model.origin.get(launch["category"], (None, None))
            heads = {"warm_start_from": src, "similarity": None if sim is None else round(sim, 4),
                     "examples_per_head": dict(model.n)}
    prop, risk = tasks
    cat, pc = launch["category"], data["product_cat"]
    out = {"seconds": round(seconds, 1), "heads": heads,
           "propensity": _score(got[prop], lambda k: pc.get(k[1]) == cat, overall=arm != "scratch"),
           "risk": _score(got[risk], lambda k: k in data["new_orders"], overall=arm != "scratch")}
    return out


def _score(chunks, is_new, overall: bool) -> dict:
    keys = [k for ks, _, _ in chunks for k in ks]
    y = np.concatenate([c[1] for c in chunks]) if chunks else np.empty(0)
    p = np.concatenate([c[2] for c in chunks]) if chunks else np.empty(0)
    new = np.fromiter((is_new(k) for k in keys), dtype=bool, count=len(keys))
    yn, pn = y[new], p[new]
    res = {"n_new": int(new.sum()), "positives_new": int(yn.sum()),
           "overall_auc": _auc(y, p) if overall else None}
    for n in SIZES:
        k = min(n, yn.size)
        res[f"first_{n}"] = {"n": int(k), "positives": int(yn[:k].sum()),
                             "auc": _auc(yn[:k], pn[:k]) if k == n else None,
                             "logloss": round(float(log_loss(yn[:k], pn[:k]).mean()), 5) if k else None,
                             "false_alarms": int(((pn[:k] > 0.5) & (yn[:k] < 0.5)).sum())}
    # windows longer than what the run holds get no AUC (k != n): "all_new" scores everything there is
    res["all_new"] = {"n": int(yn.size), "positives": int(yn.sum()), "auc": _auc(yn, pn),
                      "logloss": round(float(log_loss(yn, pn).mean()), 5) if yn.size else None}
    res["curve"] = [{"n": n, "auc": _auc(yn[:n], pn[:n])} for n in GRID if n <= yn.size]
    return res


def _auc(y, p) -> float | None:
    pos = int((y >= 0.5).sum())
    if pos < MIN_CLASS or y.size - pos < MIN_CLASS:
        return None
    return round(float(roc_auc(y, p)), 5)


def _mean(vals):
    vals = [v for v in vals if v is not None]
    return round(float(np.mean(vals)), 5) if vals else None


def summarize(per_seed: dict) -> dict:
    out = {}
    for arm in ARMS:
        runs = [per_seed[s][arm] for s in per_seed if arm in per_seed[s]]
        if not runs:
            continue
        arm_out = {"seconds": _mean([r["seconds"] for r in runs])}
        for model in ("propensity", "risk"):
            m = {"n_new": _mean([r[model]["n_new"] for r in runs]),
                 "positives_new": _mean([r[model]["positives_new"] for r in runs]),
                 "overall_auc": _mean([r[model]["overall_auc"] for r in runs])}
            for k in [f"first_{n}" for n in SIZES] + ["all_new"]:
                m[k] = {"auc": _mean([r[model][k]["auc"] for r in runs]),
                        "logloss": _mean([r[model][k]["logloss"] for r in runs]),
                        "seeds_with_auc": sum(r[model][k]["auc"] is not None for r in runs)}
            arm_out[model] = m
        out[arm] = arm_out
    return out


def plot(per_seed: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    styles = {"scratch": ("#888888", "--"), "no_transfer": ("#d62728", "-."),
              "transfer": ("#1f77b4", "-"), "transfer_no_text": ("#1f77b4", ":")}
    for arm, (color, ls) in styles.items():
        curves = [per_seed[s][arm]["propensity"]["curve"] for s in per_seed if arm in per_seed[s]]
        if not curves:
            continue
        for c in curves:
            ax.plot([q["n"] for q in c], [q["auc"] for q in c], color=color, ls=ls, lw=0.6, alpha=0.35)
        ns = [n for n in GRID if all(any(q["n"] == n for q in c) for c in curves)]
        mean = [np.mean([next(q["auc"] for q in c if q["n"] == n) for c in curves]) for n in ns]
        ax.plot(ns, mean, color=color, ls=ls, lw=2, marker="o", ms=3, label=arm.replace("_", " "))
    ax.set_xscale("log")
    ax.set_xlabel("labelled examples of the new category since its launch")
    ax.set_ylabel("AUC over those examples (cumulative)")
    ax.set_title(f"Purchase propensity on a new category (home appliances at m01), {len(per_seed)} seeds")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(events: int = 3_800_000, seeds=(0, 1, 2), arms=ARMS, which: int = 0, progress: bool = True,
        launch_ring_days: float | None = 1.0) -> dict:
    per_seed, t0 = {}, time.perf_counter()
    load_s = None
    if any(a.startswith("transfer") for a in arms):  # load the encoder once, outside the arms' timings
        from ecomops.ops.coldstart import title_codes

        title_codes("default")
        load_s = round(time.perf_counter() - t0, 1)
    for seed in seeds:
        ts = time.perf_counter()
        data = launch_stream(seed, events, which, launch_ring_days=launch_ring_days)
        sim_s = time.perf_counter() - ts
        per_seed[seed] = {"launch": data["launch"], "merchant_events": len(data["payloads"]),
                          "sim_seconds": round(sim_s, 1)}
        for arm in arms:
            per_seed[seed][arm] = run_arm(arm, data, seed)
            if progress:
                r = per_seed[seed][arm]["propensity"]
                print(f"seed {seed} {arm:17s} {per_seed[seed][arm]['seconds']:6.1f}s  new={r['n_new']:6d}  "
                      + "  ".join(f"@{n}: {r[f'first_{n}']['auc']}" for n in SIZES), file=sys.stderr)
    return {
        "benchmark": "cold_start",
        "events": events,
        "seeds": list(seeds),
        "launch_ring_days": launch_ring_days,
        "sizes": list(SIZES),
        "arms": {a: ARM_DOC[a] for a in arms},
        "summary": summarize(per_seed),
        "per_seed": {str(s): {k: v for k, v in d.items()} for s, d in per_seed.items()},
        "seconds": round(time.perf_counter() - t0, 1),
        "encoder_load_seconds": load_s,
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "threads": os.environ.get("OMP_NUM_THREADS")},
        "command": " ".join(["cold_start.py", *sys.argv[1:]]),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


ARM_DOC = {
    "scratch": "fresh model (zero weights, default features) that sees only the new category, from its launch",
    "no_transfer": "the engine with --no-transfer: one model per merchant and task, all categories",
    "transfer": "the engine with --transfer: title SimHash tokens + price band, per-category heads, "
                "new head warm-started from the most similar category (title embeddings)",
    "transfer_no_text": "ablation: --transfer without the title tokens and price band features",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=3_800_000, help="simulated events (all merchants)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    ap.add_argument("--launch", type=int, default=0, help="which category launch (0: day 18; 1: day 120 needs ~7M events)")
    ap.add_argument("--launch-ring-days", type=lambda v: None if v.lower() == "none" else float(v), default=1.0,
                    help="a brushing ring starts on the new category this many days after launch ('none': no ring)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/cold_start.json"))
    args = ap.parse_args()
    result = run(args.events, tuple(args.seeds), tuple(args.arms), args.launch,
                 launch_ring_days=args.launch_ring_days)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    plot(result["per_seed"], args.out.with_suffix(".png"))
    print(json.dumps(result["summary"], indent=2))


if __name__ == "__main__":
    main()
