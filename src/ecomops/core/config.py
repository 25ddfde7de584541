"""Run-time settings, read from arguments first, then ``ECOMOPS_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError


def default_data_dir() -> Path:
    """Where the real benchmark data lives: ``$ECOMOPS_DATA`` or ``../shared/data`` beside the repo."""
    env = os.environ.get("ECOMOPS_DATA")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        cand = parent.parent / "shared" / "data"
        if (parent / "pyproject.toml").exists() and cand.exists():
            return cand
    return Path.cwd().parent / "shared" / "data"


@dataclass
class EngineConfig:
    """How the engine learns and checkpoints. Defaults suit the simulator and real data alike."""

    n_bits: int = 18  # hashed feature space per model and merchant: 2**18 coordinates
    chunk_size: int = 1024  # events featurized and scored together (deterministic boundaries)
    checkpoint_every: int = 200_000  # records between checkpoints at most; rounded up to whole chunks
    checkpoint_seconds: float = 30.0  # ... or this much wall time, whichever comes first
    max_merchants: int = 256  # each merchant gets its own models: cap the memory a bad producer can claim
    propensity_horizon_s: float = 3600.0  # a view becomes a negative if no order follows within
    risk_horizon_s: float = 72 * 3600.0  # an order with no fraud verdict within is taken as legit
    max_pending: int = 200_000  # per merchant and model; oldest resolved with its default label
    dedup_window: int = 2_000_000  # exact duplicate-event_id detection over this many recent events
    eval_every: int = 500  # labelled examples between points of the rolling metric series
    rolling_window: int = 5_000
    drift_detector: str = "adwin"
    seed: int = 0
    # Cold start for new categories (ops/coldstart.py): product-title embeddings, per-category
    # propensity heads, warm start from the most similar category. Needs `ecomops[transfer]`
    # (PyTorch); off by default so the core install runs as is (`make demo` turns it on).
    transfer: bool = False
    encoder: str = "default"  # text encoder for titles: "default" (bundled MiniLM) or a local model dir
    max_category_heads: int = 16  # per merchant; later categories share their most similar head
    # Dense vectors of the documents that `document` events add to a knowledge base (loaded on the
    # first such event): None: `encoder`; "none": BM25 only; or a model dir / encoder object.
    kb_encoder: Any = None
    # An order the risk model scores at or above this (when it arrives) becomes an alert
    # (store table ``alerts``, ``GET /v1/alerts``); above 1: no risk alerts.
    risk_alert_threshold: float = 0.9
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 10 <= self.n_bits <= 26:
            raise ConfigError(f"n_bits must be between 10 and 26, got {self.n_bits}")
        if self.chunk_size < 1:
            raise ConfigError("chunk_size must be positive")
        if self.checkpoint_every < 1:
            raise ConfigError("checkpoint_every must be positive")
        if self.max_category_heads < 1:
            raise ConfigError("max_category_heads must be at least 1")
        # checkpoints only at chunk boundaries: a resumed run then sees identical chunks
        self.checkpoint_every = -(-self.checkpoint_every // self.chunk_size) * self.chunk_size


def database_url(state_dir: Path, url: str | None = None) -> str:
    """SQLite inside the state directory unless a URL (e.g. PostgreSQL) is given."""
    url = url or os.environ.get("ECOMOPS_DB_URL")
    if url:
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url[len("postgres://"):]
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url
    return f"sqlite:///{Path(state_dir).resolve() / 'ecomops.db'}"
