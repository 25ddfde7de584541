"""MurmurHash3 (x86, 32-bit) in numba: the stable hash behind feature hashing.

Austin Appleby's public-domain algorithm, bit for bit: ``murmurhash3_32(b"hello") ==
0x248BFA47`` as in every other implementation (sklearn's ``murmurhash3_32(positive=True)``,
Guava, VW's hashing of strings), so indices can be cross-checked anywhere.

>>> hex(murmurhash3_32("hello"))
'0x248bfa47'
>>> murmurhash3_32("", seed=1) == 0x514E28B7
True
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["murmurhash3_32"]

_ENC = "surrogatepass"  # lone surrogates hash instead of raising

_C1 = np.uint32(0xCC9E2D51)
_C2 = np.uint32(0x1B873593)
_F1 = np.uint32(0x85EBCA6B)
_F2 = np.uint32(0xC2B2AE35)
_N1 = np.uint32(0xE6546B64)
_U8, _U13, _U15, _U16, _U17, _U19, _U24 = (np.uint32(x) for x in (8, 13, 15, 16, 17, 19, 24))


# Every intermediate is wrapped in np.uint32(...) so numba keeps 32-bit wrap-around arithmetic
# (it would otherwise widen to 64 bits or, mixing signedness, to float).
@njit(cache=True)
def _mix_k(k):
    k = np.uint32(k * _C1)
    k = np.uint32((k << _U15) | (k >> _U17))
    return np.uint32(k * _C2)


@njit(cache=True)
def _block(h, k):
    h = np.uint32(h ^ _mix_k(k))
    h = np.uint32((h << _U13) | (h >> _U19))
    return np.uint32(h * np.uint32(5) + _N1)


@njit(cache=True)
def _blocks(h, data, start, nblocks):
    for b in range(nblocks):
        p = start + 4 * b
        k = np.uint32(
            np.uint32(data[p])
            | (np.uint32(data[p + 1]) << _U8)
            | (np.uint32(data[p + 2]) << _U16)
            | (np.uint32(data[p + 3]) << _U24)
        )
        h = _block(h, k)
    return h


@njit(cache=True)
def _fmix(h, total_len):
    h = np.uint32(h ^ np.uint32(total_len))
    h = np.uint32(h ^ (h >> _U16))
    h = np.uint32(h * _F1)
    h = np.uint32(h ^ (h >> _U13))
    h = np.uint32(h * _F2)
    return np.uint32(h ^ (h >> _U16))


@njit(cache=True)
def _finish(h, data, start, end, total_len):
    """Blocks of data[start:end], its tail and the final mix, continuing from state ``h``.

    ``total_len`` counts the bytes hashed before ``start`` too (whole blocks only).
    """
    n = end - start
    nblocks = n >> 2
    h = _blocks(np.uint32(h), data, start, nblocks)
    tail = start + 4 * nblocks
    rem = n & 3
    k = np.uint32(0)
    if rem == 3:
        k = np.uint32(k ^ (np.uint32(data[tail + 2]) << _U16))
    if rem >= 2:
        k = np.uint32(k ^ (np.uint32(data[tail + 1]) << _U8))
    if rem >= 1:
        k = np.uint32(k ^ np.uint32(data[tail]))
        h = np.uint32(h ^ _mix_k(k))
    return _fmix(h, total_len)


@njit(cache=True)
def _resume(h, k0, r, data, start, end, total_len):
    """Hash of (some whole blocks, r = 0..3 pending bytes packed in k0, data[start:end]).

    Lets a token "name=value" continue from the precomputed state of "name=" while reading
    the value in place: no copy into a scratch buffer.
    """
    if r == 0:
        return _finish(h, data, start, end, total_len)
    n = end - start
    k = np.uint32(k0)
    if r + n < 4:  # everything left is tail
        for q in range(n):
            k = np.uint32(k | (np.uint32(data[start + q]) << np.uint32(8 * (r + q))))
        return _fmix(np.uint32(h ^ _mix_k(k)), total_len)
    for q in range(4 - r):
        k = np.uint32(k | (np.uint32(data[start + q]) << np.uint32(8 * (r + q))))
    return _finish(_block(np.uint32(h), k), data, start + 4 - r, end, total_len)


@njit(cache=True)
def _murmur3(data, start, end, seed):
    return _finish(np.uint32(seed), data, start, end, end - start)


@njit(cache=True)
def _hash_segments(buf, offsets, seed, mask):
    n = offsets.size - 1
    out = np.empty(n, np.int32)
    m = np.uint32(mask)
    for i in range(n):
        out[i] = np.int32(_murmur3(buf, offsets[i], offsets[i + 1], seed) & m)
    return out


def murmurhash3_32(data: bytes | str, seed: int = 0) -> int:
    """Unsigned MurmurHash3 x86_32 of ``data`` (str is UTF-8 encoded), e.g. for cross-checks."""
    if isinstance(data, str):
        data = data.encode("utf-8", _ENC)
    buf = np.frombuffer(data, dtype=np.uint8) if data else np.zeros(0, np.uint8)
    return int(_murmur3(buf, 0, buf.size, seed & 0xFFFFFFFF))
