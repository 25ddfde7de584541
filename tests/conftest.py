"""Shared fixtures: real servers started by the test run itself (no mocks)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

REDIS_SERVER = shutil.which("redis-server") or next(
    (p for p in ("/usr/bin/redis-server", "/usr/local/bin/redis-server") if os.path.exists(p)), None
)



def _missing(reason: str) -> None:
    # `make test` installs every server and browser the tests use, so a missing one is a broken
    # setup, never a reason to skip: fail and say how to fix it.
    pytest.fail(reason, pytrace=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL cluster on loopback (Debian's postgresql, installed by `make test`)."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        _missing("PostgreSQL server binaries not installed: run scripts/install-system.sh")
    bindir = os.path.dirname(bins[-1])
    root = tempfile.mkdtemp(prefix="ecomops-pg-")
    data = os.path.join(root, "data")
    as_user: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root: use the package's system user
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run([*as_user, f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)
    subprocess.run(
        [*as_user, f"{bindir}/pg_ctl", "-D", data, "-w", "-l", os.path.join(root, "log"), "-o",
         f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
        check=True, capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


@pytest.fixture
def redis_port(tmp_path):
    """Start `redis-server` on a free loopback port (no persistence); yield the port; kill it."""
    if REDIS_SERVER is None:
        _missing("redis-server binary not installed: run scripts/install-system.sh")
    import redis

    port = free_port()
    proc = subprocess.Popen(
        [REDIS_SERVER, "--save", "", "--appendonly", "no", "--port", str(port), "--bind", "127.0.0.1",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                pass
            if proc.poll() is not None:
                pytest.fail(f"redis-server exited with code {proc.returncode} before answering PING")
            if time.monotonic() > deadline:
                pytest.fail("redis-server did not answer PING within 15 s")
            time.sleep(0.05)
        yield port
    finally:
        client.close()
        proc.kill()
        proc.wait(timeout=10)



class HashEncoder:
    """Bag of hashed words -> unit vectors: exercises dense retrieval without torch or a model."""

    fingerprint = "hash-encoder-v1"

    def __init__(self, dim: int = 64):
        self.dim = dim
        self.calls = 0

    def encode(self, texts, **_):
        import hashlib
        import re

        import numpy as np

        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(n > 0, n, 1.0)


@pytest.fixture
def encoder():
    """A fresh :class:`HashEncoder` (the knowledge base's dense side, no model)."""
    return HashEncoder()


@pytest.fixture
def store(tmp_path):
    from ecomops.store import Store

    s = Store.open(tmp_path / "state")
    yield s
    s.close()
