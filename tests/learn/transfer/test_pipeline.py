"""TransferModel: every method behind one fit/predict/save/load, string labels in and out."""

from __future__ import annotations

import numpy as np
import pytest

from ecomops.core.errors import ConfigError
from ecomops.learn.transfer.pipeline import METHODS, TransferModel, parse_method, shot_weight



@pytest.fixture
def labelled(reviews):
    def make(n, seed=0):
        x, y = reviews(n, seed)
        return x, ["pos" if v else "neg" for v in y]

    return make


FT = {"epochs": 2, "min_steps": 30, "lr": 2e-3, "batch_size": 16}


def model(method, tiny_model_dir, tmp_path, **kw):
    return TransferModel(method, encoder=tiny_model_dir, max_length=32, cache_dir=tmp_path / "cache",
                         finetune_params=FT, adapter_params={"epochs": 30}, **kw)


def test_parse_method():
    assert parse_method("coral") == ("frozen", "coral")
    assert parse_method("lora") == ("lora", None)
    assert parse_method("finetune+dann") == ("finetune", "dann")
    assert parse_method("finetune_last2+self_training") == ("finetune_last2", "self_training")
    for bad in ("dan", "finetune+", "lora+dann+mmd", "finetune+prompt"):
        with pytest.raises(ConfigError):
            parse_method(bad)
    for name in METHODS:  # every advertised method parses
        parse_method(name)


def test_shot_weight():
    assert shot_weight(2000, 20) == 10.0  # capped
    assert shot_weight(2000, 1000) == 2.0
    assert shot_weight(100, 1000) == 1.0  # never below a source text
    assert shot_weight(2000, 0) == 10.0


@pytest.mark.parametrize("method", ["source_only", "mmd", "prototypes", "finetune", "lora+coral",
                                    "finetune_last2+self_training"])
def test_fit_predict_save_load(method, tiny_model_dir, tmp_path, labelled):
    xs, ys = labelled(64)
    xt, yt = labelled(40, seed=5)
    m = model(method, tiny_model_dir, tmp_path).fit(xs, ys, xt)
    assert m.classes_ == ["neg", "pos"]
    pred = m.predict(xt)
    assert set(pred) <= {"neg", "pos"}
    p = m.predict_proba(xt)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-6)
    back = TransferModel.load(m.save(tmp_path / "model"), cache_dir=tmp_path / "cache")
    np.testing.assert_allclose(back.predict_proba(xt), p, atol=1e-5)
    assert back.predict(xt) == pred


@pytest.mark.parametrize("method", ["finetune", "finetune+dann"])
def test_fine_tuned_methods_learn_the_task(method, tiny_model_dir, tmp_path, labelled):
    xs, ys = labelled(96)
    xt, yt = labelled(60, seed=5)
    m = model(method, tiny_model_dir, tmp_path).fit(xs, ys, xt)
    assert m.score(xt, yt) >= 0.8


def test_deterministic_with_a_seed(tiny_model_dir, tmp_path, labelled):
    xs, ys = labelled(48)
    xt, _ = labelled(20, seed=5)
    a = model("finetune+mmd", tiny_model_dir, tmp_path, seed=3).fit(xs, ys, xt).predict_proba(xt)
    b = model("finetune+mmd", tiny_model_dir, tmp_path, seed=3).fit(xs, ys, xt).predict_proba(xt)
    np.testing.assert_array_equal(a, b)


def test_target_shots_bring_a_class_the_source_lacks(tmp_path):
    """A label only the new category has (here: return requests) is learnt from its shots alone."""
    src = ["love this blender, works great", "excellent mixer, very sturdy", "awful blender, broke in a week",
           "cheap mixer, useless and noisy"]
    shots = ["great kettle, boils fast", "terrible kettle, the lid broke",
             "I want to send this kettle back and get a refund", "how do I return the kettle for my money back"]
    m = TransferModel("prototypes", cache_dir=tmp_path).fit(
        src, ["pos", "pos", "neg", "neg"], ["nice kettle", "kettle arrived"], shots, ["pos", "neg", "return", "return"])
    assert m.classes_ == ["neg", "pos", "return"]
    assert m.predict(["please refund me, I am returning this kettle", "wonderful kettle, I love it"]) == ["return", "pos"]


def test_load_refuses_a_changed_encoder(tiny_model_dir, other_tiny_model_dir, tmp_path, labelled):
    import json

    xs, ys = labelled(30)
    d = model("source_only", tiny_model_dir, tmp_path).fit(xs, ys).save(tmp_path / "m")
    meta = json.loads((d / "transfer.json").read_text())
    meta["encoder"] = other_tiny_model_dir
    (d / "transfer.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="refit"):
        TransferModel.load(d)


def test_clear_errors(tiny_model_dir, tmp_path):
    with pytest.raises(ConfigError, match="not fitted"):
        model("mmd", tiny_model_dir, tmp_path).predict(["x"])
    with pytest.raises(ConfigError, match="two classes"):
        model("mmd", tiny_model_dir, tmp_path).fit(["a", "b"], ["x", "x"])
    with pytest.raises(ConfigError, match="same length"):
        model("mmd", tiny_model_dir, tmp_path).fit(["a", "b"], ["x", "y"], [], ["c"], [])
    with pytest.raises(ConfigError, match="transfer fit"):
        TransferModel.load(tmp_path / "missing")
