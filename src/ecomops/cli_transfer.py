"""``ecomops transfer ...`` and ``ecomops bench transfer``: transfer learning on users' own texts.

A labelled *source* (e.g. last year's product reviews) teaches a classifier that must work on a
*target* (a new category, a new marketplace) where few or no labels exist. Data files are CSV,
JSONL or Blitzer review folders (see :mod:`ecomops.learn.transfer.data`).

Registered on the main app by :func:`register` (called from ``ecomops.cli``); nothing heavy (torch,
transformers) is imported until a command runs.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .core.errors import EcomopsError

__all__ = ["transfer_app", "bench_transfer", "register"]

METHOD_NAMES = ("source_only, coral, mmd, dann, self_training, prototypes, prompt, finetune, finetune_last2, lora, "
                "or STAGE+ADAPTER such as finetune+dann (`ecomops transfer methods` lists them)")

transfer_app = typer.Typer(
    help="Transfer learning on your own texts: train on a labelled source, adapt to a target with few "
    "or no labels, predict. Data: FILE.csv / FILE.jsonl (a text column and a label column) or a "
    "folder with positive.review / negative.review (Blitzer et al., 2007).",
    no_args_is_help=True,
)

console = Console(stderr=True)
out = Console()


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add ``transfer`` to the main app and ``transfer`` to ``bench``."""
    app.add_typer(transfer_app, name="transfer")
    bench_app.command("transfer")(bench_transfer)


def _fail(msg: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {escape(str(msg))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _emit_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")


def _pipeline():
    """``(TransferModel, METHODS)``, or a clear message when the transfer extras are missing."""
    try:
        from .learn.transfer.pipeline import METHODS, TransferModel
    except ImportError as exc:
        _fail(f"transfer learning needs torch and transformers: pip install 'ecomops[transfer]' ({exc})")
    return TransferModel, METHODS


def _check_method(method: str, methods: dict) -> None:
    if method in methods:
        return
    try:  # STAGE+ADAPTER combinations beyond the listed ones
        from .learn.transfer.pipeline import parse_method

        parse_method(method)
    except (ImportError, EcomopsError):
        _fail(f"unknown method {method!r}; choose one of: {', '.join(methods)}, or STAGE+ADAPTER such as "
              "finetune+dann (`ecomops transfer methods` describes them)")


@contextlib.contextmanager
def _quiet_stdout(json_out: bool):
    """In --json mode anything a library prints goes to stderr, so stdout stays pure JSON."""
    if json_out:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    else:
        yield


def _read(path: Path, text_col: str, label_col: str, require_labels: bool, what: str):
    from .learn.transfer.data import read_dataset

    try:
        return read_dataset(path, text_col=text_col, label_col=label_col, require_labels=require_labels)
    except EcomopsError as exc:
        _fail(f"{what}: {exc}")


# -- ecomops transfer methods ------------------------------------------------------------------


@transfer_app.command("methods")
def methods_cmd(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the transfer methods with a line on each."""
    _, methods = _pipeline()
    if json_out:
        _emit_json(dict(methods))
        return
    t = Table(title="transfer methods")
    t.add_column("method", no_wrap=True)
    t.add_column("what it does")
    for name, desc in methods.items():
        t.add_row(name, escape(str(desc)))
    out.print(t)


# -- ecomops transfer fit ----------------------------------------------------------------------


@transfer_app.command("fit")
def fit_cmd(
    source: Path = typer.Option(..., help="Labelled source data: FILE.csv, FILE.jsonl or a Blitzer folder."),
    target: Path = typer.Option(
        ..., help="Target data (labels optional): its texts are the unlabelled adaptation set; labelled rows "
        "not used for training measure the accuracy."
    ),
    target_labels: int = typer.Option(
        0, "--target-labels", "-k", help="How many labelled target rows to train on (few-shot; class-stratified, "
        "chosen by --seed). 0 = unsupervised adaptation."
    ),
    method: str = typer.Option("finetune+self_training", help=f"Transfer method: {METHOD_NAMES}."),
    out_dir: Path = typer.Option(..., "--out", help="Folder to save the trained model in."),
    encoder: str = typer.Option("default", help="Text encoder: 'default' (bundled MiniLM) or a local model folder."),
    text_col: str = typer.Option("text", help="Column (CSV) or field (JSONL) holding the text."),
    label_col: str = typer.Option("label", help="Column or field holding the label (kept as a string)."),
    seed: int = typer.Option(0, help="Seed: few-shot choice and training."),
    epochs: Optional[int] = typer.Option(None, min=1, help="Training epochs (default: the method's own)."),
    cache: Optional[Path] = typer.Option(None, help="Embedding cache folder (default $ECOMOPS_CACHE or ~/.cache/ecomops)."),
    json_out: bool = typer.Option(False, "--json", help="Print only a JSON summary on stdout (no progress bars)."),
) -> None:
    """Train a classifier on SOURCE that works on TARGET, and save it to --out.

    With labels in TARGET beyond the --target-labels used for training, the accuracy on those held-out target rows is reported; otherwise it is null.
    """
    from .learn.transfer.data import split_labeled

    TransferModel, methods = _pipeline()
    _check_method(method, methods)
    if target_labels < 0:
        _fail(f"--target-labels must be >= 0, not {target_labels}")
    src = _read(source, text_col, label_col, True, "--source")
    tgt = _read(target, text_col, label_col, False, "--target")
    classes = src.classes
    if tgt.has_labels:
        foreign = sorted(set(tgt.classes) - set(classes))
        if foreign:
            _fail(f"--target {tgt.origin} has labels {', '.join(map(repr, foreign))} that the source does not "
                  f"(source labels: {', '.join(map(repr, classes))}); the same label strings must name the same "
                  "classes in both files")
    if target_labels and not tgt.has_labels:
        _fail(f"--target-labels {target_labels} needs labels in --target {tgt.origin} (column {label_col!r}; "
              "pick it with --label-col), or use --target-labels 0")
    try:
        few_idx, rest_idx = split_labeled(tgt, target_labels, seed)
    except EcomopsError as exc:
        _fail(f"--target-labels: {exc}")
    adapt_idx = rest_idx or few_idx
    eval_idx = [i for i in rest_idx if tgt.labels is not None and tgt.labels[i] is not None]
    if not json_out:
        console.print(
            f"source {escape(src.origin)}: {len(src):,} rows, classes {escape(', '.join(classes))} | target {escape(tgt.origin)}: "
            f"{len(tgt):,} rows ({len(few_idx):,} labelled for training, {len(adapt_idx):,} for adaptation, "
            f"{len(eval_idx):,} labelled held out)",
            highlight=False,
        )
    t0 = time.perf_counter()
    try:
        with _quiet_stdout(json_out):
            model = TransferModel(method=method, encoder=encoder, seed=seed, epochs=epochs,
                                  progress=not json_out, cache_dir=str(cache) if cache else None)
            model.fit(
                src.texts,
                src.labels,
                [tgt.texts[i] for i in adapt_idx],
                target_labeled_texts=[tgt.texts[i] for i in few_idx] if few_idx else None,
                target_labels=[tgt.labels[i] for i in few_idx] if few_idx else None,
            )
            accuracy = None
            if eval_idx:
                pred = model.predict([tgt.texts[i] for i in eval_idx])
                accuracy = sum(str(p) == tgt.labels[i] for p, i in zip(pred, eval_idx)) / len(eval_idx)
            out_dir.mkdir(parents=True, exist_ok=True)
            model.save(out_dir)
    except (EcomopsError, ValueError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write the model to {out_dir}: {exc}")
    seconds = time.perf_counter() - t0
    result = {
        "method": method,
        "target_accuracy": accuracy,
        "n_eval": len(eval_idx),
        "n_source": len(src),
        "n_target": len(tgt),
        "k": len(few_idx),
        "classes": [str(c) for c in getattr(model, "classes_", classes)],
        "encoder": encoder,
        "seed": seed,
        "seconds": round(seconds, 2),
        "source": src.origin,
        "target": tgt.origin,
        "out": str(out_dir),
    }
    if json_out:
        _emit_json(result)
        return
    if accuracy is None:
        acc = escape("target accuracy: n/a (the target has no labels beyond the "
                     f"{len(few_idx)} used for training; add a {label_col!r} column to measure it)")
    else:
        acc = f"target accuracy [bold]{accuracy:.4f}[/] on {len(eval_idx):,} held-out labelled target rows"
    out.print(f"[bold]{method}[/] (k={len(few_idx)}): {acc} | model saved to {escape(str(out_dir))} | {seconds:.1f}s",
              highlight=False)


# -- ecomops transfer predict ------------------------------------------------------------------


@transfer_app.command("predict")
def predict_cmd(
    model_dir: Path = typer.Option(..., "--model", help="A folder written by `ecomops transfer fit --out`."),
    input_path: Path = typer.Option(..., "--input", help="Texts to label: FILE.csv, FILE.jsonl or a Blitzer folder."),
    text_col: str = typer.Option("text", help="Column (CSV) or field (JSONL) holding the text."),
    label_col: str = typer.Option("label", help="If present, the true labels: the accuracy is reported."),
    output: Optional[Path] = typer.Option(None, help="Write every prediction to this CSV file."),
    show: int = typer.Option(10, min=0, help="How many rows to show (human output)."),
    cache: Optional[Path] = typer.Option(None, help="Embedding cache folder (default $ECOMOPS_CACHE or ~/.cache/ecomops)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON: every prediction with its probability."),
) -> None:
    """Label each row of --input with a trained model; labels are the strings it was trained on."""
    import numpy as np

    TransferModel, _ = _pipeline()
    if not model_dir.is_dir():
        _fail(f"--model {model_dir}: no such folder; train one with `ecomops transfer fit --out {model_dir}`")
    ds = _read(input_path, text_col, label_col, False, "--input")
    try:
        with _quiet_stdout(json_out):
            try:
                model = TransferModel.load(model_dir, cache_dir=str(cache) if cache else None, progress=not json_out)
            except (OSError, KeyError, ValueError) as exc:
                raise EcomopsError(f"--model {model_dir}: not a saved transfer model ({exc})") from None
            proba = np.asarray(model.predict_proba(ds.texts), dtype=float)
    except EcomopsError as exc:
        _fail(str(exc))
    classes = [str(c) for c in model.classes_]
    best = proba.argmax(axis=1) if len(proba) else np.zeros(0, dtype=int)
    labels = [classes[j] for j in best]
    conf = [float(proba[i, j]) for i, j in enumerate(best)]
    counts = Counter(labels)
    truth = [(i, lab) for i, lab in enumerate(ds.labels or []) if lab is not None]
    accuracy = sum(labels[i] == lab for i, lab in truth) / len(truth) if truth else None
    if truth and not set(classes) & {lab for _, lab in truth}:
        found = ", ".join(sorted({lab for _, lab in truth}))
        console.print("[yellow]warning:[/] " + escape(f"the labels in {ds.origin} ({found}) are none of the "
                                                       f"model's ({', '.join(classes)})"), highlight=False)
    if output:
        try:
            _write_predictions(output, ds, labels, conf, proba, classes)
        except OSError as exc:
            _fail(f"--output {output}: {exc}")
    result = {
        "predictions": [{"line": ds.lines[i], "label": labels[i], "proba": round(conf[i], 6)} for i in range(len(ds))],
        "n": len(ds),
        "classes": classes,
        "counts": {c: counts.get(c, 0) for c in classes},
    }
    if accuracy is not None:
        result["accuracy"] = accuracy
        result["n_labeled"] = len(truth)
    if output:
        result["output"] = str(output)
    if json_out:
        _emit_json(result)
        return
    t = Table(title=f"predictions for {escape(ds.origin)} (first {min(show, len(ds))} of {len(ds):,})")
    short = max(len(c) for c in classes)
    t.add_column("line", justify="right", no_wrap=True, min_width=4)
    t.add_column("text", overflow="ellipsis", no_wrap=True, max_width=max(20, out.width - 30 - 2 * short))
    t.add_column("label", no_wrap=True, min_width=min(short, 12))
    t.add_column("proba", justify="right", no_wrap=True, min_width=5)
    if ds.labels is not None:
        t.add_column("true", no_wrap=True, min_width=min(short, 12))
    for i in range(min(show, len(ds))):
        row = [str(ds.lines[i]), escape(ds.texts[i].replace("\n", " ")), escape(labels[i]), f"{conf[i]:.3f}"]
        if ds.labels is not None:
            row.append(escape(ds.labels[i] or ""))
        t.add_row(*row)
    out.print(t)
    out.print("labels: " + ", ".join(f"{c} {counts.get(c, 0):,}" for c in classes), highlight=False)
    if accuracy is not None:
        out.print(f"accuracy [bold]{accuracy:.4f}[/] on {len(truth):,} labelled rows", highlight=False)
    if output:
        out.print(f"wrote {len(ds):,} predictions to {escape(str(output))}", highlight=False)


def _write_predictions(path: Path, ds, labels, conf, proba, classes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        head = ["line", "text", "predicted", "proba", *[f"proba_{c}" for c in classes]]
        if ds.labels is not None:
            head.append("label")
        w.writerow(head)
        for i in range(len(ds)):
            row = [ds.lines[i], ds.texts[i], labels[i], f"{conf[i]:.6f}", *[f"{p:.6f}" for p in proba[i]]]
            if ds.labels is not None:
                row.append(ds.labels[i] or "")
            w.writerow(row)


# -- ecomops bench transfer --------------------------------------------------------------------


def _default_blitzer() -> Path:
    if os.environ.get("ECOMOPS_DATA"):
        return Path(os.environ["ECOMOPS_DATA"]) / "blitzer"
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "blitzer"


def _parse_pairs(spec: str, data: Path) -> list[tuple[str, str]]:
    domains = sorted(p.name for p in data.iterdir() if p.is_dir()) if data.is_dir() else []
    pairs = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        bits = [b.strip() for b in part.split(":")]
        if len(bits) != 2 or not all(bits):
            _fail(f"--pairs: {part!r} is not SOURCE:TARGET; write e.g. --pairs books:dvd,dvd:kitchen")
        for b in bits:
            if b not in domains:
                _fail(f"--pairs: no domain folder {b!r} in {data} (domains there: {', '.join(domains) or 'none'})")
        pairs.append((bits[0], bits[1]))
    if not pairs:
        _fail("--pairs is empty; write e.g. --pairs books:dvd,dvd:kitchen")
    return pairs


def _parse_ks(spec: str) -> list[int]:
    ks = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            k = int(part)
        except ValueError:
            _fail(f"--ks: {part!r} is not a whole number; write e.g. --ks 0,20,50")
        if k < 0:
            _fail(f"--ks: {k} is negative")
        ks.append(k)
    if not ks:
        _fail("--ks is empty; write e.g. --ks 0,20,50")
    return ks


def bench_transfer(
    data: Optional[Path] = typer.Option(
        None, help="Blitzer data: one folder per domain with positive.review / negative.review "
        "(default $ECOMOPS_DATA/blitzer or ../shared/data/blitzer)."
    ),
    pairs: Optional[str] = typer.Option(None, help="SOURCE:TARGET pairs, e.g. books:dvd,dvd:kitchen (default: the benchmark's)."),
    methods: Optional[str] = typer.Option(None, help=f"Comma-separated methods (default: the benchmark's); from {METHOD_NAMES}."),
    ks: Optional[str] = typer.Option(None, help="Labelled target rows per run, e.g. 0,20,50 (default: the benchmark's)."),
    seed: int = typer.Option(0, help="Seed."),
    quick: bool = typer.Option(False, help="A small, fast run (fewer rows and epochs)."),
    out_path: Optional[Path] = typer.Option(None, "--out", help="Also write the JSON here."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Domain transfer on Amazon reviews (Blitzer et al.): accuracy of each method on each pair."""
    data = data or _default_blitzer()
    if not data.is_dir():
        _fail(f"no Blitzer data at {data}: pass --data DIR (a folder per domain, e.g. books/ and dvd/, each with "
              "positive.review and negative.review) or set $ECOMOPS_DATA")
    pair_list = _parse_pairs(pairs, data) if pairs is not None else None
    ks_list = _parse_ks(ks) if ks is not None else None
    method_list = None
    if methods is not None:
        method_list = [m.strip() for m in methods.split(",") if m.strip()]
        if not method_list:
            _fail(f"--methods is empty; choose from {METHOD_NAMES}")
    from .cli import _load_benchmark

    bench = _load_benchmark("transfer")
    domains = getattr(bench, "DOMAINS", None)
    for pair in pair_list or []:
        for d in pair:
            if domains and d not in domains:
                _fail(f"--pairs: the benchmark covers the domains {', '.join(domains)}, not {d!r}")
    known = tuple(getattr(bench, "FROZEN", ())) + tuple(getattr(bench, "TUNED", ()))
    for m in method_list or []:
        if known and m not in known:
            _fail(f"unknown method {m!r} for the benchmark; choose from {', '.join(known)}")
    if method_list and not known:
        _, all_methods = _pipeline()
        for m in method_list:
            _check_method(m, all_methods)
    try:
        with _quiet_stdout(json_out):
            result = bench.run(data_dir=str(data), pairs=pair_list, methods=method_list, ks=ks_list, seed=seed,
                               progress=not json_out, quick=quick)
    except EcomopsError as exc:
        _fail(str(exc))
    except SystemExit as exc:  # the benchmark's own argument errors
        if isinstance(exc.code, str):
            _fail(exc.code)
        raise
    if out_path:
        try:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            out_path.write_text(json.dumps(result, indent=2, default=str) + "\n")
        except OSError as exc:
            _fail(f"--out {out_path}: {exc}")
    if json_out:
        _emit_json(result)
        return
    _print_bench(result)
    if out_path:
        out.print(f"wrote {escape(str(out_path))}", highlight=False)


def _rows(result, *keys) -> list[dict]:
    if isinstance(result, dict):
        for key in keys:
            rows = result.get(key)
            if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
                return rows
    return []


def _pct(x) -> str:
    return "-" if x is None else f"{x:.4f}"


def _print_bench(result) -> None:
    rows = _rows(result, "pairs", "results", "rows")
    eff = _rows(result, "label_efficiency")
    if not rows and not eff:
        out.print_json(json.dumps(result, default=str))
        return
    if rows:
        t = Table(title="transfer benchmark: accuracy on the target domain")
        for c in ("source", "target", "method", "accuracy", "seconds"):
            t.add_column(c, justify="right" if c in ("accuracy", "seconds") else "left", no_wrap=True)
        for r in rows:
            sec = r.get("seconds")
            t.add_row(escape(str(r.get("source", ""))), escape(str(r.get("target", ""))),
                      escape(str(r.get("method", ""))), _pct(r.get("accuracy", r.get("target_accuracy"))),
                      "-" if sec is None else f"{sec:.1f}")
        out.print(t)
    methods = (result.get("summary") or {}).get("methods") or {}
    if methods:
        t = Table(title="mean over pairs (%)")
        for c in ("method", "mean", "min", "pairs", "s/pair"):
            t.add_column(c, justify="left" if c == "method" else "right", no_wrap=True)
        for m, v in sorted(methods.items(), key=lambda kv: -kv[1].get("mean_accuracy", 0)):
            t.add_row(escape(m), str(v.get("mean_accuracy", "-")), str(v.get("min_accuracy", "-")),
                      str(v.get("pairs", "-")), str(v.get("mean_seconds_per_pair", "-")))
        out.print(t)
    if eff:
        t = Table(title="label efficiency: target accuracy with k labelled target reviews",
                  caption="transfer: from the source; target only: fine-tuned / frozen encoder, no source")
        for c in ("target", "source", "k", "transfer", "target only", "frozen"):
            t.add_column(c, justify="left" if c in ("target", "source") else "right", no_wrap=True,
                         min_width={"k": 4}.get(c, len(c)))
        for r in eff:
            t.add_row(escape(str(r.get("target", ""))), escape(str(r.get("source", ""))), str(r.get("k", "")),
                      _pct(r.get("with_transfer")), _pct(r.get("target_only")), _pct(r.get("target_only_frozen")))
        out.print(t)
