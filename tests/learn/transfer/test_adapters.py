"""Feature-level domain adapters on synthetic domain shift: API, determinism, state, adaptation."""

from __future__ import annotations

import json

import numpy as np
import pytest

import torch

from ecomops.core.errors import ConfigError  # noqa: E402
from ecomops.learn.transfer.adapters import ADAPTERS, make_adapter  # noqa: E402
from ecomops.learn.transfer.coral import coral_align, coral_distance  # noqa: E402
from ecomops.learn.transfer.dann import grad_reverse  # noqa: E402
from ecomops.learn.transfer.mmd import mk_mmd  # noqa: E402

NAMES = list(ADAPTERS)
TRAINED = [n for n in NAMES if n != "prototypes"]  # prototypes have no weights and no seed to matter
FAST = dict(epochs=12, hidden=32, batch_size=64)  # small enough for the whole file to take seconds


def shifted(n_classes=2, along=1.0, perp=4.0, n=400, d=32, seed=0):
    """Gaussian classes (means 4 apart, unit noise); the target is the source scaled per feature,
    offset ``along`` x the class separation (which flips a source model's boundary) and ``perp`` out
    of the class plane. Returns (Xs, ys), (Xt, yt) unlabelled pool, (Xe, ye) target test set."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(n_classes, d))
    means *= 4.0 / np.linalg.norm(means[0] - means[1])
    u = (means[1] - means[0]) / 4.0
    o = rng.normal(size=d)
    o -= (o @ u) * u
    o /= np.linalg.norm(o)
    scale = np.exp(rng.uniform(-0.5, 0.5, d))
    offset = along * (means[1] - means[0]) + perp * o

    def draw(target):
        y = rng.integers(0, n_classes, n)
        X = means[y] + rng.normal(size=(n, d))
        return ((X * scale + offset) if target else X).astype(np.float32), y

    return draw(False), draw(True), draw(True)


def shots(Xt, yt, k):
    """k labelled target examples, the same number from every class."""
    C = int(yt.max()) + 1
    idx = np.concatenate([np.flatnonzero(yt == c)[: k // C] for c in range(C)])
    return Xt[idx], yt[idx]


def acc(model, X, y):
    return float((model.predict(X) == y).mean())


@pytest.fixture(scope="module")
def data():
    return shifted()


@pytest.mark.parametrize("name", NAMES)
def test_fit_predict_shapes_and_probabilities(name, data):
    (Xs, ys), (Xt, yt), (Xe, ye) = data
    a = make_adapter(name, seed=0, **FAST)
    assert a.fit(Xs, ys, Xt) is a
    P = a.predict_proba(Xe)
    assert P.shape == (len(Xe), 2) and P.dtype == np.float64
    assert np.all(P >= 0) and np.allclose(P.sum(axis=1), 1.0)
    pred = a.predict(Xe)
    assert pred.dtype == np.int64 and np.array_equal(pred, P.argmax(axis=1))
    assert acc(a, Xe, ye) > 0.5 if name != "source_only" else True  # adapters beat chance on the target
    assert a.predict_proba(Xe[:0]).shape == (0, 2)
    for key, values in a.history_.items():
        assert isinstance(key, str) and all(isinstance(v, float) and np.isfinite(v) for v in values)
    if name in TRAINED:
        assert len(a.history_["cls"]) >= FAST["epochs"]


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_probabilities(name, data):
    (Xs, ys), (Xt, yt), (Xe, _) = data
    Xk, yk = shots(Xt, yt, 10)
    fit = lambda seed: make_adapter(name, seed=seed, **FAST).fit(Xs, ys, Xt, Xk, yk).predict_proba(Xe)  # noqa: E731
    P0 = fit(0)
    assert np.array_equal(P0, fit(0))
    if name in TRAINED:  # the seed really drives initialisation and shuffling
        assert not np.array_equal(P0, fit(1))


@pytest.mark.parametrize("name", NAMES)
def test_state_round_trip_predicts_identically(name, data):
    (Xs, ys), (Xt, yt), (Xe, _) = data
    a = make_adapter(name, seed=3, **FAST).fit(Xs, ys, Xt, *shots(Xt, yt, 10))
    state = a.state_dict()
    assert state["name"] == name and set(state) == {"name", "config", "arrays"}
    assert all(isinstance(v, np.ndarray) for v in state["arrays"].values())
    # As a saved model would travel: config through JSON, arrays as plain copies.
    stored = {"name": state["name"], "config": json.loads(json.dumps(state["config"])),
              "arrays": {k: np.array(v) for k, v in state["arrays"].items()}}
    b = ADAPTERS[stored["name"]].from_state(stored)
    assert np.array_equal(b.predict_proba(Xe), a.predict_proba(Xe))
    assert b.history_ == a.history_ and b.get_params() == a.get_params()


@pytest.mark.parametrize("name", NAMES)
def test_three_classes(name):
    (Xs, ys), (Xt, _), (Xe, ye) = shifted(n_classes=3, along=0.3, perp=2.0, seed=1)
    a = make_adapter(name, seed=0, **FAST).fit(Xs, ys, Xt)
    P = a.predict_proba(Xe)
    assert P.shape == (len(Xe), 3) and np.allclose(P.sum(axis=1), 1.0)
    assert set(np.unique(a.predict(Xe))) == {0, 1, 2}
    assert acc(a, Xe, ye) > 0.6  # chance is 1/3


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("empty", [None, "array"])
def test_target_labels_only(name, empty, data):
    (Xs, _), (Xt, yt), (Xe, ye) = data
    Xk, yk = shots(Xt, yt, 40)
    Xs0, ys0 = (None, None) if empty is None else (np.zeros((0, Xs.shape[1]), np.float32), np.zeros(0, np.int64))
    a = make_adapter(name, seed=0, **FAST).fit(Xs0, ys0, Xt, Xk, yk)
    assert a.predict_proba(Xe).shape == (len(Xe), 2)
    assert acc(a, Xe, ye) > 0.85
    # Without a source there is nothing to adapt from, so Xt is not required either.
    assert acc(make_adapter(name, seed=0, **FAST).fit(Xs0, ys0, None, Xk, yk), Xe, ye) > 0.85


def test_linear_full_batch_model(data):
    (Xs, ys), _, _ = data
    a = make_adapter("source_only", seed=0, hidden=0, batch_size=0, epochs=30).fit(Xs, ys)
    assert acc(a, Xs, ys) > 0.9
    assert sorted(a.state_dict()["arrays"]) == ["mean", "net.head.bias", "net.head.weight", "scale"]
    assert np.array_equal(a.transform(Xs[:3]), (Xs[:3] - a.mean_) / a.scale_)  # f is the identity


@pytest.mark.parametrize("name", NAMES)
def test_classes_seen_only_in_target_shots(name, data):
    (Xs, ys), (Xt, yt), (Xe, _) = data
    Xk, yk = shots(Xt, yt, 10)
    a = make_adapter(name, seed=0, **FAST).fit(Xs, ys, Xt, Xk, np.where(yk == 1, 2, yk))
    assert a.predict_proba(Xe).shape == (len(Xe), 3)


def test_adaptation_beats_source_only_on_shifted_target(data):
    (Xs, ys), (Xt, _), (Xe, ye) = data
    base = acc(make_adapter("source_only", seed=0, **FAST).fit(Xs, ys, Xt), Xe, ye)
    assert base < 0.8  # the shift really hurts a model that ignores it
    for name in ("coral", "self_training"):
        assert acc(make_adapter(name, seed=0, **FAST).fit(Xs, ys, Xt), Xe, ye) > base + 0.15, name


def test_few_shot_target_labels_help(data):
    (Xs, ys), (Xt, yt), (Xe, ye) = data
    Xk, yk = shots(Xt, yt, 20)
    for name in ("source_only", "prototypes"):  # no unlabelled Xt: only the shots tell about the target
        k0 = acc(make_adapter(name, seed=0, **FAST).fit(Xs, ys), Xe, ye)
        k20 = acc(make_adapter(name, seed=0, **FAST).fit(Xs, ys, None, Xk, yk), Xe, ye)
        assert k20 > k0 + 0.1, (name, k0, k20)


def test_target_weight_sets_how_much_the_shots_count(data):
    (Xs, ys), (Xt, yt), (Xe, ye) = data
    Xk, yk = shots(Xt, yt, 20)
    ignored = make_adapter("source_only", seed=0, target_weight=0.0, **FAST).fit(Xs, ys, None, Xk, yk)
    alone = make_adapter("source_only", seed=0, **FAST).fit(Xs, ys)
    assert acc(ignored, Xe, ye) < acc(make_adapter("source_only", seed=0, **FAST).fit(Xs, ys, None, Xk, yk), Xe, ye)
    assert abs(acc(ignored, Xe, ye) - acc(alone, Xe, ye)) < 0.1
    # Prototypes: blend=0 keeps the source prototypes, blend=1 uses the shots alone (uncentred:
    # centring on the shots' mean already carries the source prototypes a long way).
    src = make_adapter("prototypes", blend=0.0, center=False).fit(Xs, ys, None, Xk, yk)
    tgt = make_adapter("prototypes", blend=1.0, center=False).fit(Xs, ys, None, Xk, yk)
    assert acc(tgt, Xe, ye) > acc(src, Xe, ye) + 0.1


def test_coral_aligns_covariances(data):
    (Xs, ys), (Xt, _), _ = data
    a = make_adapter("coral", seed=0, **FAST).fit(Xs, ys, Xt)
    before, after = a.history_["coral"]
    assert after < 0.5 * before
    # Without regularisation the re-coloured source has the target's covariance and mean.
    aligned = coral_align(Xs, Xt, eps=1e-6)
    assert coral_distance(aligned, Xt) < 1e-6 * coral_distance(Xs, Xt)
    assert np.allclose(aligned.mean(axis=0), Xt.mean(axis=0), atol=1e-6)


def test_deep_coral_loss_keeps_hidden_covariances_close(data):
    (Xs, ys), (Xt, _), _ = data
    deep = lambda w: make_adapter("coral", seed=0, deep_weight=w, **FAST).fit(Xs, ys, Xt).history_["deep_coral"]  # noqa: E731
    barely, strongly = deep(1e-9), deep(1000.0)
    assert len(strongly) == FAST["epochs"] and strongly[-1] < 0.5 * barely[-1]


def _hidden_mmd(model, Xs, Xt):
    return float(mk_mmd(torch.from_numpy(model.transform(Xs)), torch.from_numpy(model.transform(Xt))))


def test_mmd_brings_hidden_features_together(data):
    (Xs, ys), (Xt, _), _ = data
    trained = make_adapter("mmd", seed=0, **FAST).fit(Xs, ys, Xt)
    at_init = make_adapter("mmd", seed=0, **{**FAST, "epochs": 0}).fit(Xs, ys, Xt)
    plain = make_adapter("source_only", seed=0, **FAST).fit(Xs, ys, Xt)
    assert _hidden_mmd(trained, Xs, Xt) < 0.5 * _hidden_mmd(at_init, Xs, Xt)
    assert _hidden_mmd(trained, Xs, Xt) < 0.5 * _hidden_mmd(plain, Xs, Xt)
    assert trained.history_["mmd"][-1] < trained.history_["mmd"][0]


def test_mk_mmd_tells_shifted_samples_apart():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(200, 8, generator=g), torch.randn(200, 8, generator=g)
    assert abs(float(mk_mmd(a, b))) < 0.05 < float(mk_mmd(a, b + 0.5))


def test_dann_learns_labels_while_fooling_its_domain_classifier(data):
    (Xs, ys), (Xt, _), (Xe, ye) = data
    dann = make_adapter("dann", seed=0, **FAST).fit(Xs, ys, Xt)
    h = dann.history_
    assert h["cls"][-1] < 0.8 * h["cls"][0] and len(h["domain"]) == FAST["epochs"]
    # Domains this far apart are trivial to tell apart (BCE -> 0) unless the reversed gradient
    # keeps the features from helping; chance is ln 2 = 0.69.
    assert min(h["domain"]) > 0.5
    plain = make_adapter("source_only", seed=0, **FAST).fit(Xs, ys, Xt)
    assert acc(dann, Xe, ye) > acc(plain, Xe, ye) + 0.1


def test_gradient_reversal():
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    y = grad_reverse(x, 0.25)
    assert torch.equal(y, x)
    (3 * y).sum().backward()
    assert x.grad.tolist() == [-0.75, -0.75]


def test_self_training_pseudo_labels_grow_and_stay_balanced(data):
    (Xs, ys), (Xt, _), _ = data
    a = make_adapter("self_training", seed=0, rounds=3, max_fraction=0.6, **FAST).fit(Xs, ys, Xt)
    counts = a.history_["pseudo"]
    assert len(counts) == 3 and counts[0] < counts[1] <= counts[2] <= 0.6 * len(Xt)
    assert counts[0] == 2 * int(0.6 / 3 * len(Xt) / 2)  # equal number per class


def test_leaves_global_torch_state_alone(data):
    (Xs, ys), (Xt, _), _ = data
    rng, threads = torch.get_rng_state(), torch.get_num_threads()
    make_adapter("dann", seed=0, **FAST).fit(Xs, ys, Xt)
    assert torch.equal(rng, torch.get_rng_state()) and threads == torch.get_num_threads()


def test_progress_bar(data, capsys):
    (Xs, ys), _, _ = data
    make_adapter("source_only", seed=0, progress=True, **FAST).fit(Xs, ys)
    assert "source_only" in capsys.readouterr().err


def _raises(match, fn, *args, **kwargs):
    with pytest.raises(ConfigError, match=match):
        fn(*args, **kwargs)


def test_bad_input_raises_config_error(data):
    (Xs, ys), (Xt, yt), _ = data
    a = make_adapter("source_only", seed=0, **FAST)
    bad = Xs.copy()
    bad[5, 3] = np.nan
    _raises("NaN", a.fit, bad, ys)
    _raises("2-D", a.fit, Xs[0], ys[:1])
    _raises("one class label per feature row", a.fit, Xs, ys[:-1])
    _raises("class indices", a.fit, Xs, ys - 1)
    _raises("integer class indices", a.fit, Xs, ys + 0.5)
    _raises("features", a.fit, Xs, ys, Xt[:, :5])
    _raises("go together", a.fit, Xs, ys, None, Xt[:5], None)
    _raises("nothing to learn", a.fit, None, None)
    _raises("not fitted", a.predict_proba, Xs)
    a.fit(Xs, ys)
    _raises("expected 32", a.predict, Xs[:, :10])
    for name in ("coral", "mmd", "dann", "self_training"):
        _raises("needs unlabelled target features Xt", make_adapter(name, **FAST).fit, Xs, ys)
    _raises("hidden > 0", make_adapter, "mmd", hidden=0)
    _raises("hidden > 0", make_adapter, "dann", hidden=0)
    _raises("lr must be a number > 0", make_adapter, "coral", lr=0)
    _raises("choose one of source_only, coral, mmd, dann, self_training, prototypes", make_adapter, "cmd")
    _raises("no option lamda", make_adapter, "dann", lamda=1.0)
    _raises("saved by a 'coral' adapter", ADAPTERS["coral"].from_state, a.state_dict())
