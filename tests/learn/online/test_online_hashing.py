"""Feature hashing: the algorithm, its stability across processes, and batch == one-by-one."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomops.learn.online.hashing import BIAS_TOKEN, FeatureHasher, murmurhash3_32
from ecomops.learn.online.sparse import SparseBatch


def ref_murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3_x86_32 transcribed from Austin Appleby's reference (MurmurHash3.cpp)."""
    c1, c2, m32 = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    rotl = lambda x, r: ((x << r) | (x >> (32 - r))) & m32  # noqa: E731
    h = seed & m32
    n = len(data)
    for i in range(0, n - n % 4, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = rotl((k * c1) & m32, 15) * c2 & m32
        h = (rotl(h ^ k, 13) * 5 + 0xE6546B64) & m32
    tail = data[n - n % 4 :]
    k = 0
    for i in reversed(range(len(tail))):
        k = (k << 8) | tail[i]
    if tail:
        h ^= rotl((k * c1) & m32, 15) * c2 & m32
    h ^= n
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & m32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & m32
    return h ^ (h >> 16)


@pytest.mark.parametrize(
    "data, seed, expected",
    [  # published test vectors of MurmurHash3_x86_32
        (b"", 0, 0),
        (b"", 1, 0x514E28B7),
        (b"\xff\xff\xff\xff", 0, 0x76293B50),
        (b"!Ce\x87", 0, 0xF55B516B),
        (b"!Ce", 0, 0x7E4A8634),
        (b"hello", 0, 0x248BFA47),
        (b"abc", 0x9747B28C, 0xC84A62DD),
        (b"The quick brown fox jumps over the lazy dog", 0, 0x2E4FF723),
    ],
)
def test_murmur_known_vectors(data, seed, expected):
    assert murmurhash3_32(data, seed) == expected
    assert ref_murmur3_32(data, seed) == expected


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.integers(0, 2**32 - 1))
def test_murmur_matches_reference_transcription(data, seed):
    assert murmurhash3_32(data, seed) == ref_murmur3_32(data, seed)


def test_token_index_is_hard_coded_and_seeded():
    h = FeatureHasher(n_bits=20, seed=0)
    # murmur3_32(b"source=SEO", 0) & (2**20 - 1), from the reference transcription above
    expected = ref_murmur3_32(b"source=SEO") & 0xFFFFF
    assert expected == 0x086AD6
    idx, val = h.hash_one({"source": "SEO"})
    assert idx.tolist() == [ref_murmur3_32(BIAS_TOKEN.encode()) & 0xFFFFF, expected]
    assert val.tolist() == [1.0, 1.0]
    assert FeatureHasher(n_bits=20, seed=7).hash_one({"source": "SEO"})[0][1] != expected


def test_stable_across_processes():
    feats = {"buyer": "b-42", "country": "Deutschland", "price": 3.5, "emoji": "猫🐈"}
    here = FeatureHasher(n_bits=22, seed=3).hash_one(feats, crosses=[("buyer", "country")])[0].tolist()
    code = (
        "from ecomops.learn.online.hashing import FeatureHasher;"
        f"print(FeatureHasher(n_bits=22, seed=3).hash_one({feats!r}, crosses=[('buyer', 'country')])[0].tolist())"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")  # a different str-hash salt must not matter
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == str(here)


def test_row_semantics_order_missing_and_crosses():
    h = FeatureHasher(n_bits=24)
    idx, val = h.hash_one({"qty": 2, "buyer": "b1", "gone": None, "nan": float("nan"), "flag": True},
                          crosses=[("buyer", "qty"), ("buyer", "gone")])  # fmt: skip
    toks = [BIAS_TOKEN, "buyer=b1", "flag", "qty", "buyer=b1^qty"]
    assert idx.tolist() == [h.index(t) for t in toks]
    assert val.tolist() == [1.0, 1.0, 1.0, 2.0, 2.0]
    # dict order never matters
    idx2, _ = h.hash_one({"flag": True, "buyer": "b1", "qty": 2}, crosses=[("buyer", "qty")])
    assert idx2.tolist() == idx.tolist()
    assert h.tokens({"a": "x", "b": 0.5}, crosses=[("a", "b")])[0][-1] == "a=x^b"


def test_rejects_bad_values_and_config():
    with pytest.raises(TypeError):
        FeatureHasher(10).hash_one({"x": [1, 2]})
    with pytest.raises(ValueError):
        FeatureHasher(n_bits=31)
    with pytest.raises(ValueError):
        FeatureHasher(10, crosses=[("only_one",)])


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.text(max_size=6),
    st.sampled_from(["a", "b", "é", "\x00", "x\x00y", "猫", ""]),
)
names = st.sampled_from(["a", "b", "c", "price", "é", "abc", "abcd"])  # prefixes of 2-6 bytes
records_st = st.lists(st.dictionaries(names, values, max_size=5), min_size=1, max_size=12)


def _loop(h, records, crosses):
    return SparseBatch.from_rows([h.hash_one(r, crosses) for r in records])


def _assert_same(a: SparseBatch, b: SparseBatch):
    assert a.n_rows == b.n_rows
    assert np.array_equal(a.indptr, b.indptr)
    assert np.array_equal(a.indices, b.indices)
    assert np.array_equal(a.values, b.values)


@settings(max_examples=300, deadline=None)
@given(records_st, st.sampled_from([None, [("a", "b")], [("a", "price"), ("c", "a", "b")], [("abc", "abcd")]]))
def test_hash_many_equals_hash_one_loop(records, crosses):
    h = FeatureHasher(n_bits=18, seed=11)
    _assert_same(h.hash_many(records, crosses), _loop(h, records, crosses))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=4), st.floats(-1e6, 1e6), st.booleans()), min_size=1, max_size=20))
def test_uniform_records_take_the_columnar_path_and_agree(rows):
    h = FeatureHasher(n_bits=16, crosses=[("s", "x")])
    records = [{"s": s, "x": x, "b": b} for s, x, b in rows]
    _assert_same(h.hash_many(records), _loop(h, records, None))
    cols = {
        "s": [r["s"] for r in records],
        "x": np.array([r["x"] for r in records]),
        "b": np.array([r["b"] for r in records]),
    }
    _assert_same(h.hash_columns(cols), _loop(h, records, None))


def test_sparse_heterogeneous_records_use_the_token_path():
    h = FeatureHasher(n_bits=18)
    records = [{f"w{i}_{j}": 1.0 for j in range(3)} for i in range(50)]  # 150 keys, 3 per row
    _assert_same(h.hash_many(records), _loop(h, records, None))


def test_hash_columns_length_mismatch():
    with pytest.raises(ValueError):
        FeatureHasher(10).hash_columns({"a": ["x", "y"], "b": [1.0]})


def test_float32_values_and_large_ints_agree():
    h = FeatureHasher(n_bits=16)
    records = [{"v": np.float32(0.1), "i": 2**53 + 1}, {"v": 1e300, "i": -5}, {"v": 1e20, "i": 1e20}]
    crosses = [("v", "i")]
    _assert_same(h.hash_many(records, crosses), _loop(h, records, crosses))
    assert h.hash_one({"v": math.inf})[0].size == 1  # only the bias
    assert h.hash_one({"v": 1e300})[0].size == 1  # would be inf as float32
    assert h.hash_one({"v": 1e20, "i": 1e20}, crosses)[0].size == 3  # the cross overflows: skipped


def test_sparse_batch_slice_concat_and_checks():
    h = FeatureHasher(n_bits=12)
    b = h.hash_many([{"a": str(i), "x": float(i)} for i in range(10)])
    parts = [b.slice(0, 3), b.slice(3, 7), b.slice(7, 10)]
    _assert_same(SparseBatch.concat(parts), b)
    idx, val = b.row(-1)
    assert idx.tolist() == h.hash_one({"a": "9", "x": 9.0})[0].tolist()
    with pytest.raises(IndexError):
        b.row(10)
    with pytest.raises(ValueError):
        SparseBatch(np.array([0, 5]), np.zeros(3), np.zeros(3), 1)
    assert SparseBatch.from_rows([]).n_rows == 0 and h.hash_many([]).n_rows == 0
