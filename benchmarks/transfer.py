"""Cross-category transfer on the Blitzer multi-domain sentiment benchmark (Blitzer et al. 2007).

Protocol (Ganin et al. 2016, DANN): for each of the 12 source -> target pairs of books, dvd,
electronics and kitchen, train on the 2,000 labelled source reviews plus the target's review
texts without their labels; report accuracy on the target's 2,000 labelled reviews. Nothing is
tuned on target labels: hyper-parameters are fixed in code before the run, and model selection
uses a held-out slice of the *source* reviews.

Label efficiency: per target, a fixed stratified half (1,000 reviews) is the pool labels are drawn
from (k in 0..1000, nested), the other half is the test set. "with transfer" starts from the
source-fine-tuned encoder (the source chosen without labels: the category whose mean embedding is
closest to the target's); "target only" fine-tunes the pre-trained encoder on the k labels alone.

    python benchmarks/transfer.py --data ../shared/data/blitzer --out benchmarks/results/transfer.json
    ecomops bench transfer --data ../shared/data/blitzer --pairs books:dvd --methods finetune --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ecomops.learn.transfer.data import TextDataset, read_blitzer_domain, split_labeled  # noqa: E402
from ecomops.learn.transfer.encoder import TextEncoder  # noqa: E402
from ecomops.learn.transfer.finetune import FineTuner  # noqa: E402
from ecomops.learn.transfer.pipeline import FINETUNE_DEFAULTS  # noqa: E402

DOMAINS = ("books", "dvd", "electronics", "kitchen")
FROZEN = ("source_only", "coral", "mmd", "dann", "self_training", "prototypes", "prompt")
TUNED = ("finetune", "finetune+source_only", "finetune+coral", "finetune+mmd", "finetune+dann",
         "finetune+self_training", "finetune+prototypes")
KS = (0, 20, 50, 100, 200, 400, 1000)
PUBLISHED = {  # mean target accuracy over the same 12 pairs (../shared/data/README.md)
    "DANN (raw BoW), Ganin et al. 2016": 76.3,
    "DANN (mSDA features), Ganin et al. 2016": 81.3,
    "BERT-DAAT": 90.1,
    "BERT-GAST, Zhang et al. 2022": 91.0,
    "UDALM, Karouzos et al. 2021": 91.7,
}
# Zero-shot class descriptions for the prompt method: label names, not tuned wording.
BLITZER_PROMPTS = {"0": "a negative review: the buyer is disappointed",
                   "1": "a positive review: the buyer is satisfied"}
# Fixed before any run (common practice for small BERTs); not tuned on target reviews.
FT = {**FINETUNE_DEFAULTS, "batch_size": 16}


def _adapter(name: str, seed: int, encoder=None):
    if name == "prompt":
        from ecomops.learn.transfer.prompt import PromptClassifier

        return PromptClassifier(encoder, classes=["0", "1"], label_prompts=BLITZER_PROMPTS, seed=seed)
    from ecomops.learn.transfer.adapters import make_adapter

    return make_adapter(name, seed=seed)


def _acc(p: np.ndarray, y: np.ndarray) -> float:
    return float((p.argmax(1) == y).mean())


def _log(progress, msg):
    if progress:
        print(msg, file=sys.stderr, flush=True)


def load_domains(data_dir, quick: bool, seed: int):
    out = {}
    for d in DOMAINS:
        ds = read_blitzer_domain(Path(data_dir) / d)
        texts, y = ds.texts, np.array([int(v) for v in ds.labels])
        if quick:  # smoke runs: a stratified 200 per domain
            idx, _ = split_labeled(_Sub(texts, y), 200, seed)
            texts, y = [texts[i] for i in idx], y[idx]
        out[d] = (ds, list(texts), y)
    return out


def run(data_dir=None, pairs=None, methods=None, ks=None, seed=0, progress=True, quick=False,
        sections=("pairs", "efficiency"), encoder="default", device="cpu", target_only="finetune",
        cache_dir=None, work_dir=None, on_section=None) -> dict:
    import torch

    t_start = time.time()
    data_dir = data_dir or os.environ.get("ECOMOPS_DATA", str(ROOT.parent / "shared" / "data")) + "/blitzer"
    pairs = [tuple(p) for p in pairs] if pairs else [(s, t) for s in DOMAINS for t in DOMAINS if s != t]
    methods = list(methods) if methods else list(FROZEN + TUNED)
    ks = list(ks) if ks is not None else list(KS)
    ft = dict(FT, epochs=1) if quick else dict(FT)
    data = load_domains(data_dir, quick, seed)
    enc = TextEncoder(encoder, max_length=256, cache_dir=cache_dir, device=device)
    result = {"pairs": [], "label_efficiency": [], "cap": [], "timing": {}, "device": device,
              "threads": torch.get_num_threads(), "quick": quick, "finetune": ft, "published": PUBLISHED}

    # Frozen features of every review once (disk-cached: a re-run costs a lookup).
    t0 = time.time()
    frozen = {d: enc.encode(data[d][1], progress=progress, desc=f"encoding {d}") for d in DOMAINS}
    result["timing"]["encode_frozen_s"] = round(time.time() - t0, 1)

    tuned_cache: dict = {}

    def tuned(source):
        """Fine-tune on one source once; every pair from it reuses the encoder and its features.

        With ``work_dir`` the features are kept on disk, so an interrupted run (or a second section
        run later) resumes without fine-tuning again; the recorded seconds are the original ones.
        """
        saved = Path(work_dir) / f"tuned_{source}_seed{seed}_ep{ft['epochs']}_len{ft['max_length']}" \
            f"{'_quick' if quick else ''}.npz" if work_dir else None
        if source not in tuned_cache and saved is not None and saved.exists():
            z = np.load(saved)
            tuned_cache[source] = (None, {d: z[f"feats_{d}"] for d in DOMAINS},
                                   {d: z[f"probs_{d}"] for d in DOMAINS}, float(z["fit_s"]),
                                   {d: float(z[f"emb_s_{d}"]) for d in DOMAINS})
        if source not in tuned_cache:
            _log(progress, f"fine-tuning on {source} ...")
            t = time.time()
            ftm = FineTuner(enc, mode="full", seed=seed, progress=progress, **ft).fit(data[source][1], data[source][2])
            fit_s = time.time() - t
            feats, probs, emb_s = {}, {}, {}
            for d in DOMAINS:
                t = time.time()
                feats[d] = ftm.embed(data[d][1], progress=progress)
                emb_s[d] = time.time() - t
                probs[d] = _probs_from_head(ftm, feats[d])
            tuned_cache[source] = (ftm, feats, probs, fit_s, emb_s)
            if saved is not None:
                saved.parent.mkdir(parents=True, exist_ok=True)
                np.savez(saved, fit_s=fit_s, **{f"feats_{d}": feats[d] for d in DOMAINS},
                         **{f"probs_{d}": probs[d] for d in DOMAINS}, **{f"emb_s_{d}": emb_s[d] for d in DOMAINS})
        return tuned_cache[source]

    if "pairs" in sections:
        for s, t in pairs:
            ys, yt = data[s][2], data[t][2]
            for m in methods:
                t0 = time.time()
                if m in FROZEN:
                    a = _adapter(m, seed, enc).fit(frozen[s], ys, frozen[t])
                    acc, extra = _acc(a.predict_proba(frozen[t]), yt), {}
                    pair_s = time.time() - t0
                elif m in TUNED:
                    ftm, feats, probs, fit_s, emb_s = tuned(s)
                    t0 = time.time()
                    if m == "finetune":
                        acc = _acc(probs[t], yt)
                    else:
                        a = _adapter(m.split("+")[1], seed).fit(feats[s], ys, feats[t])
                        acc = _acc(a.predict_proba(feats[t]), yt)
                    adapt_s = time.time() - t0
                    # what one pair costs alone: fine-tune on the source, embed both sides, adapt
                    pair_s = fit_s + emb_s[s] + emb_s[t] + adapt_s
                    extra = {"finetune_s": round(fit_s, 1), "adapt_s": round(adapt_s, 2)}
                else:
                    raise SystemExit(f"unknown method {m!r}; choose from {', '.join(FROZEN + TUNED)}")
                row = {"source": s, "target": t, "method": m, "accuracy": round(acc, 4),
                       "seconds": round(pair_s, 1), **extra}
                result["pairs"].append(row)
                _log(progress, f"{s:>11} -> {t:<11} {m:<24} {100 * acc:5.1f}  ({pair_s:.0f}s)")

    if on_section is not None:  # keep what is done if a later section fails or is stopped
        on_section(dict(result, summary=summarize(result)))
    if "efficiency" in sections:
        result["label_efficiency"], result["cap"] = _efficiency(data, frozen, enc, ks, seed, ft, target_only,
                                                               progress, tuned)
    result["summary"] = summarize(result)
    result["runtime_s"] = round(time.time() - t_start, 1)
    return result


def _probs_from_head(ftm, feats):
    import torch

    with torch.inference_mode():
        return torch.softmax(ftm.head_(torch.as_tensor(feats, dtype=torch.float32)), -1).double().numpy()


def nearest_source(frozen, target):
    """The category whose mean frozen embedding is closest to the target's: chosen without labels."""
    c = {d: v.mean(0) / np.linalg.norm(v.mean(0)) for d, v in frozen.items()}
    return max((d for d in frozen if d != target), key=lambda d: float(c[d] @ c[target]))


def _efficiency(data, frozen, enc, ks, seed, ft, target_only, progress, tuned):
    rows, caps = [], []
    for t in DOMAINS:
        ds, texts, y = data[t]
        sub = _Sub(texts, y)
        order, _ = split_labeled(sub, len(texts) // 2, seed)  # the label pool; nested draws from it
        pool = set(order)
        test = np.array([i for i in range(len(texts)) if i not in pool])
        s = nearest_source(frozen, t)
        _, feats, probs, _, _ = tuned(s)
        for k in ks:
            if k > len(order):
                continue
            shots = np.array(split_labeled(_Sub([texts[i] for i in order], y[order]), k, seed)[0], dtype=int)
            lab = np.array(order)[shots] if k else np.array([], dtype=int)
            unl = np.array([i for i in range(len(texts)) if i not in set(lab.tolist())])
            t0 = time.time()
            from ecomops.learn.transfer.adapters import make_adapter

            ys = data[s][2]
            a = make_adapter("self_training", seed=seed).fit(
                feats[s], ys, feats[t][unl], feats[t][lab] if k else None, y[lab] if k else None)
            with_tr = _acc(a.predict_proba(feats[t][test]), y[test])
            row = {"target": t, "source": s, "k": k, "with_transfer": round(with_tr, 4),
                   "with_transfer_method": "finetune(source)+self_training(target shots)",
                   "with_transfer_s": round(time.time() - t0, 1)}
            # target only, frozen features: the cheapest baseline
            if k:
                b = make_adapter("source_only", seed=seed).fit(np.zeros((0, frozen[t].shape[1]), np.float32),
                                                             np.zeros(0, np.int64), None, frozen[t][lab], y[lab])
                row["target_only_frozen"] = round(_acc(b.predict_proba(frozen[t][test]), y[test]), 4)
            else:
                row["target_only_frozen"] = round(float(max(y[test].mean(), 1 - y[test].mean())), 4)
            if target_only == "finetune":
                t0 = time.time()
                if k:
                    ftm = FineTuner(enc, mode="full", seed=seed, progress=progress, **ft).fit(
                        [texts[i] for i in lab], y[lab])
                    row["target_only"] = round(_acc(ftm.predict_proba([texts[i] for i in test]), y[test]), 4)
                else:  # no labels, no classifier: the majority class
                    row["target_only"] = row["target_only_frozen"]
                row["target_only_s"] = round(time.time() - t0, 1)
            rows.append(row)
            _log(progress, f"efficiency {t:<11} k={k:<5} with={100 * with_tr:5.1f} target-only="
                           f"{100 * row.get('target_only', row['target_only_frozen']):5.1f}")
        # the cap: what this encoder reaches with the target's own labels (fine-tuned on the pool)
        cap = [r for r in rows if r["target"] == t and r["k"] == max(k for k in ks if k <= len(order))]
        if cap and "target_only" in cap[0]:
            caps.append({"target": t, "in_domain_finetune_1000": cap[0]["target_only"],
                         "in_domain_frozen_1000": cap[0]["target_only_frozen"]})
    return rows, caps


def _Sub(texts, y) -> TextDataset:
    return TextDataset(texts=list(texts), labels=[str(int(v)) for v in y], origin="blitzer",
                       lines=list(range(1, len(texts) + 1)))


def summarize(result) -> dict:
    by = {}
    for r in result["pairs"]:
        by.setdefault(r["method"], []).append(r)
    methods = {m: {"mean_accuracy": round(100 * float(np.mean([r["accuracy"] for r in rs])), 2),
                   "min_accuracy": round(100 * float(np.min([r["accuracy"] for r in rs])), 2),
                   "pairs": len(rs),
                   "mean_seconds_per_pair": round(float(np.mean([r["seconds"] for r in rs])), 1)}
               for m, rs in by.items()}
    out = {"methods": methods}
    if methods:
        best = max(methods, key=lambda m: methods[m]["mean_accuracy"])
        out["best_method"] = best
    eff = result.get("label_efficiency") or []
    claim = []
    for t in sorted({r["target"] for r in eff}):
        rs = {r["k"]: r for r in eff if r["target"] == t}
        if 200 in rs and 1000 in rs and "target_only" in rs[1000]:
            claim.append({"target": t, "with_transfer_k200": rs[200]["with_transfer"],
                          "target_only_k1000": rs[1000]["target_only"],
                          "holds": rs[200]["with_transfer"] >= rs[1000]["target_only"]})
    if claim:
        out["twenty_percent_claim"] = claim
    return out


def plot(result, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    eff = result.get("label_efficiency") or []
    targets = sorted({r["target"] for r in eff})
    fig, axes = plt.subplots(1, max(1, len(targets)), figsize=(4 * max(1, len(targets)), 3.4), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, t in zip(axes, targets):
        rs = sorted((r for r in eff if r["target"] == t), key=lambda r: r["k"])
        k = [max(r["k"], 5) for r in rs]  # k=0 drawn at 5 on the log axis
        ax.plot(k, [100 * r["with_transfer"] for r in rs], "o-", label="with transfer (source fine-tuned)")
        if "target_only" in rs[0]:
            ax.plot(k, [100 * r["target_only"] for r in rs], "s--", label="target only (fine-tuned)")
        ax.plot(k, [100 * r["target_only_frozen"] for r in rs], ":", color="grey", label="target only (frozen)")
        ax.set_xscale("log")
        ax.set_title(f"{t} (transfer from {rs[0]['source']})")
        ax.set_xlabel("labelled target reviews k (0 at 5)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("target accuracy %")
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle("Blitzer label efficiency: accuracy vs labelled target reviews")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(result) -> str:
    """The README tables: accuracy per pair and method, the summary against published numbers,
    and the label-efficiency curve."""
    pairs = sorted({(r["source"], r["target"]) for r in result["pairs"]})
    methods = list(dict.fromkeys(r["method"] for r in result["pairs"]))
    acc = {(r["source"], r["target"], r["method"]): r["accuracy"] for r in result["pairs"]}
    summ = result.get("summary") or summarize(result)
    lines = []
    if pairs:
        short = {"books": "B", "dvd": "D", "electronics": "E", "kitchen": "K"}
        head = [f"{short.get(s, s)}->{short.get(t, t)}" for s, t in pairs]
        lines += ["| method | " + " | ".join(head) + " | mean | min | s/pair (2 cores) |",
                  "|---|" + "---:|" * (len(head) + 3)]
        best = summ.get("best_method")
        for m in methods:
            ms = summ["methods"][m]
            name = f"**{m}**" if m == best else m
            cells = [f"{100 * acc[(s, t, m)]:.1f}" if (s, t, m) in acc else "" for s, t in pairs]
            lines.append(f"| {name} | " + " | ".join(cells) +
                         f" | {ms['mean_accuracy']:.1f} | {ms['min_accuracy']:.1f} | {ms['mean_seconds_per_pair']:.0f} |")
        lines.append("")
        lines += ["| published (same 12 pairs) | mean |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in result.get("published", PUBLISHED).items()]
        if best:
            lines.append(f"| ecomops {best} (this run) | {summ['methods'][best]['mean_accuracy']:.1f} |")
    eff = result.get("label_efficiency") or []
    if eff:
        ks = sorted({r["k"] for r in eff})
        lines += ["", "| target (source) | arm | " + " | ".join(f"k={k}" for k in ks) + " |",
                  "|---|---|" + "---:|" * len(ks)]
        for t in sorted({r["target"] for r in eff}):
            rs = {r["k"]: r for r in eff if r["target"] == t}
            src = next(iter(rs.values()))["source"]
            for arm, label in (("with_transfer", "with transfer"), ("target_only", "target only, fine-tuned"),
                               ("target_only_frozen", "target only, frozen")):
                if any(arm in r for r in rs.values()):
                    cells = [f"{100 * rs[k][arm]:.1f}" if k in rs and arm in rs[k] else "" for k in ks]
                    lines.append(f"| {t} ({src}) | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None, help="Blitzer folder (default $ECOMOPS_DATA/blitzer or ../shared/data/blitzer)")
    ap.add_argument("--pairs", default=None, help="S:T,... (default all 12)")
    ap.add_argument("--methods", default=None, help=f"comma list from {', '.join(FROZEN + TUNED)}")
    ap.add_argument("--ks", default=None, help="label counts for the efficiency curve")
    ap.add_argument("--sections", default="pairs,efficiency")
    ap.add_argument("--target-only", default="finetune", choices=["finetune", "frozen"])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--encoder", default="default", help="'default' (bundled MiniLM) or a local model directory")
    ap.add_argument("--cache", default=None, help="embedding cache directory (default $ECOMOPS_CACHE or ~/.cache/ecomops)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (the target: 2 cores)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="200 reviews per domain, 1 epoch: a smoke run")
    ap.add_argument("--out", default=None)
    ap.add_argument("--work", default=None, help="folder keeping fine-tuned features, so a stopped run resumes")
    ap.add_argument("--plot", default=None)
    ap.add_argument("--markdown", default=None, metavar="JSON",
                    help="print the README tables of a finished result file and exit")
    a = ap.parse_args(argv)
    if a.markdown:
        res = json.loads(Path(a.markdown).read_text())
        if a.plot and res.get("label_efficiency"):
            plot(res, a.plot)
        print(markdown(res))
        return
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    pairs = [tuple(p.split(":")) for p in a.pairs.split(",")] if a.pairs else None
    res = run(a.data, pairs, a.methods.split(",") if a.methods else None,
              [int(k) for k in a.ks.split(",")] if a.ks else None, a.seed, True, a.quick,
              tuple(a.sections.split(",")), encoder=a.encoder, device=a.device, target_only=a.target_only,
              cache_dir=a.cache, work_dir=a.work,
              on_section=(lambda r: Path(a.out).write_text(json.dumps(r, indent=1))) if a.out else None)
    res["command"] = "python benchmarks/transfer.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = json.dumps(res, indent=1)
    if a.out:
        Path(a.out).write_text(text)
    if a.plot and res["label_efficiency"]:
        plot(res, a.plot)
    print(json.dumps(res["summary"], indent=1))


if __name__ == "__main__":
    main()
