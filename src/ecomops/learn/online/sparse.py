"""A batch of sparse rows in CSR layout: the currency between the hasher and the models.

Rows keep the order in which their features were hashed, and duplicate indices (hash
collisions) are kept as they are rather than summed: every model treats a row as a list of
``(index, value)`` pairs, so what a row means never depends on how it was built.

>>> import numpy as np
>>> b = SparseBatch.from_rows([(np.array([3, 1]), np.array([1.0, 0.5])), ([], [])])
>>> b.n_rows, b.nnz
(2, 2)
>>> idx, val = b.row(0)
>>> idx.tolist(), val.tolist()
([3, 1], [1.0, 0.5])
>>> b.row(1)[0].size
0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np


@dataclass(frozen=True, eq=False)
class SparseBatch:
    """CSR rows: row ``i`` is ``indices[indptr[i]:indptr[i+1]]`` with its ``values``."""

    indptr: np.ndarray  # int64, n_rows + 1
    indices: np.ndarray  # int32, nnz
    values: np.ndarray  # float32, nnz
    n_rows: int

    def __post_init__(self) -> None:
        # Kernels are compiled for exactly these dtypes; coercing here keeps one compiled
        # signature and catches malformed batches before they reach numba.
        object.__setattr__(self, "indptr", np.ascontiguousarray(self.indptr, dtype=np.int64))
        object.__setattr__(self, "indices", np.ascontiguousarray(self.indices, dtype=np.int32))
        object.__setattr__(self, "values", np.ascontiguousarray(self.values, dtype=np.float32))
        object.__setattr__(self, "n_rows", int(self.n_rows))
        if self.indptr.shape != (self.n_rows + 1,):
            raise ValueError(f"indptr must have n_rows + 1 = {self.n_rows + 1} entries, got {self.indptr.shape}")
        if self.indices.shape != self.values.shape or self.indices.ndim != 1:
            raise ValueError("indices and values must be 1-d arrays of the same length")
        if self.indptr[0] != 0 or self.indptr[-1] != self.indices.size or np.any(np.diff(self.indptr) < 0):
            raise ValueError("indptr must start at 0, never decrease and end at nnz")

    def __len__(self) -> int:
        return self.n_rows

    @property
    def nnz(self) -> int:
        return int(self.indices.size)

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Views (not copies) of row ``i``'s indices and values."""
        if not -self.n_rows <= i < self.n_rows:
            raise IndexError(f"row {i} out of range for a batch of {self.n_rows}")
        i %= max(self.n_rows, 1)
        a, b = self.indptr[i], self.indptr[i + 1]
        return self.indices[a:b], self.values[a:b]

    def slice(self, start: int, stop: int) -> "SparseBatch":
        """Rows ``start:stop`` sharing memory with this batch (indptr is rebased)."""
        start, stop, _ = slice(start, stop).indices(self.n_rows)
        stop = max(stop, start)
        a, b = self.indptr[start], self.indptr[stop]
        return SparseBatch(self.indptr[start : stop + 1] - a, self.indices[a:b], self.values[a:b], stop - start)

    @classmethod
    def from_rows(
        cls, rows: Iterable[tuple[Sequence[int] | np.ndarray, Sequence[float] | np.ndarray]]
    ) -> "SparseBatch":
        """Build a batch from ``(indices, values)`` pairs, e.g. rows taken earlier with :meth:`row`."""
        idx_parts, val_parts, lengths = [], [], []
        for idx, val in rows:
            idx = np.asarray(idx, dtype=np.int32).ravel()
            val = np.asarray(val, dtype=np.float32).ravel()
            if idx.shape != val.shape:
                raise ValueError(f"row has {idx.size} indices but {val.size} values")
            idx_parts.append(idx)
            val_parts.append(val)
            lengths.append(idx.size)
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        if not lengths:
            return cls(indptr, np.empty(0, np.int32), np.empty(0, np.float32), 0)
        return cls(indptr, np.concatenate(idx_parts), np.concatenate(val_parts), len(lengths))

    @classmethod
    def concat(cls, batches: Sequence["SparseBatch"]) -> "SparseBatch":
        """Stack batches row-wise, in order."""
        if not batches:
            return cls.from_rows([])
        offsets = np.cumsum([0] + [b.nnz for b in batches[:-1]])
        indptr = np.concatenate([[0]] + [b.indptr[1:] + o for b, o in zip(batches, offsets)])
        return cls(
            indptr,
            np.concatenate([b.indices for b in batches]),
            np.concatenate([b.values for b in batches]),
            sum(b.n_rows for b in batches),
        )
