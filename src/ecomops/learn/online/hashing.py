"""Stable feature hashing into a fixed space of ``2**n_bits`` coordinates.

Tokens are hashed with MurmurHash3 (x86, 32-bit; :mod:`.murmur`) over their UTF-8 bytes, so an
index depends only on the token, ``seed`` and ``n_bits``: the same in every process, Python
version and machine (Python's own ``hash`` is salted per process and would silently scramble a
model restored from a checkpoint).

How a feature dict becomes a sparse row, in this order:

* the bias token ``__bias__`` with value 1.0, always first;
* features sorted by name (so the row never depends on dict order); a ``str`` value ``v`` of
  feature ``name`` is the indicator token ``"name=v"`` with value 1.0, a number (``bool``,
  ``int``, ``float``, numpy scalars) is the token ``"name"`` with that value; ``None`` and
  numbers that are not finite as float32 (NaN, inf, beyond 3.4e38) are missing and skipped;
* crosses in the order given: the parts (``"name=v"`` or ``"name"``) joined with ``"^"``, the
  value the product of the parts' values; skipped when a member is missing (or the product
  overflows float32).

Feature names are ``str``. Ids that look like numbers (user ids, zip codes) must be passed as
``str`` to be indicators.
Duplicate indices (collisions) are kept, not summed.

>>> h = FeatureHasher(n_bits=18)
>>> idx, val = h.hash_one({"buyer": "b1", "qty": 3}, crosses=[("buyer", "qty")])
>>> idx.tolist()  # __bias__, buyer=b1, qty, buyer=b1^qty
[108325, 61082, 11985, 28721]
>>> val.tolist()
[1.0, 1.0, 3.0, 3.0]
>>> batch = h.hash_many([{"buyer": "b1", "qty": 3}, {"buyer": "b2", "qty": None}])
>>> batch.row(0)[0].tolist(), batch.row(1)[0].size
([108325, 61082, 11985], 2)
"""

from __future__ import annotations

import numbers
from operator import itemgetter
from typing import Any, Mapping, Sequence

import numpy as np
from numba import njit

from .murmur import _blocks, _hash_segments, _murmur3, _resume, murmurhash3_32
from .sparse import SparseBatch

__all__ = ["FeatureHasher", "SparseBatch", "murmurhash3_32"]

BIAS_TOKEN = "__bias__"
_ENC = "surrogatepass"  # lone surrogates hash instead of crashing the stream

F32_MAX = float(np.finfo(np.float32).max)  # larger values would turn into inf in the float32 rows


@njit(cache=True)
def _split_nul(buf, n, base, starts, ends):
    # buf holds n values joined by NUL bytes (UTF-8 never puts a 0 byte inside a character).
    j = 0
    s = 0
    for p in range(buf.size):
        if buf[p] == 0:
            starts[j] = base + s
            ends[j] = base + p
            j += 1
            s = p + 1
    if n > 0:
        starts[j] = base + s
        ends[j] = base + buf.size


@njit(cache=True)
def _copy(dst, pos, src, a, b):
    for q in range(a, b):
        dst[pos] = src[q]
        pos += 1
    return pos


@njit(cache=True)
def _assemble(pbuf, poff, sbuf, starts, ends, is_str, vals, valid, const_idx, cmem, coff, bias_idx, seed, mask):
    # String columns are always present with value 1: their vals/valid rows are never read.
    n_cols, n_rows = valid.shape
    n_cross = coff.size - 1
    width = 1 + n_cols + n_cross
    m = np.uint32(mask)
    maxlen = 1
    for j in range(n_cols):
        longest = 0
        for i in range(n_rows):
            if ends[j, i] - starts[j, i] > longest:
                longest = ends[j, i] - starts[j, i]
        maxlen += poff[j + 1] - poff[j] + longest + 1
    scratch = np.empty(maxlen, np.uint8)
    # Murmur state after each prefix's whole 4-byte blocks plus its last 0-3 bytes: tokens
    # resume from it and read the value in place instead of re-hashing "name=" on every row.
    pre_h = np.empty(n_cols, np.uint32)
    pre_k = np.zeros(n_cols, np.uint32)
    pre_r = np.empty(n_cols, np.int64)
    for j in range(n_cols):
        plen = poff[j + 1] - poff[j]
        nb = plen // 4
        pre_h[j] = _blocks(np.uint32(seed), pbuf, poff[j], nb)
        pre_r[j] = plen - 4 * nb
        for q in range(pre_r[j]):
            pre_k[j] |= np.uint32(pbuf[poff[j] + 4 * nb + q]) << np.uint32(8 * q)
    indptr = np.zeros(n_rows + 1, np.int64)
    indices = np.empty(n_rows * width, np.int32)
    values = np.empty(n_rows * width, np.float32)
    nnz = 0
    for i in range(n_rows):
        indices[nnz] = bias_idx
        values[nnz] = 1.0
        nnz += 1
        for j in range(n_cols):
            if is_str[j] or valid[j, i]:
                if const_idx[j] >= 0:
                    indices[nnz] = const_idx[j]
                else:
                    a = starts[j, i]
                    b = ends[j, i]
                    total = poff[j + 1] - poff[j] + b - a
                    indices[nnz] = np.int32(_resume(pre_h[j], pre_k[j], pre_r[j], sbuf, a, b, total) & m)
                values[nnz] = 1.0 if is_str[j] else np.float32(vals[j, i])
                nnz += 1
        for c in range(n_cross):
            ok = True
            v = 1.0
            L = 0
            for q in range(coff[c], coff[c + 1]):
                j = cmem[q]
                if not (is_str[j] or valid[j, i]):
                    ok = False
                    break
                if q > coff[c]:
                    scratch[L] = 94  # "^"
                    L += 1
                L = _copy(scratch, L, pbuf, poff[j], poff[j + 1])
                L = _copy(scratch, L, sbuf, starts[j, i], ends[j, i])
                if not is_str[j]:
                    v *= vals[j, i]
            if ok and abs(v) <= F32_MAX:
                indices[nnz] = np.int32(_murmur3(scratch, 0, L, seed) & m)
                values[nnz] = np.float32(v)
                nnz += 1
        indptr[i + 1] = nnz
    return indptr, indices[:nnz].copy(), values[:nnz].copy()


def _part(name: str, v: Any) -> tuple[str, float] | None:
    """The token part and value of one feature, or None when missing."""
    if isinstance(v, str):
        return f"{name}={v}", 1.0
    if v is None:
        return None
    if not isinstance(v, (numbers.Real, np.bool_)):
        raise TypeError(f"feature {name!r}: expected str, number, bool or None, got {type(v).__name__}")
    x = float(v)
    return (name, x) if abs(x) <= F32_MAX else None  # NaN compares False: missing too


class FeatureHasher:
    """Hash feature dicts (one, many, or columns) into sparse rows of ``2**n_bits`` coordinates.

    ``crosses`` given here apply to every call that does not pass its own.
    """

    def __init__(self, n_bits: int = 20, seed: int = 0, crosses: Sequence[Sequence[str]] | None = None):
        if not 1 <= int(n_bits) <= 30:
            raise ValueError(f"n_bits must be in [1, 30], got {n_bits}")
        if not 0 <= int(seed) < 2**32:
            raise ValueError(f"seed must be in [0, 2**32), got {seed}")
        self.n_bits = int(n_bits)
        self.seed = int(seed)
        self.mask = (1 << self.n_bits) - 1
        self.crosses = self._check_crosses(crosses or ())
        self.bias_index = self.index(BIAS_TOKEN)

    def __repr__(self) -> str:
        return f"FeatureHasher(n_bits={self.n_bits}, seed={self.seed}, crosses={list(self.crosses)})"

    @staticmethod
    def _check_crosses(crosses) -> tuple[tuple[str, ...], ...]:
        out = tuple(tuple(c) for c in crosses)
        for c in out:
            if len(c) < 2 or not all(isinstance(n, str) for n in c):
                raise ValueError(f"a cross names two or more features, got {c!r}")
        return out

    def index(self, token: str) -> int:
        """The coordinate of one token."""
        return murmurhash3_32(token, self.seed) & self.mask

    # -- one row ---------------------------------------------------------------------------------
    def tokens(self, features: Mapping[str, Any], crosses=None) -> tuple[list[str], list[float]]:
        """The tokens and values of one row, in row order (the reference semantics)."""
        crosses = self.crosses if crosses is None else self._check_crosses(crosses)
        toks, vals = [BIAS_TOKEN], [1.0]
        parts = {}
        for name in sorted(features):
            p = _part(name, features[name])
            if p is not None:
                parts[name] = p
                toks.append(p[0])
                vals.append(p[1])
        for c in crosses:
            ps = [parts.get(n) for n in c]
            if all(p is not None for p in ps):
                v = 1.0
                for p in ps:
                    v *= p[1]
                if not abs(v) <= F32_MAX:
                    continue
                toks.append("^".join(p[0] for p in ps))
                vals.append(v)
        return toks, vals

    def hash_one(self, features: Mapping[str, Any], crosses=None) -> tuple[np.ndarray, np.ndarray]:
        """``(indices int32[k], values float32[k])`` of one feature dict."""
        toks, vals = self.tokens(features, crosses)
        return self._hash_tokens(toks), np.array(vals, dtype=np.float32)

    def _hash_tokens(self, toks: list[str]) -> np.ndarray:
        enc = [t.encode("utf-8", _ENC) for t in toks]
        offsets = np.zeros(len(enc) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, enc), np.int64, len(enc)), out=offsets[1:])
        buf = np.frombuffer(b"".join(enc) or b"\x00", dtype=np.uint8)
        return _hash_segments(buf, offsets, self.seed, self.mask)

    # -- many rows -------------------------------------------------------------------------------
    def hash_many(self, records: Sequence[Mapping[str, Any]], crosses=None) -> SparseBatch:
        """Hash a list of feature dicts; identical to :meth:`hash_one` row by row.

        Records sharing one key set (the usual case) go through the columnar path; very
        heterogeneous sparse records (bags of words) are hashed token by token instead, so
        the cost stays proportional to the number of features present.
        """
        n = len(records)
        if n == 0:
            return SparseBatch.from_rows([])
        keys = tuple(records[0])
        nk = len(keys)
        if nk and all(map(nk.__eq__, map(len, records))):
            try:
                # Same length + every key of the first record present = same key set.
                rows = list(map(itemgetter(*keys), records)) if nk > 1 else [(r[keys[0]],) for r in records]
            except KeyError:
                rows = None
            if rows is not None:
                return self.hash_columns(dict(zip(keys, zip(*rows))), crosses, n_rows=n)
        union = set().union(*records)
        if len(union) * n <= 4 * sum(map(len, records)):
            return self.hash_columns({k: [r.get(k) for r in records] for k in union}, crosses, n_rows=n)
        return self._hash_rows(records, crosses)

    def _hash_rows(self, records, crosses) -> SparseBatch:
        toks, vals, lengths = [], [], []
        for r in records:
            t, v = self.tokens(r, crosses)
            toks += t
            vals += v
            lengths.append(len(t))
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        return SparseBatch(indptr, self._hash_tokens(toks), np.array(vals, dtype=np.float32), len(lengths))

    def hash_columns(
        self, columns: Mapping[str, Sequence[Any] | np.ndarray], crosses=None, n_rows: int | None = None
    ) -> SparseBatch:
        """Hash columnar data (name -> values); row ``i`` equals ``hash_one`` of ``{name: col[i]}``."""
        crosses = self.crosses if crosses is None else self._check_crosses(crosses)
        names = sorted(columns)
        if n_rows is None:
            n_rows = len(columns[names[0]]) if names else 0
        n_cols = len(names)
        prefixes, segs = [], []
        # np.empty: each column fills only the rows of these it needs (see _assemble)
        starts = np.empty((n_cols, n_rows), dtype=np.int64)
        ends = np.empty((n_cols, n_rows), dtype=np.int64)
        vals = np.empty((n_cols, n_rows), dtype=np.float64)
        valid = np.empty((n_cols, n_rows), dtype=np.bool_)
        is_str = np.zeros(n_cols, dtype=np.bool_)
        const_idx = np.full(n_cols, -1, dtype=np.int32)
        base = 0
        for j, name in enumerate(names):
            col = columns[name]
            if len(col) != n_rows:
                raise ValueError(f"column {name!r} has {len(col)} values, expected {n_rows}")
            kind, payload = _classify(col)
            if kind == "num":
                prefixes.append(name.encode("utf-8", _ENC))
                starts[j] = 0
                ends[j] = 0
                vals[j] = payload
                np.less_equal(np.abs(payload), F32_MAX, out=valid[j])
                const_idx[j] = self.index(name)
                continue
            if kind == "str":
                prefixes.append(f"{name}=".encode("utf-8", _ENC))
                is_str[j] = True
                data = payload
                if data.count(0) == max(n_rows - 1, 0):
                    buf = np.frombuffer(data or b"\x00", dtype=np.uint8)[: len(data)]
                    _split_nul(buf, n_rows, base, starts[j], ends[j])
                    segs.append(data)
                    base += len(data)
                    continue
                enc = [s.encode("utf-8", _ENC) for s in col]
            else:  # mixed: each row carries its full part, the prefix is empty
                prefixes.append(b"")
                valid[j] = True
                enc = []
                for i, v in enumerate(col):
                    p = _part(name, v)
                    if p is None:
                        valid[j, i] = False
                        enc.append(b"")
                    else:
                        enc.append(p[0].encode("utf-8", _ENC))
                        vals[j, i] = p[1]
            lengths = np.fromiter(map(len, enc), np.int64, n_rows)
            np.cumsum(lengths, out=ends[j])
            ends[j] += base
            starts[j] = ends[j] - lengths
            data = b"".join(enc)
            segs.append(data)
            base += len(data)
        pos = {n: j for j, n in enumerate(names)}
        members, coff = [], [0]
        for c in crosses:
            if all(n in pos for n in c):  # a member absent from every row: never present
                members += [pos[n] for n in c]
                coff.append(len(members))
        poff = np.zeros(n_cols + 1, dtype=np.int64)
        np.cumsum([len(p) for p in prefixes], out=poff[1:])
        pbuf = np.frombuffer(b"".join(prefixes) + b"\x00", dtype=np.uint8)
        sbuf = np.frombuffer(b"".join(segs) + b"\x00", dtype=np.uint8)
        indptr, indices, values = _assemble(
            pbuf, poff, sbuf, starts, ends, is_str, vals, valid, const_idx,
            np.array(members, dtype=np.int64), np.array(coff, dtype=np.int64),
            self.bias_index, self.seed, self.mask,
        )  # fmt: skip
        return SparseBatch(indptr, indices, values, n_rows)


def _classify(col) -> tuple[str, Any]:
    """("str", NUL-joined UTF-8) | ("num", float64 array) | ("mixed", None)."""
    if isinstance(col, np.ndarray):
        if col.dtype.kind in "fiub":
            return "num", col.astype(np.float64).ravel()
        col = col.tolist()
    try:
        return "str", "\x00".join(col).encode("utf-8", _ENC)
    except TypeError:
        pass
    try:
        arr = np.array(col)
    except (ValueError, OverflowError, TypeError):
        return "mixed", None
    if arr.ndim == 1 and arr.dtype.kind in "fiub":
        return "num", arr.astype(np.float64)
    return "mixed", None
