"""A disk cache of text embeddings, keyed by the encoder's fingerprint and the text's hash.

Encoding is the slow step of every transfer method on a CPU (about 40 reviews/s for MiniLM on
two cores), and the same product titles, reviews and tickets come back again and again: a
re-run of a benchmark or a model refit should cost a lookup, not a forward pass. SQLite keeps
it one file, safe for concurrent readers, with no server.

>>> import numpy as np, tempfile
>>> cache = EmbeddingCache(tempfile.mkdtemp())
>>> cache.put("enc-1", ["a pump", "a hose"], np.eye(2, dtype=np.float32))
>>> found, missing = cache.get("enc-1", ["a hose", "a valve"])
>>> found[0].tolist(), missing
([0.0, 1.0], [1])
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import numpy as np

__all__ = ["EmbeddingCache", "default_cache_dir", "text_key"]


def default_cache_dir() -> Path:
    """``$ECOMOPS_CACHE`` or ``~/.cache/ecomops``; embeddings live in ``embeddings.sqlite`` there."""
    return Path(os.environ.get("ECOMOPS_CACHE") or Path.home() / ".cache" / "ecomops")


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class EmbeddingCache:
    """``get(model, texts)`` -> (vectors or None per text, indices missing); ``put`` stores them."""

    def __init__(self, directory: str | os.PathLike):
        self.path = Path(directory) / "embeddings.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS emb (model TEXT NOT NULL, key BLOB NOT NULL, dim INTEGER NOT NULL,"
            " vec BLOB NOT NULL, PRIMARY KEY (model, key))"
        )
        self._db.commit()

    def get(self, model: str, texts: list[str]) -> tuple[list[np.ndarray | None], list[int]]:
        keys = [text_key(t) for t in texts]
        hits: dict[bytes, np.ndarray] = {}
        uniq = list(dict.fromkeys(keys))
        for i in range(0, len(uniq), 500):  # SQLite caps the number of bound parameters
            part = uniq[i : i + 500]
            q = f"SELECT key, dim, vec FROM emb WHERE model = ? AND key IN ({','.join('?' * len(part))})"
            for key, dim, vec in self._db.execute(q, [model, *part]):
                hits[bytes(key)] = np.frombuffer(vec, dtype=np.float32, count=dim)
        found = [hits.get(k) for k in keys]
        return found, [i for i, v in enumerate(found) if v is None]

    def put(self, model: str, texts: list[str], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        rows = [(model, text_key(t), int(v.shape[0]), v.tobytes()) for t, v in zip(texts, vectors)]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?, ?, ?)", rows)

    def count(self, model: str | None = None) -> int:
        if model is None:
            return self._db.execute("SELECT COUNT(*) FROM emb").fetchone()[0]
        return self._db.execute("SELECT COUNT(*) FROM emb WHERE model = ?", (model,)).fetchone()[0]

    def close(self) -> None:
        self._db.close()
