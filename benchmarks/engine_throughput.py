"""End-to-end engine throughput: simulator -> intake -> dedup -> features -> FTRL -> SQLite.

Measures, on the same simulated stream, how much of the time each stage takes, by running the
pipeline cut at successive stages: generation only, generation + validation, and the full engine
(with checkpoints). Usage::

    python benchmarks/engine_throughput.py --events 1000000 --out benchmarks/results/engine_throughput.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

from ecomops.core.config import EngineConfig
from ecomops.engine import Engine
from ecomops.store import Store
from ecomops.stream import open_source
from ecomops.stream.intake import parse


def run(events: int = 1_000_000, seed: int = 0) -> dict:
    t0 = time.perf_counter()
    for _ in open_source("sim", events=events, seed=seed).read():
        pass
    gen = time.perf_counter() - t0

    t0 = time.perf_counter()
    for rec in open_source("sim", events=events, seed=seed).read():
        parse(rec)
    intake = time.perf_counter() - t0

    # warm the numba caches so compile time is not billed to the stream
    with tempfile.TemporaryDirectory() as d:
        Engine(Store.open(d), open_source("sim", events=5_000, seed=seed + 1)).run()
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        s = Engine(Store.open(d), open_source("sim", events=events, seed=seed), EngineConfig()).run()
        full = time.perf_counter() - t0
    return {
        "events": events,
        "stages": [
            {"stage": "simulator only", "seconds": round(gen, 2), "events_per_s": round(events / gen)},
            {"stage": "simulator + validation", "seconds": round(intake, 2), "events_per_s": round(events / intake)},
            {"stage": "full engine (2 models x 12 merchants, checkpoints)", "seconds": round(full, 2),
             "events_per_s": round(events / full)},
        ],
        "models": {k: {m: v[m] for m in ("n", "cum_logloss", "cum_auc")} for k, v in s.models.items()},
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "command": "engine_throughput.py " + " ".join(sys.argv[1:]),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args()
    res = run(args.events, args.seed)
    text = json.dumps(res, indent=2)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
