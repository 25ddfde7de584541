"""Shared machinery of the hashed binary classifiers: batching, checks, state and digests.

A model is a set of named float64 arrays plus a numba kernel ``_run`` that walks a
:class:`SparseBatch` row by row and, per row, predicts (before learning) and/or learns. Single
examples go through the same kernel as one-row batches, which is why ``learn_many`` equals a
loop of ``learn_one`` bit for bit, and why a model restored from ``state_dict`` continues
exactly like the original.

Not thread-safe: kernels update the arrays in place. Give each model one writer (predictions
from other threads would read half-updated rows).

>>> import numpy as np
>>> state_digest({"w": np.zeros(3), "n_bits": 2}) == state_digest({"n_bits": 2, "w": np.zeros(3)})
True
>>> state_digest({"w": np.zeros(3)}) == state_digest({"w": np.zeros(3, dtype=np.float32)})
False
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

import numpy as np

from .optim import N_SCALARS, FTRL, Optimizer, optimizer_from_kind
from .sparse import SparseBatch


class _Row(NamedTuple):
    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray


LOGIT_CLIP = 35.0  # exp(35) ~ 1.6e15: p stays inside (0, 1) in float64
_EMPTY_Y = np.zeros(0, dtype=np.float64)


class HashedBinaryModel:
    """Base class; subclasses define ``_arrays`` (names of their state arrays) and ``_run``."""

    _arrays: tuple[str, ...] = ()
    _extra_scalars: tuple[str, ...] = ()

    def __init__(self, n_bits: int, optimizer: Optimizer | None, seed: int):
        if not 1 <= int(n_bits) <= 30:
            raise ValueError(f"n_bits must be in [1, 30], got {n_bits}")
        self.n_bits = int(n_bits)
        self.dim = 1 << self.n_bits
        self.optimizer = FTRL() if optimizer is None else optimizer
        if not isinstance(self.optimizer, Optimizer):
            raise TypeError(f"optimizer must be an SGD, Adam or FTRL instance, got {type(optimizer).__name__}")
        self.seed = int(seed)
        self._hyper = self.optimizer.hyper()
        self.scalars = np.zeros(N_SCALARS, dtype=np.float64)
        self.scalars[1] = 1.0  # SGD boost: none

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_bits={self.n_bits}, optimizer={self.optimizer!r}, seed={self.seed})"

    # -- the kernel ------------------------------------------------------------------------------
    def _run(self, batch, y: np.ndarray, predict: bool, learn: bool, out: np.ndarray) -> None:
        """``batch``: anything with CSR ``indptr``/``indices``/``values`` of the kernels' dtypes."""
        raise NotImplementedError

    def _check_indices(self, indices: np.ndarray) -> None:
        if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= self.dim):
            # numba does not bounds-check: an index from a wider hasher would corrupt memory
            raise ValueError(f"feature indices must be in [0, 2**{self.n_bits}); was the hasher built with more bits?")

    def _check_batch(self, batch: SparseBatch) -> None:
        if not isinstance(batch, SparseBatch):
            raise TypeError(f"expected a SparseBatch, got {type(batch).__name__}")
        self._check_indices(batch.indices)

    def _labels(self, y: Any, n: int) -> np.ndarray:
        y = np.ascontiguousarray(y, dtype=np.float64).reshape(-1)
        if y.size != n:
            raise ValueError(f"got {y.size} labels for {n} rows")
        if n and not (np.all(y >= 0.0) and np.all(y <= 1.0)):
            raise ValueError("labels must be in [0, 1]")
        return y

    def _one(self, idx, val) -> _Row:
        # A one-row batch without SparseBatch's validation: single events go through the same
        # kernel as batches (hence bit-identical results) at a fraction of the call overhead.
        idx = np.ascontiguousarray(idx, dtype=np.int32).reshape(-1)
        val = np.ascontiguousarray(val, dtype=np.float32).reshape(-1)
        if idx.shape != val.shape:
            raise ValueError(f"row has {idx.size} indices but {val.size} values")
        self._check_indices(idx)
        return _Row(np.array([0, idx.size], dtype=np.int64), idx, val)

    # -- public API ------------------------------------------------------------------------------
    def predict_one(self, idx, val) -> float:
        """Probability of the positive class for one hashed row."""
        out = np.empty(1, dtype=np.float64)
        self._run(self._one(idx, val), _EMPTY_Y, True, False, out)
        return float(out[0])

    def learn_one(self, idx, val, y: float) -> None:
        """One online update on a hashed row with label ``y`` in [0, 1]."""
        y = float(y)
        if not 0.0 <= y <= 1.0:
            raise ValueError("labels must be in [0, 1]")
        self._run(self._one(idx, val), np.array([y]), False, True, _EMPTY_Y)

    def predict_many(self, batch: SparseBatch) -> np.ndarray:
        self._check_batch(batch)
        out = np.empty(batch.n_rows, dtype=np.float64)
        self._run(batch, _EMPTY_Y, True, False, out)
        return out

    def learn_many(self, batch: SparseBatch, y) -> None:
        """Learn the rows in order: the same parameters as ``learn_one`` row by row."""
        self._check_batch(batch)
        self._run(batch, self._labels(y, batch.n_rows), False, True, _EMPTY_Y)

    def progressive_many(self, batch: SparseBatch, y) -> np.ndarray:
        """For each row in order: predict, then learn. Returns the predictions made before learning."""
        self._check_batch(batch)
        out = np.empty(batch.n_rows, dtype=np.float64)
        self._run(batch, self._labels(y, batch.n_rows), True, True, out)
        return out

    def on_drift(self, factor: float = 0.1) -> None:
        """Make the optimizer adapt faster after a drift (``0 < factor <= 1``, smaller = stronger).

        See :mod:`ecomops.learn.online.optim` for what each optimizer does with ``factor``.
        """
        self.optimizer.on_drift_scalars(self.scalars, factor)
        for w_name, s_name, hyper in self._blocks():
            self.optimizer.on_drift(getattr(self, w_name), getattr(self, s_name), factor, hyper)

    def _blocks(self) -> list[tuple[str, str, np.ndarray]]:
        """(weights, their optimizer state, hyperparameters) per parameter block; flat views."""
        raise NotImplementedError

    @property
    def n_learned(self) -> int:
        return int(self.scalars[0])

    # -- state -----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray | int | float]:
        """A snapshot (copies) of everything the model needs to continue exactly."""
        d: dict[str, np.ndarray | int | float] = {
            "n_bits": self.n_bits,
            "seed": self.seed,
            "optimizer_kind": int(self.optimizer.kind),
            "optimizer_hyper": self.optimizer.hyper(),
            "scalars": self.scalars.copy(),
        }
        for name in self._extra_scalars:
            d[name] = getattr(self, name)
        for name in self._arrays:
            d[name] = getattr(self, name).copy()
        return d

    def load_state_dict(self, d: dict) -> None:
        """Restore in place (arrays are copied into this model's own buffers)."""
        if int(d["n_bits"]) != self.n_bits or int(d["optimizer_kind"]) != self.optimizer.kind:
            raise ValueError(
                f"state is for n_bits={d['n_bits']} and optimizer kind {d['optimizer_kind']}, "
                f"this model has n_bits={self.n_bits} and {self.optimizer.name}"
            )
        for name in self._extra_scalars:
            if d[name] != getattr(self, name):
                raise ValueError(f"state has {name}={d[name]}, this model has {getattr(self, name)}")
        for name in self._arrays:
            mine = getattr(self, name)
            if np.shape(d[name]) != mine.shape:
                raise ValueError(f"state array {name!r} has shape {np.shape(d[name])}, expected {mine.shape}")
        self.optimizer = optimizer_from_kind(int(d["optimizer_kind"]), np.asarray(d["optimizer_hyper"]))
        self._set_hyper()
        self.seed = int(d["seed"])
        self.scalars[:] = d["scalars"]
        for name in self._arrays:
            getattr(self, name)[...] = d[name]

    def _set_hyper(self) -> None:
        self._hyper = self.optimizer.hyper()

    def digest(self) -> str:
        """sha256 hex over the configuration, all parameters and all optimizer state."""
        # the live arrays, not state_dict()'s copies: a checkpoint digests every model, and copying
        # megabytes per model while the service answers requests costs latency for nothing
        d: dict[str, np.ndarray | int | float] = {
            "n_bits": self.n_bits, "seed": self.seed, "optimizer_kind": int(self.optimizer.kind),
            "optimizer_hyper": self.optimizer.hyper(), "scalars": self.scalars,
        }
        for name in self._extra_scalars:
            d[name] = getattr(self, name)
        for name in self._arrays:
            d[name] = getattr(self, name)
        return state_digest(d)


def state_digest(d: dict) -> str:
    """Order-stable sha256 of a flat state dict of arrays and scalars."""
    h = hashlib.sha256()
    for key in sorted(d):
        v = d[key]
        h.update(key.encode() + b"\x00")
        if isinstance(v, np.ndarray):
            a = np.ascontiguousarray(v)
            a = a.astype(a.dtype.newbyteorder("<"), copy=False)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(a.reshape(-1).view(np.uint8) if a.size else b"")  # no copy; hashlib drops the GIL on big buffers
        else:
            h.update(repr(v).encode())
        h.update(b"\x01")
    return h.hexdigest()
