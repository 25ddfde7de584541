"""Concept-drift detection on a model's error stream, the adaptation it triggers, and how
fast a model recovers.

* :class:`DriftDetector` wraps River's ``ADWIN`` or ``PageHinkley``. With ``direction="up"``
  (the default) it only alarms when the error *rises*: a model that keeps improving also
  changes its error distribution, and reacting to that would throw away good learning. For
  ADWIN the direction is read from its estimate before and after it cuts its window; for
  Page-Hinkley it is River's ``mode``. The detector pickles (River's detectors do).
* :class:`AdaptationPolicy` calls ``model.on_drift(factor)`` on an alarm, at most once per
  ``cooldown`` examples, so one drift cannot fire a storm of resets.
* :func:`recovery_time` measures, from a :class:`ProgressiveValidation` series, how many
  examples pass after a known drift point until the rolling log loss is back within
  ``tolerance`` of its pre-drift level.

>>> import random
>>> rng = random.Random(0)
>>> det = DriftDetector("adwin")
>>> errors = [rng.random() < 0.1 for _ in range(2000)] + [rng.random() < 0.6 for _ in range(2000)]
>>> alarms = [i for i, e in enumerate(errors) if det.update(float(e))]
>>> 2000 <= alarms[0] < 2200
True
"""

from __future__ import annotations

import math
import pickle
from typing import Any, Sequence

__all__ = ["DriftDetector", "AdaptationPolicy", "recovery_time"]


class DriftDetector:
    """``DriftDetector(kind="adwin" | "page_hinkley", direction="up" | "both", **params)``.

    ``params`` go to River's detector (ADWIN: ``delta``, ``clock``, ``grace_period``...;
    Page-Hinkley: ``min_instances``, ``delta``, ``threshold``, ``alpha``).
    """

    KINDS = ("adwin", "page_hinkley")

    def __init__(self, kind: str = "adwin", direction: str = "up", **params: Any):
        if kind not in self.KINDS:
            raise ValueError(f"unknown drift detector {kind!r}, expected one of {self.KINDS}")
        if direction not in ("up", "both"):
            raise ValueError(f"direction must be 'up' or 'both', got {direction!r}")
        self.kind = kind
        self.direction = direction
        self.params = dict(params)
        from river import drift as river_drift  # imported here: River is slow to import

        if kind == "adwin":
            self._det = river_drift.ADWIN(**params)
        else:
            self._det = river_drift.PageHinkley(mode=direction, **params)
        self.n = 0  # errors seen
        self.n_alarms = 0
        self.last_alarm: int | None = None  # index (0-based) of the error that raised it

    def __repr__(self) -> str:
        return f"DriftDetector(kind={self.kind!r}, direction={self.direction!r}, alarms={self.n_alarms}, n={self.n})"

    def update(self, error: float) -> bool:
        """Feed one error (e.g. log loss or ``|y - p|``); True when a drift is detected here."""
        error = float(error)
        if not math.isfinite(error):
            raise ValueError(f"error must be finite, got {error}")
        before = getattr(self._det, "estimation", 0.0)
        self._det.update(error)
        self.n += 1
        alarm = bool(self._det.drift_detected)
        if alarm and self.kind == "adwin" and self.direction == "up":
            # ADWIN dropped its older sub-window: if the kept (recent) part has a lower mean,
            # the error went down, which is improvement, not drift.
            alarm = self._det.estimation > before
        if alarm:
            self.n_alarms += 1
            self.last_alarm = self.n - 1
        return alarm

    def state_dict(self) -> dict:
        return {"pickle": pickle.dumps(self)}

    @staticmethod
    def from_state_dict(d: dict) -> "DriftDetector":
        det = pickle.loads(d["pickle"])
        if not isinstance(det, DriftDetector):
            raise TypeError("state does not hold a DriftDetector")
        return det


class AdaptationPolicy:
    """Turn drift alarms into ``model.on_drift(factor)`` calls, with a cool-down.

    Either call :meth:`on_alarm` with your own detector's alarms, or give the policy a
    ``detector`` and feed it predictions with :meth:`update` / :meth:`update_many`
    (``error="absolute"`` feeds ``|y - p|``, bounded as ADWIN's guarantee assumes;
    ``"logloss"`` feeds the log loss capped at 30).
    """

    def __init__(
        self,
        model,
        factor: float = 0.1,
        cooldown: int = 2000,
        detector: DriftDetector | None = None,
        error: str = "absolute",
    ):
        if not 0.0 < factor <= 1.0 or int(cooldown) < 0:
            raise ValueError("factor must be in (0, 1] and cooldown >= 0")
        if error not in ("absolute", "logloss"):
            raise ValueError(f"error must be 'absolute' or 'logloss', got {error!r}")
        self.model = model
        self.factor = float(factor)
        self.cooldown = int(cooldown)
        self.detector = detector
        self.error = error
        self.n_seen = 0
        self.n_actions = 0
        self.last_action: int | None = None
        self.actions: list[int] = []  # positions of the last 100 actions, for reports

    def on_alarm(self, position: int | None = None) -> bool:
        """An alarm at ``position`` (examples seen so far); True when the model was adapted."""
        position = self.n_seen if position is None else int(position)
        if self.last_action is not None and position - self.last_action < self.cooldown:
            return False
        self.model.on_drift(self.factor)
        self.last_action = position
        self.n_actions += 1
        self.actions = (self.actions + [position])[-100:]
        return True

    def update(self, y_true: float, y_prob: float) -> bool:
        """Feed one prediction (made before learning) to the detector; True when the model was adapted."""
        if self.detector is None:
            raise ValueError("this policy has no detector: call on_alarm() with your own alarms")
        self.n_seen += 1
        if self.error == "absolute":
            err = abs(float(y_true) - float(y_prob))
        else:
            p = min(max(float(y_prob), 1e-15), 1 - 1e-15)
            err = min(-(y_true * math.log(p) + (1 - y_true) * math.log1p(-p)), 30.0)
        return self.detector.update(err) and self.on_alarm(self.n_seen)

    def update_many(self, y_true, y_prob) -> list[int]:
        """Feed predictions in order; returns the positions at which the model was adapted."""
        return [self.n_seen for y, p in zip(list(y_true), list(y_prob)) if self.update(y, p)]

    def state_dict(self) -> dict:
        d = {
            "factor": self.factor,
            "cooldown": self.cooldown,
            "error": self.error,
            "n_seen": self.n_seen,
            "n_actions": self.n_actions,
            "last_action": -1 if self.last_action is None else self.last_action,
            "actions": list(self.actions),
        }
        if self.detector is not None:
            d["detector"] = self.detector.state_dict()
        return d

    def load_state_dict(self, d: dict) -> None:
        self.factor, self.cooldown, self.error = float(d["factor"]), int(d["cooldown"]), d["error"]
        self.n_seen, self.n_actions = int(d["n_seen"]), int(d["n_actions"])
        self.last_action = None if int(d["last_action"]) < 0 else int(d["last_action"])
        self.actions = [int(a) for a in d["actions"]]
        if "detector" in d:
            self.detector = DriftDetector.from_state_dict(d["detector"])


def recovery_time(
    series: Sequence[dict],
    drift_positions: Sequence[int],
    tolerance: float = 0.02,
    key: str = "logloss",
    x: str = "n",
) -> list[int | None]:
    """Examples from each drift point until ``series[key]`` is back within ``tolerance``.

    ``series`` is a list of points (``ProgressiveValidation.series()``) with an ``x`` coordinate
    (``"n"`` = labelled examples, or ``"offset"``). For each drift position ``d``: the pre-drift
    level is the last point at or before ``d``; the drift has hit once a later point exceeds
    level + tolerance; recovery is the first point after that back at or below it, and the
    result is its ``x`` minus ``d``. 0 when the metric never left the band before the next
    drift, None when it never came back (or there is no point before ``d``).
    """
    xs = [float(p[x]) for p in series]
    vals = [float(p[key]) for p in series]
    drifts = sorted(int(d) for d in drift_positions)
    out: list[int | None] = []
    for k, d in enumerate(drifts):
        end = drifts[k + 1] if k + 1 < len(drifts) else math.inf
        before = [i for i, xv in enumerate(xs) if xv <= d and math.isfinite(vals[i])]
        if not before:
            out.append(None)
            continue
        level = vals[before[-1]] + tolerance
        after = [i for i, xv in enumerate(xs) if d < xv <= end and math.isfinite(vals[i])]
        hit = next((j for j, i in enumerate(after) if vals[i] > level), None)
        if hit is None:
            out.append(0)
            continue
        back = next((i for i in after[hit:] if vals[i] <= level), None)
        out.append(None if back is None else int(xs[back] - d))
    return out
