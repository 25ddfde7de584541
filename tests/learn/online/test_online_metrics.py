"""Streaming metrics against brute-force references, and progressive validation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomops.learn.online import (
    ROCAUC,
    FeatureHasher,
    LogisticRegression,
    LogLoss,
    ProgressiveValidation,
    RollingLogLoss,
    RollingROCAUC,
    roc_auc,
)


def brute_auc(y, p) -> float:
    """P(score of a random positive > score of a random negative), ties 1/2, by all pairs."""
    pos = [s for s, t in zip(p, y) if t >= 0.5]
    neg = [s for s, t in zip(p, y) if t < 0.5]
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def brute_logloss(y, p) -> float:
    return sum(-(t * math.log(s) + (1 - t) * math.log(1 - s)) for t, s in zip(y, p)) / len(y)


probs = st.floats(0.001, 0.999)
tied_or_not = st.sampled_from([0.1, 0.2, 0.5, 0.9]) | probs
examples = st.lists(st.tuples(st.integers(0, 1), tied_or_not), min_size=2, max_size=60)


@settings(max_examples=200, deadline=None)
@given(examples)
def test_auc_matches_pair_count(ex):
    y = [t for t, _ in ex]
    p = [s for _, s in ex]
    if len(set(y)) < 2:
        assert math.isnan(roc_auc(y, p)) and math.isnan(RollingROCAUC(100).get())
        return
    exact = brute_auc(y, p)
    assert roc_auc(y, p) == pytest.approx(exact, abs=1e-12)
    rolling = RollingROCAUC(window=1000)
    for t, s in ex:
        rolling.update(t, s)
    assert rolling.get() == pytest.approx(exact, abs=1e-12)
    hist = ROCAUC()
    hist.update_many(y, p)
    # the histogram is exact on bin indices: scores sharing a bin are ties
    assert hist.get() == pytest.approx(brute_auc(y, hist._bins(np.array(p)).tolist()), abs=1e-12)


def test_histogram_auc_is_close_on_a_large_sample():
    rng = np.random.default_rng(0)
    y = rng.random(20_000) < 0.1
    p = 1 / (1 + np.exp(-(rng.normal(size=y.size) + 1.5 * y - 2.5)))
    m = ROCAUC()
    for chunk in np.array_split(np.arange(y.size), 7):
        m.update_many(y[chunk], p[chunk])
    assert m.n == y.size
    assert abs(m.get() - roc_auc(y, p)) < 1e-4
    one = ROCAUC()
    for t, s in zip(y[:500], p[:500]):
        one.update(t, s)
    two = ROCAUC()
    two.update_many(y[:500], p[:500])
    assert np.array_equal(one.pos, two.pos) and np.array_equal(one.neg, two.neg)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), probs), min_size=1, max_size=80), st.integers(1, 30))
def test_logloss_and_rolling_logloss(ex, window):
    y = [t for t, _ in ex]
    p = [s for _, s in ex]
    cum, cum_many, roll, roll_many = LogLoss(), LogLoss(), RollingLogLoss(window), RollingLogLoss(window)
    for t, s in ex:
        cum.update(t, s)
        roll.update(t, s)
    cum_many.update_many(y, p)
    roll_many.update_many(y[: len(y) // 2], p[: len(p) // 2])
    roll_many.update_many(y[len(y) // 2 :], p[len(p) // 2 :])
    assert cum.get() == pytest.approx(brute_logloss(y, p), rel=1e-12)
    assert cum_many.get() == pytest.approx(cum.get(), rel=1e-12)
    tail = slice(max(0, len(y) - window), None)
    assert roll.get() == pytest.approx(brute_logloss(y[tail], p[tail]), rel=1e-9)
    assert roll_many.get() == pytest.approx(roll.get(), rel=1e-9)
    tail_auc = RollingROCAUC(window)
    tail_auc.update_many(y, p)
    ref = roc_auc(y[tail], p[tail])
    assert (math.isnan(ref) and math.isnan(tail_auc.get())) or tail_auc.get() == pytest.approx(ref)


def test_logloss_clips_certain_mistakes():
    m = LogLoss()
    m.update(1, 0.0)
    assert math.isfinite(m.get()) and m.get() == pytest.approx(-math.log(1e-15))


def test_metric_state_round_trip():
    rng = np.random.default_rng(1)
    y, p = rng.random(300) < 0.3, rng.random(300)
    for cls, args in ((LogLoss, ()), (RollingLogLoss, (50,)), (ROCAUC, ()), (RollingROCAUC, (50,))):
        a, b = cls(*args), cls(*args)
        a.update_many(y[:200], p[:200])
        b.load_state_dict(a.state_dict())
        a.update_many(y[200:], p[200:])
        b.update_many(y[200:], p[200:])
        assert a.get() == b.get(), cls.__name__


# -- progressive validation ------------------------------------------------------------------------
def test_progressive_validation_points_and_chunking():
    rng = np.random.default_rng(2)
    y, p = (rng.random(2500) < 0.4).astype(float), rng.random(2500)
    whole, chunked = ProgressiveValidation(window=300, every=250), ProgressiveValidation(window=300, every=250)
    whole.update_many(y, p, offset=np.arange(2500) * 10)
    pos = 0
    for size in (1, 99, 400, 7, 1993):  # chunk edges that never line up with the points
        chunked.update_many(y[pos : pos + size], p[pos : pos + size], offset=np.arange(pos, pos + size) * 10)
        pos += size
    a, b = whole.series(), chunked.series()
    assert [pt["n"] for pt in a] == list(range(250, 2501, 250))
    assert [pt["offset"] for pt in a] == [(n - 1) * 10 for n in range(250, 2501, 250)]
    for pa, pb in zip(a, b):
        assert pa["n"] == pb["n"] and pa["offset"] == pb["offset"]
        for k in ("logloss", "auc", "cum_logloss", "cum_auc"):
            assert pa[k] == pytest.approx(pb[k], rel=1e-9)
    third = a[2]  # n = 750: rolling over examples 450..749, cumulative over 0..749
    assert third["logloss"] == pytest.approx(brute_logloss(y[450:750], p[450:750]), rel=1e-9)
    assert third["auc"] == pytest.approx(roc_auc(y[450:750], p[450:750]))
    assert third["cum_logloss"] == pytest.approx(brute_logloss(y[:750], p[:750]), rel=1e-9)
    s = whole.summary()
    assert s["n"] == 2500 and s["cum_auc"] == pytest.approx(roc_auc(y, p), abs=1e-3)


def test_series_memory_is_bounded_by_downsampling():
    pv = ProgressiveValidation(window=10, every=10, max_points=8)
    pv.update_many(np.zeros(1000), np.full(1000, 0.2))
    pts = pv.series()
    assert len(pts) <= 8
    ns = [pt["n"] for pt in pts]
    assert len(set(np.diff(ns))) == 1 and pv.every == ns[1] - ns[0] == ns[0]  # still evenly spaced
    assert 1000 - pv.every < ns[-1] <= 1000


def test_progressive_validation_state_round_trip_and_models():
    h, model = FeatureHasher(12), LogisticRegression(12)
    X = h.hash_many([{"x": str(i % 4)} for i in range(1200)])
    y = np.array([float(i % 4 < 2) for i in range(1200)])
    a = ProgressiveValidation(window=100, every=100)
    preds = a.learn_many(model, X.slice(0, 700), y[:700])
    assert preds[0] == 0.5 and preds[-4] > 0.5 > preds[-1]  # first prediction made before any learning
    b = ProgressiveValidation(window=100, every=100)
    b.load_state_dict(a.state_dict())
    clone = LogisticRegression.from_state_dict(model.state_dict())
    for i in range(700, 1200):
        a.learn_one(model, *X.row(i), y[i], offset=i)
        b.learn_one(clone, *X.row(i), y[i], offset=i)
    assert a.series() == b.series() and a.summary() == b.summary()
    assert a.series()[-1]["offset"] == 1199 and a.summary()["auc"] == 1.0
