"""Write a simulated stream to disk: events, their truth, and the run's ground-truth summary.

``export(n, seed, "out/events.jsonl")`` writes three files side by side:

- ``events.jsonl``: one event per line (orjson), exactly ``Simulator(SimConfig(seed)).stream(n)``;
- ``events.truth.jsonl``: ``{"event_id": ..., **truth}`` for every event that has truth;
- ``events.meta.json``: ``ground_truth()`` with the drift points inside the stream, plus seed and n.

Lines are written in large buffered chunks; memory stays flat however many events.

>>> import tempfile, pathlib, orjson
>>> from ecomops.sim.export import export
>>> out = pathlib.Path(tempfile.mkdtemp()) / "ev.jsonl"
>>> info = export(1000, 3, out, progress=False)
>>> info["events"], len(out.read_bytes().splitlines())
(1000, 1000)
>>> orjson.loads(out.with_suffix(".meta.json").read_bytes())["n_events"]
1000
"""

from __future__ import annotations

from pathlib import Path

import orjson

from .config import SimConfig
from .simulator import Simulator

_FLUSH_EVERY = 8192  # lines buffered before a write: few syscalls, bounded memory


def side_paths(out_path: str | Path) -> tuple[Path, Path, Path]:
    """(events, truth, meta) paths: ``X.jsonl`` -> ``X.truth.jsonl`` and ``X.meta.json``."""
    out = Path(out_path)
    return out, out.with_suffix(".truth.jsonl"), out.with_suffix(".meta.json")


def export(n_events: int, seed: int, out_path: str | Path, progress: bool = True,
           config: SimConfig | None = None) -> dict:
    """Write ``n_events`` simulated events and their truth; returns a small summary dict."""
    cfg = config or SimConfig(seed=seed)
    if cfg.seed != seed:
        raise ValueError(f"seed {seed} disagrees with config.seed {cfg.seed}")
    out, truth_path, meta_path = side_paths(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    sim = Simulator(cfg)
    dumps = orjson.dumps
    n_truth = 0
    bar = _progress(progress, n_events)
    with open(out, "wb") as fe, open(truth_path, "wb") as ft:
        ev_buf: list[bytes] = []
        tr_buf: list[bytes] = []
        for i, (event, truth) in enumerate(sim.stream(n_events), 1):
            ev_buf.append(dumps(event))
            if truth is not None:
                tr_buf.append(dumps({"event_id": event["event_id"], **truth}))
            if i % _FLUSH_EVERY == 0:
                _flush(fe, ev_buf)
                n_truth += _flush(ft, tr_buf)
                if bar is not None:
                    bar.update(i)
        n_truth += _flush(ft, tr_buf)
        _flush(fe, ev_buf)
    meta = sim.ground_truth(upto=n_events)
    meta.update({"n_events": n_events, "seed": seed, "files": {
        "events": out.name, "truth": truth_path.name, "meta": meta_path.name}})
    meta_path.write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2))
    if bar is not None:
        bar.update(n_events)
        bar.close()
    return {"events": n_events, "truth_records": n_truth, "drift_points": len(meta["drift_points"]),
            "fraud_orders": meta["counts"].get("fraud_orders", 0), "out": str(out),
            "truth": str(truth_path), "meta": str(meta_path)}


def _flush(f, buf: list[bytes]) -> int:
    n = len(buf)
    if n:
        f.write(b"\n".join(buf))
        f.write(b"\n")
        buf.clear()
    return n


class _Bar:
    """A rich progress bar that is only imported when someone wants to see it."""

    def __init__(self, total: int):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._p = Progress(TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                           transient=False)
        self._task = self._p.add_task("sim", total=total)
        self._p.start()

    def update(self, done: int) -> None:
        self._p.update(self._task, completed=done)

    def close(self) -> None:
        self._p.stop()


def _progress(enabled: bool, total: int):
    return _Bar(total) if enabled and total > 0 else None
