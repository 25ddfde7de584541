"""Drift detection on the error stream, adaptation, and recovery after a known concept change."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from ecomops.learn.online import (
    FTRL,
    AdaptationPolicy,
    DriftDetector,
    FeatureHasher,
    LogisticRegression,
    ProgressiveValidation,
    recovery_time,
)

N, DRIFT = 24_000, 12_000


@pytest.fixture(scope="module")
def flip_stream():
    """Six categorical features; at DRIFT every true weight changes sign (an abrupt concept flip)."""
    rng = np.random.default_rng(0)
    w = rng.normal(0, 1.5, size=(6, 8))
    cats = rng.integers(8, size=(N, 6))
    score = w[np.arange(6), cats].sum(axis=1)
    score[DRIFT:] *= -1
    y = (rng.random(N) < 1 / (1 + np.exp(-score))).astype(np.float64)
    cols = {f"c{j}": [str(v) for v in cats[:, j]] for j in range(6)}
    return FeatureHasher(n_bits=12).hash_columns(cols), y


def run(batch, y, detector=None, policy_factor=None, chunk=50):
    """Predict-then-learn in chunks (as the engine does); feed |y - p| to the detector."""
    model = LogisticRegression(n_bits=12, optimizer=FTRL(alpha=0.2))
    pv = ProgressiveValidation(window=1000, every=250)
    policy = None
    if policy_factor is not None:
        policy = AdaptationPolicy(model, factor=policy_factor, cooldown=3000, detector=detector)
    alarms = []
    for s in range(0, batch.n_rows, chunk):
        yy = y[s : s + chunk]
        p = pv.learn_many(model, batch.slice(s, s + chunk), yy)
        if policy is not None:
            policy.update_many(yy, p)
        elif detector is not None:
            alarms += [s + i for i, e in enumerate(np.abs(yy - p)) if detector.update(e)]
    return pv, (policy.actions if policy else alarms)


@pytest.mark.parametrize("kind", ["adwin", "page_hinkley"])
def test_detector_alarms_soon_after_the_drift_and_not_before(flip_stream, kind):
    batch, y = flip_stream
    _, alarms = run(batch, y, DriftDetector(kind))
    assert alarms, "no alarm at all"
    assert all(a >= DRIFT for a in alarms)  # improving error early on is not drift
    assert alarms[0] < DRIFT + 500


def test_direction_up_ignores_improvement_but_both_sees_it():
    rng = np.random.default_rng(3)
    errors = np.concatenate([rng.random(3000) < 0.5, rng.random(3000) < 0.05]).astype(float)
    up, both = DriftDetector("adwin"), DriftDetector("adwin", direction="both")
    assert not any(up.update(e) for e in errors)
    assert any(both.update(e) for e in errors)
    ph_up = DriftDetector("page_hinkley")
    assert not any(ph_up.update(e) for e in errors)


def test_policy_makes_the_model_recover_faster(flip_stream):
    batch, y = flip_stream
    plain, _ = run(batch, y)
    adapted, actions = run(batch, y, DriftDetector("adwin"), policy_factor=0.05)
    assert len(actions) == 1 and DRIFT <= actions[0] < DRIFT + 500
    r_plain = recovery_time(plain.series(), [DRIFT], tolerance=0.02)[0]
    r_adapted = recovery_time(adapted.series(), [DRIFT], tolerance=0.02)[0]
    assert r_adapted is not None
    assert r_plain is None or r_adapted < 0.7 * r_plain, (r_adapted, r_plain)
    # and the examples after the drift are predicted better overall
    post = lambda pv: [pt["logloss"] for pt in pv.series() if pt["n"] > DRIFT]  # noqa: E731
    assert np.mean(post(adapted)) < np.mean(post(plain)) - 0.03


def test_cooldown_prevents_a_storm_of_resets():
    calls = []

    class Model:
        def on_drift(self, factor):
            calls.append(factor)

    policy = AdaptationPolicy(Model(), factor=0.2, cooldown=1000)
    assert policy.on_alarm(5000)
    assert not policy.on_alarm(5500)
    assert not policy.on_alarm(5999)
    assert policy.on_alarm(6000)
    assert calls == [0.2, 0.2] and policy.n_actions == 2 and policy.actions == [5000, 6000]
    clone = AdaptationPolicy(Model())
    clone.load_state_dict(policy.state_dict())
    assert not clone.on_alarm(6500) and clone.on_alarm(7000)
    with pytest.raises(ValueError):
        AdaptationPolicy(Model()).update(1.0, 0.2)  # no detector to feed


def test_detector_pickles_mid_stream():
    rng = np.random.default_rng(5)
    errors = np.concatenate([rng.random(2000) < 0.1, rng.random(2000) < 0.5]).astype(float)
    for kind in ("adwin", "page_hinkley"):
        a = DriftDetector(kind)
        for e in errors[:1500]:
            a.update(e)
        b = pickle.loads(pickle.dumps(a))
        c = DriftDetector.from_state_dict(a.state_dict())
        rest_a = [a.update(e) for e in errors[1500:]]
        assert rest_a == [b.update(e) for e in errors[1500:]] == [c.update(e) for e in errors[1500:]]
        assert any(rest_a) and a.n_alarms == b.n_alarms and a.last_alarm == b.last_alarm
    with pytest.raises(ValueError):
        DriftDetector("ddm")
    with pytest.raises(ValueError):
        DriftDetector().update(float("nan"))


def test_recovery_time_rules():
    pts = lambda vals, step=100: [{"n": (i + 1) * step, "logloss": v} for i, v in enumerate(vals)]  # noqa: E731
    series = pts([0.30, 0.31, 0.30, 0.60, 0.50, 0.40, 0.33, 0.31, 0.30, 0.30])
    assert recovery_time(series, [300], tolerance=0.05) == [400]  # back to <= 0.35 at n=700
    assert recovery_time(series, [300], tolerance=0.5) == [0]  # never left the band
    assert recovery_time(series, [300], tolerance=0.01) == [500]  # 0.31 at n=800
    assert recovery_time(pts([0.3, 0.3, 0.9, 0.8]), [200], tolerance=0.1) == [None]  # never back
    assert recovery_time(series, [50], tolerance=0.05) == [None]  # no level before the drift
    # two drifts: the first is judged only up to the second
    two = pts([0.3, 0.3, 0.8, 0.7, 0.3, 0.3, 0.9, 0.3])
    assert recovery_time(two, [200, 600], tolerance=0.05) == [300, 200]
    with_offsets = [dict(p, offset=p["n"] * 10) for p in series]
    assert recovery_time(with_offsets, [3000], tolerance=0.05, x="offset") == [4000]
