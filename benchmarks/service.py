"""Load benchmark of `ecomops serve`: ingest and scoring over HTTP from a second process on loopback.

The script starts a real ``ecomops serve`` (a subprocess: its own interpreter, a temporary state
directory, a free loopback port), creates one API key per simulated merchant plus an admin key with
the real CLI, and then, from this process, over keep-alive HTTP/1.1 connections (``http.client``):

1. **Ingest.** ``--events`` simulated events (``ecomops.stream.sim``), each merchant's in stream
   order, in JSON-array batches of ``--batch`` posted to ``POST /v1/events`` from ``--connections``
   concurrent connections, each with the merchant's key. Reported: accepted events/s (every 202
   back) and learned events/s (until ``GET /v1/engine`` shows every event read, the inbox drained
   and checkpointed).
2. **Scoring under live learning.** An open-loop load of ``--rate`` requests/s for ``--duration`` s,
   ``POST /v1/predict/propensity`` and ``/v1/predict/risk`` mixed (``--risk-share``), built from
   simulated views and orders, sent with the merchant's key. Requests are scheduled at fixed
   intervals and latency runs from the *scheduled* send time (no coordinated omission: a stalled
   server is billed for the requests queued behind it). Meanwhile a background ingest keeps posting
   new events at ``--bg-rate`` events/s, so scores are served while the engine learns.
3. **Nothing lost.** At the end the engine must have read exactly the events sent, applied or
   dead-lettered each of them, and its dead letters must be exactly the ones the 202s announced.

Writes the JSON (``--out``) with the command, the machine, the parameters, the results and each
target (met / missed). Progress goes to stderr. Usage::

    python benchmarks/service.py --out benchmarks/results/service.json
    python benchmarks/service.py --quick --json        # a short smoke run
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import orjson

CLI = [sys.executable, "-m", "ecomops.cli"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
TARGETS = {"scoring_p99_ms": 20.0, "scoring_rate_rps": 500.0, "ingest_events_per_s": 5000.0}


def say(msg: str) -> None:
    sys.stderr.write(f"[service-bench {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux /proc), in seconds; 0.0 where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q / 100.0 * len(s) + 0.5)) - 1))]


def latency_summary(ms: list[float]) -> dict:
    return {"n": len(ms), "p50_ms": round(pct(ms, 50), 2), "p90_ms": round(pct(ms, 90), 2),
            "p99_ms": round(pct(ms, 99), 2), "p999_ms": round(pct(ms, 99.9), 2),
            "max_ms": round(max(ms), 2) if ms else float("nan"),
            "mean_ms": round(sum(ms) / len(ms), 2) if ms else float("nan")}


# -- the server --------------------------------------------------------------------------------------
class Server:
    def __init__(self, state: Path, log: Path, flush_interval: float):
        self.state, self.log, self.port = state, log, free_port()
        self.flush_interval = flush_interval
        self.proc: subprocess.Popen | None = None

    def create_key(self, merchant: str, *extra: str) -> str:
        out = subprocess.run([*CLI, "keys", "create", "--merchant", merchant, "--state", str(self.state), "--json",
                              *extra], env=ENV, capture_output=True, text=True, check=True)
        return json.loads(out.stdout)["key"]

    def start(self) -> None:
        fh = open(self.log, "ab")
        # --kb-encoder none: the benchmark measures events and scores, not the knowledge base's encoder
        self.proc = subprocess.Popen([*CLI, "serve", "--state", str(self.state), "--host", "127.0.0.1",
                                      "--port", str(self.port), "--kb-encoder", "none", "--log-level", "warning",
                                      "--flush-interval", str(self.flush_interval)],
                                     env=ENV, stdout=fh, stderr=subprocess.STDOUT)
        fh.close()
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                st, _ = request(self.conn(), "GET", "/healthz", None, {})
                if st == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the server did not become healthy in 180 s")

    def conn(self, timeout: float = 30.0) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=30)


def request(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None,
            headers: dict) -> tuple[int, bytes]:
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    return r.status, r.read()


def auth(key: str, json_body: bool = True) -> dict:
    h = {"Authorization": f"Bearer {key}", "Connection": "keep-alive"}
    if json_body:
        h["Content-Type"] = "application/json"
    return h


def engine_status(server: Server, admin: str) -> dict:
    c = server.conn()
    try:
        st, body = request(c, "GET", "/v1/engine", None, auth(admin, False))
    finally:
        c.close()
    if st != 200:
        raise RuntimeError(f"/v1/engine answered {st}: {body[:300]!r}")
    return orjson.loads(body)


def wait_learned(server: Server, admin: str, sent: int, timeout: float) -> dict:
    """Poll /v1/engine until the engine has read ``sent`` records and checkpointed all of them."""
    deadline = time.monotonic() + timeout
    while True:
        e = engine_status(server, admin)
        if e["records_read"] is not None and e["records_read"] >= sent and e["inbox_backlog"] == 0:
            return e
        if time.monotonic() > deadline:
            raise RuntimeError(f"the engine did not learn {sent} events in {timeout} s: {e}")
        time.sleep(0.05)


# -- the load ----------------------------------------------------------------------------------------
class Sender:
    """One keep-alive connection; reconnects after a transport error (counted as an error)."""

    def __init__(self, server: Server, timeout: float):
        self.server, self.timeout = server, timeout
        self.conn = server.conn(timeout)

    def post(self, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
        try:
            return request(self.conn, "POST", path, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.conn = self.server.conn(self.timeout)
            return -1, f"{type(exc).__name__}: {exc}".encode()

    def close(self) -> None:
        self.conn.close()


class IngestStats:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent = self.accepted = self.invalid = self.requests = 0
        self.errors: list[str] = []
        self.latency_ms: list[float] = []

    def record(self, n: int, status: int, body: bytes, ms: float) -> None:
        with self.lock:
            self.requests += 1
            self.sent += n
            self.latency_ms.append(ms)
            if status == 202:
                d = orjson.loads(body)
                self.accepted += d["accepted"]
                self.invalid += d["invalid"]
            else:
                self.errors.append(f"{status}: {body[:200]!r}")


def batches_by_merchant(events: list[dict], batch: int) -> dict[str, list[tuple[int, bytes]]]:
    """Each merchant's events in stream order, cut into JSON-array bodies of ``batch`` events."""
    per: dict[str, list[dict]] = defaultdict(list)
    for e in events:
        per[e["merchant_id"]].append(e)
    return {m: [(len(evs[i:i + batch]), orjson.dumps(evs[i:i + batch])) for i in range(0, len(evs), batch)]
            for m, evs in per.items()}


def ingest(server: Server, keys: dict[str, str], events: list[dict], batch: int, connections: int) -> IngestStats:
    """Closed loop, as fast as the server takes it: merchants dealt to connections, batches in order."""
    per = batches_by_merchant(events, batch)
    merchants = sorted(per)
    stats = IngestStats()

    def worker(mine: list[str]) -> None:
        s = Sender(server, 120.0)
        queues = [(m, iter(per[m])) for m in mine]
        while queues:  # round robin over this connection's merchants, each in stream order
            left = []
            for m, it in queues:
                nxt = next(it, None)
                if nxt is None:
                    continue
                n, body = nxt
                t0 = time.perf_counter()
                st, resp = s.post("/v1/events", body, auth(keys[m]))
                stats.record(n, st, resp, (time.perf_counter() - t0) * 1e3)
                left.append((m, it))
            queues = left
        s.close()

    groups = [merchants[i::connections] for i in range(min(connections, len(merchants)))]
    threads = [threading.Thread(target=worker, args=(g,), daemon=True) for g in groups]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return stats


def background_ingest(server: Server, keys: dict[str, str], events: list[dict], rate: float, batch: int,
                      stop: threading.Event, stats: IngestStats) -> None:
    """Paced ingest (``rate`` events/s in batches of ``batch``) until ``stop`` or the events run out."""
    s = Sender(server, 120.0)
    # per-merchant batches (each merchant's events in stream order), posted as each one fills up
    bodies: list[tuple[str, int, bytes]] = []
    cur: dict[str, list[dict]] = defaultdict(list)
    for e in events:
        b = cur[e["merchant_id"]]
        b.append(e)
        if len(b) >= batch:
            bodies.append((e["merchant_id"], len(b), orjson.dumps(b)))
            cur[e["merchant_id"]] = []
    bodies += [(m, len(b), orjson.dumps(b)) for m, b in cur.items() if b]
    t0 = time.perf_counter()
    done = 0
    for m, n, body in bodies:
        if stop.is_set():
            break
        wait = t0 + done / rate - time.perf_counter()
        if wait > 0 and stop.wait(wait):
            break
        ts = time.perf_counter()
        st, resp = s.post("/v1/events", body, auth(keys[m]))
        stats.record(n, st, resp, (time.perf_counter() - ts) * 1e3)
        done += n
    s.close()


def scoring_requests(events: list[dict], keys: dict[str, str], risk_share: float, n: int) -> list[tuple]:
    """(kind, path, body, headers) for ``n`` requests, propensity and risk mixed, from simulated events."""
    prop, risk = [], []
    for e in events:
        m = e["merchant_id"]
        if e["type"] in ("view", "click") and len(prop) < 20_000:
            prop.append(("propensity", "/v1/predict/propensity",
                         orjson.dumps({"buyer_id": e["buyer_id"], "product_id": e["product_id"],
                                       "category": e.get("category"), "kind": e["type"]}), auth(keys[m])))
        elif e["type"] == "order" and len(risk) < 20_000:
            d = {k: e[k] for k in ("buyer_id", "lines", "currency", "account_id", "device_id", "ip", "channel",
                                   "account_created_ts", "country") if e.get(k) is not None}
            d["order_id"] = e["order_id"]
            risk.append(("risk", "/v1/predict/risk", orjson.dumps(d), auth(keys[m])))
    if not prop or not risk:
        raise RuntimeError("the simulated events hold no views or no orders to build scoring requests from")
    out = []
    acc = 0.0
    for i in range(n):  # deterministic interleave at the requested share
        acc += risk_share
        if acc >= 1.0:
            acc -= 1.0
            out.append(risk[i % len(risk)])
        else:
            out.append(prop[i % len(prop)])
    return out


def open_loop(server: Server, reqs: list[tuple], rate: float, workers: int, timeout: float) -> dict:
    """Send ``reqs`` at ``rate``/s on a fixed schedule; latency from each request's scheduled time."""
    q: queue.Queue = queue.Queue()
    lat: dict[str, list[float]] = defaultdict(list)
    service: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    late = [0.0]  # worst delay between a scheduled time and the dispatcher handing the request out

    def worker() -> None:
        s = Sender(server, timeout)
        while True:
            item = q.get()
            if item is None:
                break
            sched, (kind, path, body, headers) = item
            t_send = time.perf_counter()
            st, resp = s.post(path, body, headers)
            t_done = time.perf_counter()
            with lock:
                if st == 200:
                    lat[kind].append((t_done - sched) * 1e3)
                    service.append((t_done - t_send) * 1e3)
                else:
                    errors.append(f"{kind} {st}: {resp[:200]!r}")
        s.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    t0 = time.perf_counter() + 0.1
    for i, r in enumerate(reqs):
        sched = t0 + i / rate
        now = time.perf_counter()
        if sched > now:
            time.sleep(sched - now)
        else:
            late[0] = max(late[0], now - sched)
        q.put((sched, r))
    for _ in threads:
        q.put(None)
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    allms = [x for v in lat.values() for x in v]
    return {
        "requests": len(reqs), "ok": len(allms), "errors": len(errors), "error_samples": errors[:5],
        "target_rate_rps": rate, "achieved_rate_rps": round(len(allms) / wall, 1), "seconds": round(wall, 2),
        "latency_from_schedule": latency_summary(allms),
        "by_model": {k: latency_summary(v) for k, v in sorted(lat.items())},
        "service_time_only": latency_summary(service),
        "dispatcher_max_late_ms": round(late[0] * 1e3, 2),
    }


# -- the run -----------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict:
    from ecomops.stream.sim import SimSource

    load0 = os.getloadavg()
    bg_events = int(args.bg_rate * (args.duration + args.warmup_s + 5)) if args.bg_rate > 0 else 0
    say(f"simulating {args.events} + {bg_events} events (seed {args.seed})")
    events = [r.payload for r in SimSource(events=args.events + bg_events, seed=args.seed).read()]
    main_events, bg = events[:args.events], events[args.events:]
    merchants = sorted({e["merchant_id"] for e in events})

    tmp = Path(tempfile.mkdtemp(prefix="ecomops-service-bench-"))
    server = Server(tmp / "state", tmp / "serve.log", args.flush_interval)
    server.state.mkdir(parents=True)
    try:
        say(f"creating keys for {len(merchants)} merchants + 1 admin with `ecomops keys create`")
        keys = {m: server.create_key(m) for m in merchants}
        admin = server.create_key("ops", "--admin")
        say(f"starting `ecomops serve` on 127.0.0.1:{server.port}")
        server.start()
        pid = server.proc.pid

        # -- 1. ingest ------------------------------------------------------------------------------
        say(f"ingest: {len(main_events)} events, batches of {args.batch}, {args.connections} connections")
        cpu0, t0 = cpu_seconds(pid), time.perf_counter()
        st = ingest(server, keys, main_events, args.batch, args.connections)
        t_acc = time.perf_counter() - t0
        eng = wait_learned(server, admin, st.sent, args.learn_timeout)
        t_learn = time.perf_counter() - t0
        cpu_ing = cpu_seconds(pid) - cpu0
        ingest_res = {
            "events": st.sent, "requests": st.requests, "accepted": st.accepted, "invalid_announced": st.invalid,
            "errors": len(st.errors), "error_samples": st.errors[:5],
            "accept_seconds": round(t_acc, 2), "accepted_events_per_s": round(st.accepted / t_acc),
            "learned_seconds": round(t_learn, 2), "learned_events_per_s": round(st.sent / t_learn),
            "batch_latency": latency_summary(st.latency_ms),
            "server_cpu_seconds": round(cpu_ing, 2), "server_cpu_cores_busy": round(cpu_ing / t_learn, 2),
            "engine_after": {k: eng[k] for k in ("records_read", "events_applied", "dead_letters")},
        }
        say(f"ingest: {ingest_res['accepted_events_per_s']} accepted events/s, "
            f"{ingest_res['learned_events_per_s']} learned events/s, {len(st.errors)} errors")

        # -- 2. scoring under live learning ---------------------------------------------------------
        n_req = int(args.rate * args.duration)
        reqs = scoring_requests(main_events, keys, args.risk_share, n_req + int(args.rate * args.warmup_s))
        idle = None
        if args.idle_duration > 0:  # the same load with the engine idle: what learning costs the scores
            n_idle = int(args.rate * args.idle_duration)
            say(f"scoring, engine idle: {n_idle} requests at {args.rate:g}/s, no background ingest")
            idle = open_loop(server, [reqs[i % len(reqs)] for i in range(n_idle)], args.rate, args.workers,
                             args.timeout)
            lt = idle["latency_from_schedule"]
            say(f"scoring, engine idle: {idle['achieved_rate_rps']} req/s, p50 {lt['p50_ms']} ms, "
                f"p99 {lt['p99_ms']} ms, {idle['errors']} errors")
        bgst = IngestStats()
        stop = threading.Event()
        bg_thread = None
        if args.bg_rate > 0:
            bg_thread = threading.Thread(target=background_ingest, daemon=True,
                                         args=(server, keys, bg, args.bg_rate, args.bg_batch, stop, bgst))
            bg_thread.start()
        warm = reqs[n_req:]
        if warm:
            say(f"scoring warm-up: {len(warm)} requests at {args.rate:g}/s (not counted)")
            open_loop(server, warm, args.rate, args.workers, args.timeout)
        say(f"scoring: {n_req} requests at {args.rate:g}/s for {args.duration:g} s "
            f"(risk share {args.risk_share:g}), background ingest {args.bg_rate:g} events/s")
        cpu0, t0 = cpu_seconds(pid), time.perf_counter()
        sc = open_loop(server, reqs[:n_req], args.rate, args.workers, args.timeout)
        cpu_sc = cpu_seconds(pid) - cpu0
        t_sc = time.perf_counter() - t0
        stop.set()
        if bg_thread is not None:
            bg_thread.join()
        sc["server_cpu_cores_busy"] = round(cpu_sc / t_sc, 2)
        sc["background_ingest"] = {
            "target_events_per_s": args.bg_rate, "batch": args.bg_batch, "events": bgst.sent,
            "accepted": bgst.accepted, "invalid_announced": bgst.invalid, "errors": len(bgst.errors),
            "error_samples": bgst.errors[:5], "batch_latency": latency_summary(bgst.latency_ms),
        }
        lt = sc["latency_from_schedule"]
        say(f"scoring: {sc['achieved_rate_rps']} req/s, p50 {lt['p50_ms']} ms, p99 {lt['p99_ms']} ms, "
            f"max {lt['max_ms']} ms, {sc['errors']} errors")

        # -- 3. nothing lost --------------------------------------------------------------------------
        sent = st.sent + bgst.sent
        eng = wait_learned(server, admin, sent, args.learn_timeout)
        announced = st.invalid + bgst.invalid
        lost = sent - (eng["events_applied"] + eng["dead_letters"])
        accounting = {
            "events_sent": sent, "accepted_202": st.accepted + bgst.accepted,
            "engine_records_read": eng["records_read"], "engine_events_applied": eng["events_applied"],
            "engine_dead_letters": eng["dead_letters"], "invalid_announced_in_202s": announced,
            "unexpected_dead_letters": eng["dead_letters"] - announced,
            "lost": lost, "read_twice": eng["records_read"] - sent,
        }
        say(f"accounting: sent {sent}, applied {eng['events_applied']}, dead letters {eng['dead_letters']} "
            f"(announced {announced}), lost {lost}")
    finally:
        rc = server.stop()
        log_tail = server.log.read_text(errors="replace")[-2000:] if server.log.exists() else ""
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            say(f"kept {tmp}")

    errors = len(st.errors) + sc["errors"] + len(bgst.errors) + (idle["errors"] if idle else 0)
    lt = sc["latency_from_schedule"]
    targets = {
        "scoring_p99_ms<=20_at_500_rps": {
            "target": f"p99 <= {TARGETS['scoring_p99_ms']:g} ms at {TARGETS['scoring_rate_rps']:g} req/s",
            "measured": f"p99 {lt['p99_ms']} ms at {sc['achieved_rate_rps']} req/s",
            "met": bool(lt["p99_ms"] <= TARGETS["scoring_p99_ms"]
                        and sc["achieved_rate_rps"] >= 0.98 * TARGETS["scoring_rate_rps"]),
        },
        "ingest_events_per_s>=5000": {
            "target": f">= {TARGETS['ingest_events_per_s']:g} events/s accepted over HTTP in batches",
            "measured": f"{ingest_res['accepted_events_per_s']} accepted events/s "
                        f"({ingest_res['learned_events_per_s']} learned end to end)",
            "met": bool(ingest_res["accepted_events_per_s"] >= TARGETS["ingest_events_per_s"]),
        },
        "zero_errors_zero_lost": {
            "target": "0 errors, 0 lost events, no unexpected dead letters",
            "measured": f"{errors} errors, {lost} lost, {accounting['unexpected_dead_letters']} unexpected dead letters",
            "met": bool(errors == 0 and lost == 0 and accounting["unexpected_dead_letters"] == 0
                        and accounting["read_twice"] == 0),
        },
    }
    if args.quick:
        for name in ("scoring_p99_ms<=20_at_500_rps", "ingest_events_per_s>=5000"):
            targets[name]["met"] = None  # a smoke run's numbers say nothing about the throughput targets
    return {
        "benchmark": "service",
        "command": "python benchmarks/service.py " + " ".join(sys.argv[1:]),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "note": args.note,
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpu_cores": os.cpu_count(), "loadavg_1_5_15_at_start": [round(x, 2) for x in load0],
                    "loadavg_1_5_15_at_end": [round(x, 2) for x in os.getloadavg()],
                    "server": _server_stack()},
        "parameters": {k: v for k, v in vars(args).items() if k not in ("out", "json", "keep", "note")},
        "ingest": ingest_res,
        "scoring": sc,
        "scoring_engine_idle": idle,
        "accounting": accounting,
        "errors_total": errors,
        "lost": lost,
        "targets": targets,
        "server_exit_code": rc,
        "server_log_tail": log_tail if rc not in (0, -signal.SIGTERM) else "",
    }


def _server_stack() -> dict:
    out = {}
    for mod in ("uvicorn", "fastapi", "starlette", "pydantic", "uvloop", "httptools"):
        try:
            from importlib.metadata import version

            out[mod] = version(mod)
        except Exception:  # noqa: BLE001 - not installed
            out[mod] = None
    return out


DEFAULT_NOTE = ("Server and load generator share the machine's cores; the load averages at start and end show "
                "whether other jobs ran too (then the numbers are pessimistic).")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000, help="events of the ingest phase")
    ap.add_argument("--batch", type=int, default=1000, help="events per POST in the ingest phase")
    ap.add_argument("--connections", type=int, default=4, help="concurrent ingest connections")
    ap.add_argument("--rate", type=float, default=500.0, help="scoring requests per second (open loop)")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds of measured scoring load")
    ap.add_argument("--warmup-s", type=float, default=2.0, help="seconds of scoring load before measuring")
    ap.add_argument("--risk-share", type=float, default=0.3, help="share of risk requests (rest: propensity)")
    ap.add_argument("--workers", type=int, default=32, help="client connections for the scoring load")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds before a scoring request is an error")
    ap.add_argument("--idle-duration", type=float, default=10.0,
                    help="seconds of the same scoring load before, with no ingest (0: skip)")
    ap.add_argument("--bg-rate", type=float, default=2000.0, help="background ingest events/s while scoring (0: none)")
    ap.add_argument("--bg-batch", type=int, default=100, help="events per POST of the background ingest")
    ap.add_argument("--flush-interval", type=float, default=1.0, help="the server's --flush-interval")
    ap.add_argument("--learn-timeout", type=float, default=600.0, help="seconds to wait for the engine to catch up")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 5,000 events, 1 + 5 s at 100 req/s, 200 events/s background (unless given)")
    ap.add_argument("--note", default=DEFAULT_NOTE, help="a note stored in the JSON (measurement conditions)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary state directory and server log")
    ap.add_argument("--out", default=None, help="write the JSON here")
    ap.add_argument("--json", action="store_true", help="print the JSON to stdout")
    argv = sys.argv[1:] if argv is None else argv
    args = ap.parse_args(argv)
    if args.quick:
        given = {a.split("=")[0] for a in argv if a.startswith("--")}
        for name, v in (("events", 5000), ("rate", 100.0), ("duration", 5.0), ("warmup_s", 0.5), ("idle_duration", 1.0),
                        ("bg_rate", 200.0), ("batch", 500), ("workers", 8)):
            if "--" + name.replace("_", "-") not in given:
                setattr(args, name, v)
    res = run(args)
    text = json.dumps(res, indent=2)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
        say(f"wrote {args.out}")
    if args.json:
        print(text)
    return res


if __name__ == "__main__":
    main()
