"""LogisticRegression and FactorizationMachine: formulas, batch == loop, learning, state."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ecomops.learn.online import (
    FTRL,
    SGD,
    Adam,
    FactorizationMachine,
    FeatureHasher,
    LogisticRegression,
    SparseBatch,
    roc_auc,
)

OPTIMIZERS = {
    "sgd": lambda: SGD(lr=0.05, l2=1e-4),
    "sgd_invscaling": lambda: SGD(lr=0.5, power_t=0.5),
    "adam": lambda: Adam(lr=0.01, l2=1e-5),
    "ftrl": lambda: FTRL(alpha=0.1, beta=1.0, l1=0.5, l2=1.0),
}
MODELS = {
    "lr": lambda opt: LogisticRegression(n_bits=14, optimizer=opt, seed=1),
    "fm": lambda opt: FactorizationMachine(n_bits=14, k=4, optimizer=opt, init_std=0.05, seed=1),
}


def separable_stream(n: int, seed: int = 0, n_bits: int = 14):
    """Label = 1 iff the (hidden) score of the row's categories and numbers is positive."""
    rng = np.random.default_rng(seed)
    weights = {f"c{j}": rng.normal(0, 1.5, 20) for j in range(5)}
    records, labels = [], []
    for _ in range(n):
        cats = {name: int(rng.integers(20)) for name in weights}
        x = float(rng.normal())
        score = sum(weights[name][v] for name, v in cats.items()) + 2.0 * x
        rec = {name: str(v) for name, v in cats.items()}
        rec["x"] = x
        records.append(rec)
        labels.append(float(score > 0))
    return FeatureHasher(n_bits=n_bits).hash_many(records), np.array(labels)


@pytest.fixture(scope="module")
def stream():
    return separable_stream(3000)


# -- optimizer formulas against straight transcriptions ----------------------------------------
def ref_lr(opt, rows, labels):
    """Plain-Python logistic regression with the textbook update rules, dicts for state."""
    w, st, t = {}, {}, 0
    preds = []
    for (idx, val), y in zip(rows, labels):
        s = sum(w.get(i, 0.0) * float(v) for i, v in zip(idx.tolist(), val))
        p = 1.0 / (1.0 + math.exp(-max(-35.0, min(35.0, s))))
        preds.append(p)
        for i, v in zip(idx.tolist(), val):
            g = (p - y) * float(v)
            wi = w.get(i, 0.0)
            if isinstance(opt, FTRL):  # McMahan et al. 2013, Algorithm 1
                z, n = st.get(i, (0.0, 0.0))
                sigma = (math.sqrt(n + g * g) - math.sqrt(n)) / opt.alpha
                z, n = z + g - sigma * wi, n + g * g
                st[i] = (z, n)
                denom = (opt.beta + math.sqrt(n)) / opt.alpha + opt.l2
                wi = 0.0 if abs(z) <= opt.l1 else -(z - math.copysign(opt.l1, z)) / denom
            elif isinstance(opt, Adam):  # Kingma & Ba, bias-corrected with per-coordinate counts
                m, v2, k = st.get(i, (0.0, 0.0, 0))
                g = g + opt.l2 * wi
                k += 1
                m = opt.beta1 * m + (1 - opt.beta1) * g
                v2 = opt.beta2 * v2 + (1 - opt.beta2) * g * g
                st[i] = (m, v2, k)
                wi -= opt.lr * (m / (1 - opt.beta1**k)) / (math.sqrt(v2 / (1 - opt.beta2**k)) + opt.eps)
            else:
                lr = opt.lr / (1.0 + t) ** opt.power_t
                wi -= lr * (g + opt.l2 * wi)
            w[i] = wi
        t += 1
    return w, preds


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_lr_follows_the_published_update_rules(name, stream):
    batch, y = stream
    batch, y = batch.slice(0, 400), y[:400]
    opt = OPTIMIZERS[name]()
    model = LogisticRegression(n_bits=14, optimizer=opt)
    preds = model.progressive_many(batch, y)
    w_ref, p_ref = ref_lr(opt, [batch.row(i) for i in range(batch.n_rows)], y)
    np.testing.assert_allclose(preds, p_ref, rtol=1e-12, atol=1e-14)
    keys = np.array(sorted(w_ref))
    np.testing.assert_allclose(model.w[keys], [w_ref[k] for k in keys], rtol=1e-10, atol=1e-14)
    untouched = np.setdiff1d(np.arange(model.dim), keys)
    assert not model.w[untouched].any()


# -- batch == loop, bit for bit --------------------------------------------------------------------
@pytest.mark.parametrize("model_name", list(MODELS))
@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
def test_learn_many_equals_learn_one_loop(model_name, opt_name, stream):
    batch, y = stream
    batch, y = batch.slice(0, 500), y[:500]
    a = MODELS[model_name](OPTIMIZERS[opt_name]())
    b = MODELS[model_name](OPTIMIZERS[opt_name]())
    c = MODELS[model_name](OPTIMIZERS[opt_name]())
    a.learn_many(batch, y)
    loop_preds = []
    for i in range(batch.n_rows):
        idx, val = batch.row(i)
        loop_preds.append(b.predict_one(idx, val))
        b.learn_one(idx, val, y[i])
    prog = c.progressive_many(batch, y)
    for name in a._arrays:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
        assert np.array_equal(getattr(a, name), getattr(c, name)), name
    assert np.array_equal(a.scalars, b.scalars)
    assert np.array_equal(prog, np.array(loop_preds))
    assert a.digest() == b.digest() == c.digest()
    assert np.array_equal(a.predict_many(batch), np.array([a.predict_one(*batch.row(i)) for i in range(batch.n_rows)]))


# -- learning ------------------------------------------------------------------------------------
@pytest.mark.parametrize("model_name", list(MODELS))
@pytest.mark.parametrize("opt_name", ["sgd", "adam", "ftrl"])
def test_models_learn_a_separable_stream(model_name, opt_name, stream):
    batch, y = stream
    model = MODELS[model_name](OPTIMIZERS[opt_name]())
    prog = model.progressive_many(batch, y)
    assert roc_auc(y[1000:], prog[1000:]) > 0.9  # progressive: predicted before learning
    test_batch, test_y = separable_stream(1000, seed=0)[0].slice(0, 1000), y[:1000]
    assert roc_auc(test_y, model.predict_many(test_batch)) > 0.9


def test_ftrl_l1_gives_exact_zeros(stream):
    batch, y = stream
    sparse = LogisticRegression(n_bits=14, optimizer=FTRL(alpha=0.1, l1=5.0, l2=1.0))
    dense = LogisticRegression(n_bits=14, optimizer=FTRL(alpha=0.1, l1=0.0, l2=1.0))
    sparse.learn_many(batch, y)
    dense.learn_many(batch, y)
    touched = dense.state[1] > 0  # coordinates with gradient mass
    assert touched.sum() > 50
    assert np.all(dense.w[touched] != 0.0)
    zeros = np.sum(sparse.w[touched] == 0.0)
    assert 0 < zeros < touched.sum()  # L1 zeroes some weights exactly, keeps the strong ones
    assert np.all(sparse.w[~touched] == 0.0)


# -- state -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("model_name", list(MODELS))
@pytest.mark.parametrize("opt_name", ["sgd_invscaling", "adam", "ftrl"])
def test_state_dict_round_trip(model_name, opt_name, stream):
    batch, y = stream
    first, rest = batch.slice(0, 1000), batch.slice(1000, 1500)
    model = MODELS[model_name](OPTIMIZERS[opt_name]())
    model.learn_many(first, y[:1000])
    state = model.state_dict()
    clone = type(model).from_state_dict(state)
    other = MODELS[model_name](OPTIMIZERS[opt_name]())
    other.load_state_dict(state)
    assert clone.digest() == model.digest() == other.digest()
    p_model = model.progressive_many(rest, y[1000:1500])
    p_clone = clone.progressive_many(rest, y[1000:1500])
    assert np.array_equal(p_model, p_clone)
    assert clone.digest() == model.digest() != other.digest()
    # the snapshot was a copy: learning after it did not change it
    assert type(model).from_state_dict(state).digest() == other.digest()


def test_load_state_dict_rejects_mismatches():
    a = LogisticRegression(n_bits=10, optimizer=FTRL())
    with pytest.raises(ValueError):
        LogisticRegression(n_bits=11, optimizer=FTRL()).load_state_dict(a.state_dict())
    with pytest.raises(ValueError):
        LogisticRegression(n_bits=10, optimizer=Adam()).load_state_dict(a.state_dict())
    with pytest.raises(ValueError):
        FactorizationMachine(n_bits=10, k=2).load_state_dict(FactorizationMachine(n_bits=10, k=3).state_dict())


def test_digest_is_sensitive_and_deterministic():
    a, b = FactorizationMachine(n_bits=10, k=2, seed=5), FactorizationMachine(n_bits=10, k=2, seed=5)
    assert a.digest() == b.digest()
    assert FactorizationMachine(n_bits=10, k=2, seed=6).digest() != a.digest()
    b.V[3, 1] += 1e-12
    assert a.digest() != b.digest()


def test_inputs_are_checked():
    model = LogisticRegression(n_bits=10)
    with pytest.raises(ValueError):
        model.learn_one([1024], [1.0], 1.0)  # index outside the 2**10 space
    with pytest.raises(ValueError):
        model.learn_one([1], [1.0], 2.0)  # label outside [0, 1]
    with pytest.raises(ValueError):
        model.learn_many(SparseBatch.from_rows([([1], [1.0])]), [1.0, 0.0])
    assert not model.w.any()


# -- drift hook ------------------------------------------------------------------------------------
@pytest.mark.parametrize("model_name", list(MODELS))
@pytest.mark.parametrize("opt_name", ["sgd", "sgd_invscaling", "adam", "ftrl"])
def test_on_drift_speeds_up_learning(model_name, opt_name, stream):
    batch, y = stream
    model = MODELS[model_name](OPTIMIZERS[opt_name]())
    model.learn_many(batch.slice(0, 2000), y[:2000])
    adapted = type(model).from_state_dict(model.state_dict())
    adapted.on_drift(0.3)
    probe = batch.slice(2000, 2200)
    logit = lambda p: np.log(p) - np.log1p(-p)  # noqa: E731
    before, after = logit(model.predict_many(probe)), logit(adapted.predict_many(probe))
    if opt_name == "ftrl":  # FTRL forgets part of its history: weights shrink towards 0
        assert np.mean(np.abs(after)) < 0.9 * np.mean(np.abs(before))
    else:  # the others only change their step sizes
        np.testing.assert_allclose(after, before, rtol=1e-9)
    # one identical example with the opposite label: the adapted model moves further
    idx, val = batch.row(2000)
    p_model, p_adapted = model.predict_one(idx, val), adapted.predict_one(idx, val)
    flipped = 1.0 - round(p_model)
    model.learn_one(idx, val, flipped)
    adapted.learn_one(idx, val, flipped)
    assert abs(adapted.predict_one(idx, val) - p_adapted) > 1.2 * abs(model.predict_one(idx, val) - p_model)
    with pytest.raises(ValueError):
        model.on_drift(0.0)


def test_ftrl_on_drift_is_a_discount_of_the_history():
    model = LogisticRegression(n_bits=10, optimizer=FTRL(alpha=0.1, l1=0.2))
    h = FeatureHasher(10)
    model.learn_many(h.hash_many([{"a": str(i % 5)} for i in range(300)]), [float(i % 5 < 2) for i in range(300)])
    z, n = model.state.copy()
    model.on_drift(0.25)
    np.testing.assert_array_equal(model.state[0], z * 0.25)
    np.testing.assert_array_equal(model.state[1], n * 0.25)
    opt = model.optimizer
    expected = np.where(
        np.abs(z * 0.25) <= opt.l1, 0.0,
        -(z * 0.25 - np.sign(z) * opt.l1) / ((opt.beta + np.sqrt(n * 0.25)) / opt.alpha + opt.l2),
    )  # fmt: skip
    np.testing.assert_allclose(model.w, expected, rtol=1e-12, atol=0)


def test_fm_learns_an_interaction_that_lr_cannot():
    """Label = XOR of two categories: no linear model separates it, a second-order FM does."""
    rng = np.random.default_rng(4)
    a, b = rng.integers(2, size=4000), rng.integers(2, size=4000)
    y = (a != b).astype(float)
    batch = FeatureHasher(n_bits=12).hash_columns({"a": [str(v) for v in a], "b": [str(v) for v in b]})
    fm = FactorizationMachine(n_bits=12, k=4, optimizer=Adam(lr=0.05), init_std=0.1)
    lr = LogisticRegression(n_bits=12, optimizer=Adam(lr=0.05))
    p_fm, p_lr = fm.progressive_many(batch, y), lr.progressive_many(batch, y)
    assert roc_auc(y[2000:], p_fm[2000:]) > 0.99
    assert roc_auc(y[2000:], p_lr[2000:]) < 0.7
