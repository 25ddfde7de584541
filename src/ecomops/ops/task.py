"""The shape every online operations model takes inside the engine.

A task watches one merchant's events. ``observe`` turns events into prediction requests
(keyed by what the label will later name) and label resolutions; ``flush`` scores new requests
with the model as it stood at the start of the chunk, then learns the resolved examples in
stream order. Chunks have fixed boundaries in the stream, so a run resumed from a checkpoint
makes exactly the same updates as one that never stopped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..core.config import EngineConfig
from ..core.events import Event
from ..learn.online.delayed import DelayedLabels
from ..learn.online.drift import AdaptationPolicy, DriftDetector
from ..learn.online.evaluate import ProgressiveValidation
from ..learn.online.hashing import FeatureHasher, SparseBatch
from ..learn.online.linear import LogisticRegression
from ..learn.online.optim import FTRL

_EPS = 1e-12


@dataclass
class FlushResult:
    scored: int = 0
    labels: np.ndarray = field(default_factory=lambda: np.empty(0))
    probs: np.ndarray = field(default_factory=lambda: np.empty(0))
    alarms: list = field(default_factory=list)


class OnlineTask:
    """Base class: subclasses set ``name``, ``horizon_s``, ``default_label`` and ``observe``."""

    name = "task"
    default_label: float | None = 0.0

    def __init__(self, cfg: EngineConfig, horizon_s: float):
        self.cfg = cfg
        self.model = LogisticRegression(n_bits=cfg.n_bits, optimizer=FTRL(), seed=cfg.seed)
        self.labels = DelayedLabels(horizon_s, self.default_label, cfg.max_pending)
        self.evaluation = ProgressiveValidation(window=cfg.rolling_window, every=cfg.eval_every)
        self.detector = DriftDetector(cfg.drift_detector)
        self.policy = AdaptationPolicy(self.model)
        self.n_learned = 0
        self.now = 0.0  # watermark: latest event time seen, so late events never rewind expiry

    # -- subclasses ------------------------------------------------------------------------------
    def observe(self, event: Event) -> None:
        raise NotImplementedError

    def stats_state(self) -> dict:
        return {}

    def load_stats_state(self, state: dict) -> None:
        pass

    # -- shared machinery ------------------------------------------------------------------------
    def advance(self, ts: float) -> None:
        if ts > self.now:
            self.now = ts
            self.labels.expire(ts)

    def flush(self, hasher: FeatureHasher, position: int) -> FlushResult:
        out = FlushResult()
        unscored = self.labels.take_unscored()
        if unscored:
            batch = hasher.hash_many([p.features for p in unscored])
            probs = self.model.predict_many(batch)
            for i, p in enumerate(unscored):
                p.indices, p.values = batch.row(i)
                p.prob = float(probs[i])
                p.features = None
            out.scored = len(unscored)
        resolved = self.labels.take_resolved()
        if resolved:
            batch = SparseBatch.from_rows([(p.indices, p.values) for p in resolved])
            y = np.fromiter((p.label for p in resolved), dtype=np.float64, count=len(resolved))
            prob = np.fromiter((p.prob for p in resolved), dtype=np.float64, count=len(resolved))
            self.model.learn_many(batch, y)
            self.n_learned += len(resolved)
            self.evaluation.update_many(y, prob, position)
            losses = -(y * np.log(np.clip(prob, _EPS, 1.0)) + (1 - y) * np.log(np.clip(1 - prob, _EPS, 1.0)))
            for loss in losses.tolist():
                if self.detector.update(loss if math.isfinite(loss) else 30.0):
                    if self.policy.on_alarm(self.n_learned):
                        out.alarms.append(position)
            out.labels, out.probs = y, prob
        return out

    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "labels": self.labels.state_dict(),
            "evaluation": self.evaluation.state_dict(),
            "detector": self.detector,
            "policy": self.policy.state_dict(),
            "n_learned": self.n_learned,
            "now": self.now,
            "stats": self.stats_state(),
        }

    def load_state_dict(self, s: dict) -> None:
        self.model.load_state_dict(s["model"])
        self.labels.load_state_dict(s["labels"])
        self.evaluation.load_state_dict(s["evaluation"])
        self.detector = s["detector"]
        self.policy = AdaptationPolicy(self.model)
        self.policy.load_state_dict(s["policy"])
        self.n_learned = s["n_learned"]
        self.now = s["now"]
        self.load_stats_state(s["stats"])


def log_bucket(x: float | None, base: float = 2.0) -> str:
    """Bucket a non-negative quantity on a log scale: linear models learn any shape per bucket."""
    if x is None:
        return "none"
    if x <= 0:
        return "0"
    return str(int(math.log(x + 1.0, base)))
