"""Incremental LoRA / last-layers tuning of a local LM, versioned adapters, hot reload."""

from __future__ import annotations

import pytest

from ecomops.core.errors import ConfigError
from ecomops.learn.llm.base import Message
from ecomops.learn.llm.local import LocalCausalLM
from ecomops.learn.llm.tuning import AdapterRegistry, IncrementalTuner

FEEDBACK = [("where do you ship from?", "ningbo warehouse"), ("which city ships my order?", "ningbo warehouse")]


def test_lora_update_learns_saves_and_hot_reloads(tiny_gpt2, tmp_path):
    adapters = tmp_path / "adapters"
    lm = LocalCausalLM(tiny_gpt2, adapters=adapters)
    assert lm.refresh() is None
    before = lm.generate([Message("user", "where do you ship from?")], max_tokens=3).text
    # a random 32-wide model needs LoRA on every projection and bold steps to memorise an answer
    tuner = IncrementalTuner(tiny_gpt2, adapters, mode="lora", lora_targets=["c_attn", "c_proj", "c_fc"],
                             lora_r=16, lr=1e-2, min_steps=200)
    r1 = tuner.update(FEEDBACK)
    assert r1["version"] == 1 and r1["loss_after"] < 0.5 * r1["loss_before"]  # the loss falls
    assert (adapters / "v0001" / "adapter_config.json").exists()
    assert lm.refresh() == 1  # hot reload: the serving model picks the new version up
    after = lm.generate([Message("user", "where do you ship from?")], max_tokens=4)
    assert after.text == "ningbo warehouse" != before and after.model.endswith("adapter-v1")
    # the next update starts from v1, so it starts lower than v1 did
    r2 = tuner.update(FEEDBACK[:1])
    assert r2["version"] == 2 and r2["loss_before"] < r1["loss_before"]
    assert [v for v, _ in AdapterRegistry(adapters).versions()] == [1, 2]


def test_last_layers_update_touches_only_the_top_layers(tiny_gpt2, tmp_path):
    import torch

    tuner = IncrementalTuner(tiny_gpt2, tmp_path / "a", mode="last_n", n_layers=1, lr=5e-3, min_steps=40)
    r = tuner.update(FEEDBACK)
    assert r["loss_after"] < r["loss_before"]
    saved = torch.load(tmp_path / "a" / "v0001" / "layers.pt", weights_only=True)
    assert saved and all(k.startswith("transformer.h.1.") for k in saved)
    lm = LocalCausalLM(tiny_gpt2, adapters=tmp_path / "a")
    assert lm.adapter_version == 1
    base = dict(lm.base.named_parameters())
    tuned = dict(lm.model.named_parameters())
    assert torch.equal(base["transformer.h.0.attn.c_attn.weight"], tuned["transformer.h.0.attn.c_attn.weight"])
    assert not torch.equal(base["transformer.h.1.attn.c_attn.weight"], tuned["transformer.h.1.attn.c_attn.weight"])


def test_bad_tuning_requests(tiny_gpt2, tmp_path):
    with pytest.raises(ConfigError, match="mode"):
        IncrementalTuner(tiny_gpt2, tmp_path, mode="all")
    with pytest.raises(ConfigError, match="no feedback"):
        IncrementalTuner(tiny_gpt2, tmp_path).update([])


def test_int8_serving_model_keeps_the_learned_answer(tiny_gpt2, tmp_path):
    from ecomops.learn.quantize import is_quantized

    tuner = IncrementalTuner(tiny_gpt2, tmp_path / "a", mode="lora", lora_targets=["c_attn", "c_proj", "c_fc"],
                             lora_r=16, lr=1e-2, min_steps=200)
    tuner.update(FEEDBACK)
    lm = LocalCausalLM(tiny_gpt2, adapters=tmp_path / "a", quantize=True)
    assert lm.adapter_version == 1 and is_quantized(lm.model) and not is_quantized(lm.base)
    assert lm.generate([Message("user", "where do you ship from?")], max_tokens=4).text == "ningbo warehouse"
