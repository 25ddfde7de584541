"""Fixtures for the knowledge-base tests: a fresh store and a small, fast, deterministic encoder."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest

from ecomops.store import Store


class HashEncoder:
    """Bag of hashed words -> unit vectors: enough to exercise the dense path without torch."""

    fingerprint = "hash-encoder-v1"
    dim = 64

    def __init__(self):
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(n > 0, n, 1.0)


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "state")
    yield s
    s.close()


@pytest.fixture
def encoder():
    return HashEncoder()


@pytest.fixture
def write(tmp_path):
    """``write("name.ext", text) -> path`` in a per-test folder."""

    def _write(name: str, text: str):
        p = tmp_path / "files" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        return p

    return _write
