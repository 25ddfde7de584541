"""Fine-tuning a (tiny) encoder: full, last-N layers and LoRA."""

from __future__ import annotations

import numpy as np
import pytest

from ecomops.core.errors import ConfigError
from ecomops.learn.transfer.encoder import TextEncoder
from ecomops.learn.transfer.finetune import FineTuner

@pytest.fixture(scope="module")
def enc(tiny_model_dir):
    return TextEncoder(tiny_model_dir, max_length=32, cache_dir=False)


def _fit(enc, reviews, mode, seed=0, **kw):
    # a random tiny encoder needs bolder steps than a pre-trained one to learn in a second
    x, y = reviews(64)
    params = dict(mode=mode, epochs=2, min_steps=160, batch_size=16, lr=5e-3, head_lr=1e-2, seed=seed)
    params.update(kw)
    return FineTuner(enc, **params).fit(x, y)


@pytest.mark.parametrize("mode", ["full", "last_n", "lora"])
def test_each_mode_learns_and_generalises(enc, mode, reviews):
    ft = _fit(enc, reviews, mode)
    assert ft.history_["train"][-1] < ft.history_["train"][0]  # the loss falls
    x, y = reviews(100, seed=7)  # unseen reviews
    p = ft.predict_proba(x)
    assert p.shape == (100, 2)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-6)
    assert (p.argmax(1) == y).mean() >= 0.8


@pytest.mark.parametrize("mode", ["full", "lora"])
def test_same_seed_same_model(enc, mode, reviews):
    x, _ = reviews(20, seed=3)
    a = _fit(enc, reviews, mode, seed=4).predict_proba(x)
    b = _fit(enc, reviews, mode, seed=4).predict_proba(x)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, _fit(enc, reviews, mode, seed=5).predict_proba(x))


def test_original_encoder_is_left_untouched(enc, reviews):
    before = enc.encode(["the kettle leaks"], use_cache=False)
    _fit(enc, reviews, "full")
    np.testing.assert_array_equal(before, enc.encode(["the kettle leaks"], use_cache=False))


def test_last_n_trains_only_the_top_layers(enc, reviews):
    import torch

    ft = _fit(enc, reviews, "last_n", n_layers=1)
    base, tuned = enc.model.state_dict(), ft.model_.state_dict()
    changed = {k for k in base if not torch.equal(base[k], tuned[k])}
    assert changed and all(k.startswith("encoder.layer.1.") for k in changed)


def test_lora_trains_adapters_and_leaves_base_weights(enc, reviews):
    import torch

    ft = _fit(enc, reviews, "lora")
    trainable = [n for n, p in ft.model_.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    base = enc.model.state_dict()
    merged = {k.replace("base_model.model.", "").replace(".base_layer", ""): v
              for k, v in ft.model_.state_dict().items() if "lora_" not in k}
    assert all(torch.equal(base[k], merged[k]) for k in base if k in merged)


@pytest.mark.parametrize("mode", ["full", "last_n", "lora"])
def test_save_and_load_predict_identically(enc, mode, tmp_path, reviews):
    ft = _fit(enc, reviews, mode)
    ft.save(tmp_path)
    if mode == "lora":  # adapters only: the base stays with the encoder
        assert not (tmp_path / "encoder").exists()
        assert (tmp_path / "adapter_model.safetensors").exists()
    x, _ = reviews(30, seed=9)
    back = FineTuner(enc, mode=mode).load(tmp_path)
    np.testing.assert_allclose(back.predict_proba(x), ft.predict_proba(x), atol=1e-6)
    np.testing.assert_allclose(back.embed(x), ft.embed(x), atol=1e-5)


def test_sample_weight_tilts_the_model(enc, reviews):
    """Up-weighting a few texts labelled against the pattern pulls their predictions over."""
    x, y = reviews(64)
    flipped = np.arange(8)
    y2 = y.copy()
    y2[flipped] = 1 - y2[flipped]
    w = np.ones(64)
    w[flipped] = 30.0
    plain = FineTuner(enc, epochs=3, min_steps=60, lr=2e-3, seed=0, val_fraction=0).fit(x, y2)
    heavy = FineTuner(enc, epochs=3, min_steps=60, lr=2e-3, seed=0, val_fraction=0).fit(x, y2, sample_weight=w)
    sub = [x[i] for i in flipped]
    hit_plain = (plain.predict_proba(sub).argmax(1) == y2[flipped]).mean()
    hit_heavy = (heavy.predict_proba(sub).argmax(1) == y2[flipped]).mean()
    assert hit_heavy > hit_plain


def test_best_epoch_is_picked_on_held_out_source_texts(enc, reviews):
    ft = _fit(enc, reviews, "full", epochs=3, min_steps=0, val_fraction=0.25)
    assert len(ft.history_["val"]) == 3


def test_progress_bar_reports_steps(enc, reviews):
    seen = []
    x, y = reviews(32)
    FineTuner(enc, epochs=1, min_steps=4, batch_size=16, seed=0,
              progress=lambda done, total: seen.append((done, total))).fit(x, y)
    assert seen[-1] == (4, 4)


def test_bad_settings_and_inputs_raise(enc, reviews):
    with pytest.raises(ConfigError, match="mode"):
        FineTuner(enc, mode="everything")
    with pytest.raises(ConfigError, match="two classes"):
        FineTuner(enc).fit(["a", "b"], [0, 0])
    with pytest.raises(ConfigError, match="as many labels"):
        FineTuner(enc).fit(["a", "b"], [0])
    with pytest.raises(ConfigError, match="n_layers"):
        FineTuner(enc, mode="last_n", n_layers=5).fit(*reviews(8))
    with pytest.raises(ConfigError, match="not fitted"):
        FineTuner(enc).predict_proba(["a"])
