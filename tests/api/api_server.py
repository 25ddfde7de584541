"""A real `ecomops serve` process on loopback, and keys made with the real CLI (helpers for tests/api)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

# The merchants and data of the shared test server (tests/api/conftest.py)
A, B = "m01", "m02"
TS = 1_704_067_200.0
DOC_A = "Returns are accepted within 7 days of delivery; the buyer pays the return freight."
SECRET_B = "Pallet orders ship from the Zhouqu depot; quote code ZEBRA7731 for the bulk discount."
B_MARKER = "bmarker-5521"

CLI = [sys.executable, "-m", "ecomops.cli"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_key(state: Path, merchant: str, *extra: str) -> str:
    out = subprocess.run([*CLI, "keys", "create", "--merchant", merchant, "--state", str(state), "--json", *extra],
                         env=ENV, capture_output=True, text=True, check=True)
    d = json.loads(out.stdout)
    assert d["merchant_id"] == merchant and d["key"].startswith("eco_")
    return d["key"]


def wait_until(predicate, timeout: float = 120.0, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value (a wait, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(interval)


class Server:
    def __init__(self, state: Path, *args: str):
        self.state = Path(state)
        self.args = list(args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log = self.state.parent / f"serve-{self.state.name}-{self.port}.log"

    def start(self) -> "Server":
        self.state.mkdir(parents=True, exist_ok=True)
        fh = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [*CLI, "serve", "--state", str(self.state), "--port", str(self.port), "--kb-encoder", "none",
             "--flush-interval", "0.2", *self.args],
            env=ENV, stdout=fh, stderr=subprocess.STDOUT)
        fh.close()

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log_text()[-3000:]}")
            try:
                return httpx.get(self.url + "/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, 180, 0.2, "the server's /healthz")
        return self

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=30)

    def kill(self) -> int:
        return self.stop(signal.SIGKILL)

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)


def sim_events(events: int, seed: int) -> list[dict]:
    """Simulated marketplace events (the simulator in ecomops.sim), as JSON-ready dicts."""
    from ecomops.stream.sim import SimSource

    return [r.payload for r in SimSource(events=events, seed=seed).read()]


def no_trace(text: str) -> bool:
    """True when a response body shows no sign of a Python stack trace."""
    return not any(s in text for s in ("Traceback", 'File "', ".py\", line", "site-packages"))
