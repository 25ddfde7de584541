"""Per-coordinate optimizers for sparse online models.

An optimizer is a small config object; its state lives in float64 numpy arrays owned by the
model (``slots`` rows of per-coordinate state next to the weight vector), and the update itself
is the numba function :func:`apply`, which the models' kernels call once per row. Only
coordinates a row touches are updated ("lazy" updates), so the cost of a step is
proportional to the number of features present, never to the size of the hashed space.

* :class:`SGD`: ``w <- w - lr_t * (g + l2 * w)`` with ``lr_t = lr * boost / (1 + t) ** power_t``
  (``t`` = examples learned, ``power_t = 0`` is a constant rate). L2 is lazy: it only shrinks
  coordinates when they are touched.
* :class:`Adam`: Kingma & Ba 2015, lazy/sparse. The bias corrections use a *per-coordinate*
  step count (how many times that coordinate was updated), not the global step, so a feature
  seen for the first time after a million examples gets a properly corrected first step.
* :class:`FTRL`: FTRL-Proximal, McMahan et al. 2013 (Ad Click Prediction: a View from the
  Trenches), Algorithm 1: per-coordinate rates ``alpha / (beta + sqrt(n_i))``, L1 gives exact
  zeros. Weights are kept materialised in ``w`` (recomputed from ``z, n`` whenever a
  coordinate is updated), which makes prediction a plain dot product.

``on_drift(factor)`` with ``0 < factor <= 1`` makes an optimizer adapt faster after a concept
drift:

* FTRL: ``z *= factor`` and ``n *= factor``, i.e. every past gradient now counts ``factor``
  times: per-coordinate learning rates rise by up to ``1/sqrt(factor)`` and the weights shrink
  towards 0 (by about ``sqrt(factor)`` when ``beta`` and ``l2`` are small), forgetting part
  of the old concept. On a synthetic concept flip this recovered about twice as fast as
  shrinking ``n`` alone and keeping the weights (which must then be unlearned first).
* Adam: ``v *= factor``: steps grow by up to ``1/sqrt(factor)`` until ``v`` re-adapts
  (a time scale of ``1/(1-beta2)`` updates per coordinate); ``m`` is kept.
* SGD: the rate is multiplied by ``boost = 1/factor``, which decays back to 1 with a half-life
  of ``boost_half_life`` examples; with ``power_t > 0`` the schedule's ``t`` is also scaled by
  ``factor``.

>>> FTRL(alpha=0.1).hyper().tolist()
[0.1, 1.0, 1.0, 1.0]
>>> Adam().slot_names
('m', 'v', 't')
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

SGD_KIND, ADAM_KIND, FTRL_KIND = 0, 1, 2

# Model-level scalars every model keeps in a float64 array, so kernels can update them.
T, BOOST = 0, 1
N_SCALARS = 2


class Optimizer:
    """Base class: ``kind`` selects the update in :func:`apply`, ``hyper()`` its parameters."""

    kind: int = -1
    name: str = ""
    slot_names: tuple[str, ...] = ()

    def hyper(self) -> np.ndarray:
        raise NotImplementedError

    def factor_hyper(self) -> np.ndarray:
        """Hyperparameters for factorization-machine factors (same as :meth:`hyper` unless noted)."""
        return self.hyper()

    def init_state(self, w: np.ndarray, zero: bool = False) -> np.ndarray:
        """State slots for weights initialised to ``w`` (``zero=True``: the caller knows w == 0)."""
        return np.zeros((len(self.slot_names),) + w.shape, dtype=np.float64)

    def on_drift(self, w: np.ndarray, state: np.ndarray, factor: float, hyper: np.ndarray | None = None) -> None:
        """Adapt one parameter block (weights ``w`` and their slots) in place; see the module doc."""
        _check_factor(factor)

    def on_drift_scalars(self, scalars: np.ndarray, factor: float) -> None:
        """Adapt the model-level counters in place (once per drift, whatever the number of blocks)."""
        _check_factor(factor)

    def config(self) -> dict:
        return {k: getattr(self, k) for k in self._fields}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v!r}" for k, v in self.config().items()) + ")"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.config() == other.config()

    _fields: tuple[str, ...] = ()


class SGD(Optimizer):
    kind = SGD_KIND
    name = "sgd"
    slot_names = ()
    _fields = ("lr", "l2", "power_t", "boost_half_life")

    def __init__(self, lr: float = 0.05, l2: float = 0.0, power_t: float = 0.0, boost_half_life: float = 2000.0):
        if lr <= 0 or l2 < 0 or power_t < 0 or boost_half_life <= 0:
            raise ValueError("SGD needs lr > 0, l2 >= 0, power_t >= 0, boost_half_life > 0")
        self.lr, self.l2, self.power_t = float(lr), float(l2), float(power_t)
        self.boost_half_life = float(boost_half_life)

    def hyper(self) -> np.ndarray:
        decay = 0.5 ** (1.0 / self.boost_half_life)
        return np.array([self.lr, self.l2, self.power_t, decay, self.boost_half_life], dtype=np.float64)

    def on_drift_scalars(self, scalars, factor) -> None:
        _check_factor(factor)
        scalars[BOOST] = max(scalars[BOOST], 1.0 / factor)
        if self.power_t > 0:
            scalars[T] = math.floor(scalars[T] * factor)


class Adam(Optimizer):
    kind = ADAM_KIND
    name = "adam"
    slot_names = ("m", "v", "t")
    _fields = ("lr", "beta1", "beta2", "eps", "l2")

    def __init__(self, lr: float = 0.01, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, l2: float = 0.0):
        if lr <= 0 or not 0 <= beta1 < 1 or not 0 <= beta2 < 1 or eps <= 0 or l2 < 0:
            raise ValueError("Adam needs lr > 0, 0 <= beta1, beta2 < 1, eps > 0, l2 >= 0")
        self.lr, self.beta1, self.beta2 = float(lr), float(beta1), float(beta2)
        self.eps, self.l2 = float(eps), float(l2)

    def hyper(self) -> np.ndarray:
        return np.array([self.lr, self.beta1, self.beta2, self.eps, self.l2], dtype=np.float64)

    def on_drift(self, w, state, factor, hyper=None) -> None:
        _check_factor(factor)
        state[1] *= factor


class FTRL(Optimizer):
    """FTRL-Proximal. For factorization-machine factors L1 is not applied (``factor_hyper``):
    it would zero the small random initialisation and the factors could never start learning."""

    kind = FTRL_KIND
    name = "ftrl"
    slot_names = ("z", "n")
    _fields = ("alpha", "beta", "l1", "l2")

    def __init__(self, alpha: float = 0.05, beta: float = 1.0, l1: float = 1.0, l2: float = 1.0):
        if alpha <= 0 or beta < 0 or l1 < 0 or l2 < 0:
            raise ValueError("FTRL needs alpha > 0 and beta, l1, l2 >= 0")
        self.alpha, self.beta, self.l1, self.l2 = float(alpha), float(beta), float(l1), float(l2)

    def hyper(self) -> np.ndarray:
        return np.array([self.alpha, self.beta, self.l1, self.l2], dtype=np.float64)

    def factor_hyper(self) -> np.ndarray:
        return np.array([self.alpha, self.beta, 0.0, self.l2], dtype=np.float64)

    def init_state(self, w: np.ndarray, zero: bool = False) -> np.ndarray:
        # Start from w: with n = 0 the FTRL solution is -z / (beta/alpha + l2) (L1 must be 0 where w != 0).
        # zero=True skips the pass over w: calloc'd pages stay untouched until learned (fast start).
        state = np.zeros((2,) + w.shape, dtype=np.float64)
        if not zero:
            np.multiply(w, -(self.beta / self.alpha + self.l2), out=state[0])
        return state

    def on_drift(self, w, state, factor, hyper=None) -> None:
        _check_factor(factor)
        # Discount the whole history: as if every past gradient had weight `factor`.
        state *= factor
        ftrl_materialize(w, state, self.hyper() if hyper is None else hyper)


def _check_factor(factor: float) -> None:
    if not 0.0 < factor <= 1.0:
        raise ValueError(f"drift factor must be in (0, 1], got {factor}")


def make_optimizer(name: str, **params) -> Optimizer:
    """Optimizer from its name (``"sgd"``, ``"adam"``, ``"ftrl"``) and parameters."""
    classes = {"sgd": SGD, "adam": Adam, "ftrl": FTRL}
    if name not in classes:
        raise ValueError(f"unknown optimizer {name!r}, expected one of {sorted(classes)}")
    return classes[name](**params)


def optimizer_from_kind(kind: int, hyper: np.ndarray) -> Optimizer:
    """Inverse of ``(opt.kind, opt.hyper())``, used to restore a model from its state dict."""
    h = [float(x) for x in hyper]
    if kind == SGD_KIND:
        return SGD(lr=h[0], l2=h[1], power_t=h[2], boost_half_life=h[4])
    if kind == ADAM_KIND:
        return Adam(*h)
    if kind == FTRL_KIND:
        return FTRL(*h)
    raise ValueError(f"unknown optimizer kind {kind}")


@njit(cache=True)
def ftrl_weight(z, n, alpha, beta, l1, l2):
    """The closed-form FTRL-Proximal weight of one coordinate."""
    if abs(z) <= l1:
        return 0.0
    s = 1.0 if z > 0.0 else -1.0
    return -(z - s * l1) / ((beta + math.sqrt(n)) / alpha + l2)


@njit(cache=True)
def ftrl_materialize(w, state, h):
    """Recompute every FTRL weight from its ``(z, n)``."""
    for j in range(w.size):
        w[j] = ftrl_weight(state[0, j], state[1, j], h[0], h[1], h[2], h[3])


@njit(cache=True)
def lr_scale(kind, h, scalars):
    """Global multiplier of this example's SGD rate (1 for the others)."""
    if kind != SGD_KIND:
        return 1.0
    if h[2] > 0.0:
        return scalars[BOOST] / (1.0 + scalars[T]) ** h[2]
    return scalars[BOOST]


@njit(cache=True)
def end_example(kind, h, scalars):
    """Advance the model-level counters after one learned example."""
    scalars[T] += 1.0
    if kind == SGD_KIND and scalars[BOOST] != 1.0:
        # decay towards 1 and snap, so a finished boost leaves no float residue
        b = 1.0 + (scalars[BOOST] - 1.0) * h[3]
        scalars[BOOST] = 1.0 if abs(b - 1.0) < 1e-6 else b


@njit(cache=True)
def apply(kind, h, w, state, idx, a, b, grad, gs, scale):
    """Gradient ``gs * grad[k]`` to coordinate ``idx[k]`` for ``k`` in ``a:b``, in order.

    The optimizer branch and its hyperparameters are read once per call rather than per
    coordinate (they cannot be hoisted by the compiler: ``h`` might alias the state).
    """
    if kind == FTRL_KIND:
        alpha, beta, l1, l2 = h[0], h[1], h[2], h[3]
        for k in range(a, b):
            j = idx[k]
            g = gs * np.float64(grad[k])
            # McMahan et al. 2013, Algorithm 1
            n = state[1, j]
            n_new = n + g * g
            sq_new = math.sqrt(n_new)
            sigma = (sq_new - math.sqrt(n)) / alpha
            z = state[0, j] + g - sigma * w[j]
            state[0, j] = z
            state[1, j] = n_new
            if abs(z) <= l1:
                w[j] = 0.0
            else:
                s = 1.0 if z > 0.0 else -1.0
                w[j] = -(z - s * l1) / ((beta + sq_new) / alpha + l2)
    elif kind == ADAM_KIND:
        lr, b1, b2, eps, l2 = h[0], h[1], h[2], h[3], h[4]
        for k in range(a, b):
            j = idx[k]
            g = gs * np.float64(grad[k]) + l2 * w[j]
            t = state[2, j] + 1.0
            state[2, j] = t
            m = b1 * state[0, j] + (1.0 - b1) * g
            v = b2 * state[1, j] + (1.0 - b2) * g * g
            state[0, j] = m
            state[1, j] = v
            m_hat = m / (1.0 - b1**t)
            v_hat = v / (1.0 - b2**t)
            w[j] -= lr * m_hat / (math.sqrt(v_hat) + eps)
    else:
        lr, l2 = h[0] * scale, h[1]
        for k in range(a, b):
            j = idx[k]
            w[j] -= lr * (gs * np.float64(grad[k]) + l2 * w[j])
