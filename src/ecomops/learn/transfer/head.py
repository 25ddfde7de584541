"""Shared machinery of the feature-level domain adapters, and the :class:`SourceOnly` baseline.

Every adapter classifies pre-computed sentence embeddings with ``g(f(x))``: ``f`` a ReLU layer of
``hidden`` units (0: identity, a linear model), ``g`` a linear layer. Shared here: input checks,
standardisation (kept in the state), a seeded AdamW trainer, and a state that restores
predictions bit for bit. All randomness comes from one ``torch.Generator`` seeded with ``seed``:
two fits in one environment agree exactly, and the caller's global RNG and threads are untouched.

Labelled target examples (``Xt_labeled``, ``yt_labeled``) join every method's supervised loss as
their own group: ``(mean CE on source + target_weight * mean CE on shots) / (1 + target_weight)``.
The default ``target_weight=1`` makes k target shots weigh as much as the whole source set,
because they come from the distribution the model is judged on.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ys = rng.integers(0, 2, 200); Xs = rng.normal(size=(200, 8)) + ys[:, None]
>>> a = SourceOnly(seed=0, epochs=5).fit(Xs, ys)
>>> a.predict_proba(Xs[:3]).shape, bool((a.predict(Xs) == ys).mean() > 0.8)
((3, 2), True)
>>> b = SourceOnly.from_state(a.state_dict())
>>> bool((b.predict_proba(Xs) == a.predict_proba(Xs)).all())
True
"""

from __future__ import annotations

import inspect
import math
from collections import defaultdict
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ...core.errors import ConfigError

__all__ = ["FeatureAdapter", "SourceOnly", "check_features", "check_param", "linear_layer", "ramp"]

STATE_FORMAT = 1
# An epoch is a pass over the largest training group but never fewer steps than this: 20 target
# shots alone would otherwise get one AdamW step per epoch and stay near their initialisation.
MIN_STEPS_PER_EPOCH = 10


def check_features(X: Any, name: str, dim: int | None = None) -> np.ndarray:
    """``X`` as a C-contiguous float32 (n, d) array, or a ConfigError that says what to fix."""
    try:
        A = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{name} must be a numeric (n_examples, n_features) array: {e}") from None
    if A.ndim == 1 and A.size == 0 and dim is not None:
        A = A.reshape(0, dim)
    if A.ndim != 2:
        raise ConfigError(f"{name} must be 2-D (n_examples, n_features), got shape {A.shape}; "
                          "wrap a single vector as x[None, :]")
    if dim is not None and A.shape[1] != dim:
        raise ConfigError(f"{name} has {A.shape[1]} features, expected {dim}: every input must come from "
                          "the same encoder as the training features")
    bad = ~np.isfinite(A).all(axis=1)
    if bad.any():  # float64 values beyond float32's range also land here, as inf
        raise ConfigError(f"{name} has NaN or infinite values ({int(bad.sum())} rows, first row "
                          f"{int(np.flatnonzero(bad)[0])}): drop or re-encode those rows")
    return np.ascontiguousarray(A)


def _check_labels(y: Any, n: int, name: str) -> np.ndarray:
    a = np.asarray(y) if y is not None else np.zeros(0, dtype=np.int64)
    if a.ndim != 1 or len(a) != n:
        raise ConfigError(f"{name} must hold one class label per feature row ({n}), got shape {a.shape}")
    integral = a.dtype.kind in "iub" or (a.dtype.kind == "f" and np.isfinite(a).all() and (a == np.round(a)).all())
    if a.size and not integral:
        raise ConfigError(f"{name} must be integer class indices 0..C-1, got {a.dtype}: map class names to indices")
    if a.size and a.min() < 0:
        raise ConfigError(f"{name} must be class indices 0..C-1, got {a.min()}")
    return a.astype(np.int64)


def check_param(name: str, value: Any, low: float | None = None, high: float | None = None,
                integer: bool = False, strict: bool = False) -> Any:
    """``value`` if it is a number in range (``strict``: above ``low``), else a ConfigError."""
    number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if (not number or not math.isfinite(value) or (integer and not float(value).is_integer())
            or (low is not None and (value <= low if strict else value < low)) or (high is not None and value > high)):
        bounds = " and ".join(b for b in (low is not None and f"{'>' if strict else '>='} {low}",
                                          high is not None and f"<= {high}") if b)
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{name} must be {kind}{' ' + bounds if bounds else ''}, got {value!r}")
    return int(value) if integer else float(value)


def ramp(p: float) -> float:
    """DANN's schedule 2/(1+exp(-10p))-1: adaptation stays off while the features are still random."""
    return 2.0 / (1.0 + math.exp(-10.0 * p)) - 1.0


def linear_layer(d_in: int, d_out: int, gen: torch.Generator) -> nn.Linear:
    """``nn.Linear`` with PyTorch's default init drawn from ``gen``, never from the global RNG."""
    layer = nn.utils.skip_init(nn.Linear, d_in, d_out)
    bound = 1.0 / math.sqrt(d_in)
    with torch.no_grad():
        layer.weight.copy_((torch.rand(d_out, d_in, generator=gen) * 2 - 1) * bound)
        layer.bias.copy_((torch.rand(d_out, generator=gen) * 2 - 1) * bound)
    return layer


class _Net(nn.Module):
    def __init__(self, d: int, hidden: int, n_classes: int, gen: torch.Generator):
        super().__init__()
        self.feature = nn.Sequential(linear_layer(d, hidden, gen), nn.ReLU()) if hidden else nn.Identity()
        self.head = linear_layer(hidden or d, n_classes, gen)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.feature(x)
        return h, self.head(h)


def _batches(n: int, batch: int, gen: torch.Generator) -> Iterator[torch.Tensor]:
    """Endless equal-sized minibatches of indices, a fresh permutation from ``gen`` per pass."""
    batch = min(batch, n)
    while True:
        perm = torch.randperm(n, generator=gen)
        yield from (perm[i : i + batch] for i in range(0, n - batch + 1, batch))


class FeatureAdapter:
    """Base class. Subclasses set ``name`` and implement ``_fit`` on standardised tensors."""

    name = "feature_adapter"
    needs_target = False  # Xt is required whenever there is a source to adapt from
    uses_target = False  # Xt enters the standardisation statistics
    trains = True  # a network is trained, so target_weight decides whether the shots count

    def __init__(self, *, seed: int = 0, epochs: int = 20, lr: float = 1e-3, hidden: int = 128,
                 batch_size: int = 128, weight_decay: float = 1e-2, target_weight: float = 1.0,
                 progress: bool = False):
        self.seed = check_param("seed", seed, integer=True)
        self.epochs = check_param("epochs", epochs, 0, integer=True)
        self.lr = check_param("lr", lr, 0, strict=True)
        self.hidden = check_param("hidden", hidden, 0, integer=True)
        self.batch_size = check_param("batch_size", batch_size, 0, integer=True)  # 0: full batch
        self.weight_decay = check_param("weight_decay", weight_decay, 0)
        self.target_weight = check_param("target_weight", target_weight, 0)
        self.progress = bool(progress)
        self.history_: dict[str, list[float]] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_params().items())})"

    @classmethod
    def param_names(cls) -> list[str]:
        names: list[str] = []
        for klass in reversed(cls.__mro__):
            init = klass.__dict__.get("__init__")
            if klass is not object and init is not None:
                names += [p.name for p in inspect.signature(init).parameters.values()
                          if p.kind == p.KEYWORD_ONLY and p.name not in names]
        return names

    def get_params(self) -> dict[str, Any]:
        return {n: getattr(self, n) for n in self.param_names()}

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, Xs, ys, Xt=None, Xt_labeled=None, yt_labeled=None) -> "FeatureAdapter":
        S, ys, T, Tl, ytl = self._check_fit(Xs, ys, Xt, Xt_labeled, yt_labeled)
        self.n_features_ = S.shape[1]
        self.n_classes_ = int(max(ys.max(initial=-1), ytl.max(initial=-1))) + 1
        pooled = np.concatenate([S, Tl] + ([T] if self.uses_target and T is not None else []))
        self.mean_, self.scale_ = self._statistics(pooled.astype(np.float64))
        self._gen = torch.Generator().manual_seed(self.seed)
        self.history_ = {}
        self._fit(self._z(S), torch.from_numpy(ys), None if T is None else self._z(T), self._z(Tl),
                  torch.from_numpy(ytl))
        return self

    def _check_fit(self, Xs, ys, Xt, Xtl, ytl):
        empty = lambda X: X is None or np.size(X) == 0  # noqa: E731
        arrays = {n: check_features(X, n) for n, X in (("Xs", Xs), ("Xt_labeled", Xtl), ("Xt", Xt)) if not empty(X)}
        d = next(iter(arrays.values())).shape[1] if arrays else 0
        for n, A in arrays.items():
            if A.shape[1] != d:
                raise ConfigError(f"{n} has {A.shape[1]} features but {next(iter(arrays))} has {d}: "
                                  "encode every input with the same encoder")
        S, Tl, T = (arrays.get(n, np.zeros((0, d), np.float32)) for n in ("Xs", "Xt_labeled", "Xt"))
        ys = _check_labels(ys, len(S), "ys")
        if (Xtl is None) != (ytl is None) and not (empty(Xtl) and empty(ytl)):
            raise ConfigError("Xt_labeled and yt_labeled go together: pass both (k rows and k labels) or neither")
        ytl = _check_labels(ytl, len(Tl), "yt_labeled")
        if not len(S) and (not len(Tl) or (self.trains and self.target_weight == 0)):
            raise ConfigError("nothing to learn from: Xs is empty and there are no target shots "
                              "(Xt_labeled) or target_weight=0 mutes them")
        if self.needs_target and len(S) and len(T) < 2:
            raise ConfigError(f"{type(self).__name__} adapts the source to the target domain and needs "
                              "unlabelled target features Xt (at least 2 rows); pass them, or use "
                              "'source_only' or 'prototypes' when there are none")
        return S, ys, (T if len(T) else None), Tl, ytl

    def _statistics(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Embedding coordinates have tiny, uneven spreads (~0.05 for unit vectors in 384-d): unit
        # variance puts them on the scale AdamW's lr and weight decay defaults are tuned for.
        std = X.std(axis=0)
        return X.mean(axis=0).astype(np.float32), np.where(std > 1e-6, std, 1.0).astype(np.float32)

    def _z(self, X: np.ndarray) -> torch.Tensor:
        return torch.from_numpy((X - self.mean_) / self.scale_)

    def _fit(self, S, ys, T, Tl, ytl) -> None:
        """Fit on standardised tensors: sets ``net_`` (or what ``_logits`` reads) and ``history_``."""
        raise NotImplementedError

    def _train(self, groups: list, T: torch.Tensor | None = None, extra: Callable | None = None,
               modules: tuple[nn.Module, ...] = ()) -> tuple[_Net, dict[str, list[float]]]:
        """Fit a fresh network on weighted groups ``(X, y, weight)``; the first non-empty one must be
        the source when ``extra(h_source, h_target, p) -> {name: (loss_term, logged value)}`` is given."""
        gen = self._gen
        net = _Net(self.n_features_, self.hidden, self.n_classes_, gen)
        groups = [(X, y, float(w)) for X, y, w in groups if len(X) and w > 0]
        params = [*net.parameters(), *(p for m in modules for p in m.parameters())]
        opt = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        largest = max(len(X) for X, _, _ in groups)
        batch = self.batch_size or largest
        n_steps = max(MIN_STEPS_PER_EPOCH, math.ceil(largest / batch))
        streams = [_batches(len(X), batch, gen) for X, _, _ in groups]
        target = _batches(len(T), batch, gen) if extra is not None and T is not None else None
        total_w = sum(w for _, _, w in groups)
        history: dict[str, list[float]] = defaultdict(list)
        bar: Any = range(self.epochs)
        if self.progress:
            from tqdm import tqdm  # imported only when asked for: ecomops[transfer] installs it

            bar = tqdm(bar, desc=self.name, leave=False)
        for epoch in bar:
            sums: dict[str, float] = defaultdict(float)
            for step in range(n_steps):
                p = (epoch * n_steps + step) / max(1, self.epochs * n_steps - 1)
                self._schedule(opt, p)
                idx = [next(s) for s in streams]
                xb = [X[i] for (X, _, _), i in zip(groups, idx)] + ([T[next(target)]] if target else [])
                h, logits = net(torch.cat(xb))  # one forward pass for all groups: one matmul each
                sizes = [len(x) for x in xb]
                hs, ls = torch.split(h, sizes), torch.split(logits, sizes)
                loss = sum(w * F.cross_entropy(ls[j], y[idx[j]]) for j, (_, y, w) in enumerate(groups)) / total_w
                sums["cls"] += loss.item()
                if target is not None:
                    for key, (term, value) in extra(hs[0], hs[-1], p).items():
                        loss = loss + term
                        sums[key] += value
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            for key, v in sums.items():
                history[key].append(v / n_steps)
            if self.progress:
                bar.set_postfix({k: f"{v[-1]:.4f}" for k, v in history.items()})
        return net, dict(history)

    def _schedule(self, opt: torch.optim.Optimizer, p: float) -> None:
        """Hook: adjust the optimiser at training progress ``p`` in [0, 1]."""

    # -- prediction ---------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "mean_"):
            raise ConfigError(f"this {type(self).__name__} is not fitted: call fit() or from_state() first")

    def _inputs(self, X) -> torch.Tensor:
        self._check_fitted()
        return self._z(check_features(X, "X", self.n_features_))

    def _logits(self, Z: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return self.net_(Z)[1].numpy().astype(np.float64)

    def predict_proba(self, X) -> np.ndarray:
        logits = self._logits(self._inputs(X))
        logits -= logits.max(axis=1, keepdims=True)
        P = np.exp(logits)
        return P / P.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1).astype(np.int64)

    def transform(self, X) -> np.ndarray:
        """The hidden representation ``f(x)`` (standardised input when ``hidden=0``)."""
        Z = self._inputs(X)
        with torch.no_grad():
            return self.net_(Z)[0].numpy()

    # -- state --------------------------------------------------------------------------------
    def _arrays(self) -> dict[str, np.ndarray]:
        return {f"net.{k}": v.detach().numpy().copy() for k, v in self.net_.state_dict().items()}

    def _load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.net_ = _Net(self.n_features_, self.hidden, self.n_classes_, torch.Generator())
        self.net_.load_state_dict({k[4:]: torch.from_numpy(np.array(v, dtype=np.float32))
                                   for k, v in arrays.items() if k.startswith("net.")})

    def state_dict(self) -> dict[str, Any]:
        self._check_fitted()
        config = {"format": STATE_FORMAT, "params": self.get_params(), "n_features": self.n_features_,
                  "n_classes": self.n_classes_, "history": {k: list(map(float, v)) for k, v in self.history_.items()}}
        return {"name": self.name, "config": config,
                "arrays": {"mean": self.mean_.copy(), "scale": self.scale_.copy(), **self._arrays()}}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "FeatureAdapter":
        if not isinstance(state, dict) or state.get("name") != cls.name:
            got = state.get("name") if isinstance(state, dict) else type(state).__name__
            raise ConfigError(f"{cls.__name__}.from_state needs a state saved by a {cls.name!r} adapter, got "
                              f"{got!r}: load it with ADAPTERS[state['name']].from_state(state)")
        try:
            cfg, arrays = state["config"], state["arrays"]
            if cfg.get("format") != STATE_FORMAT:
                raise ConfigError(f"adapter state format {cfg.get('format')!r}, this version reads {STATE_FORMAT}")
            obj = cls(**cfg["params"])
            obj.n_features_, obj.n_classes_ = int(cfg["n_features"]), int(cfg["n_classes"])
            obj.history_ = {k: list(v) for k, v in cfg["history"].items()}
            obj.mean_, obj.scale_ = (np.array(arrays[k], dtype=np.float32) for k in ("mean", "scale"))
            obj._load_arrays(arrays)
        except (KeyError, TypeError, RuntimeError) as e:
            raise ConfigError(f"incomplete or corrupt {cls.name!r} adapter state: {e}") from None
        return obj


class SourceOnly(FeatureAdapter):
    """No adaptation: trained on the source (plus any target shots). The baseline to beat."""

    name = "source_only"

    def _fit(self, S, ys, T, Tl, ytl) -> None:
        self.net_, self.history_ = self._train([(S, ys, 1.0), (Tl, ytl, self.target_weight)])
