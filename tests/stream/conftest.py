"""Fixtures for the stream tests: a real redis-server per test (no mocks)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest

REDIS_SERVER = shutil.which("redis-server") or next(
    (p for p in ("/usr/bin/redis-server", "/usr/local/bin/redis-server") if os.path.exists(p)), None
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_port(tmp_path):
    """Start `redis-server` on a free loopback port (no persistence); yield the port; kill it."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server binary not installed (apt-get install redis-server); CI installs it")
    import redis

    port = _free_port()
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

