"""A learned price reference for the listing audit: what should this listing cost?

``PriceModel`` predicts a listing's log price from what it says it is, and flags a price whose
residual ``log(price) - predicted`` is far outside the residual spread of its product type.
Two parts, both learned online from listings whose price is accepted:

- a linear regression of log price on hashed features (the title's word and character n-grams,
  as the category classifier reads them, plus ``brand:``, ``type:``, ``cat:`` and ``cur:``
  tokens), trained by SGD with AdaGrad step sizes (one step per learned listing);
- a nearest-neighbour reference: the listings learned so far are indexed by their title words,
  word bigrams and brand (an inverted index); the similarity-weighted mean log price of the
  ``k`` most similar (IDF-weighted cosine) is the neighbours' prediction. Near-duplicate
  titles (the same product in another size or colour) price alike, which a linear model of a
  whole product type cannot know.

The prediction mixes the two (``mix`` of the linear part) when neighbours are found, else it is
the linear one. The residual scale is robust and local: per category (and per product type when
given) the last ``window`` *prequential* residuals (each listing's residual before it was
learned), ``1.4826 * MAD``, floored at ``min_scale``. ``score`` returns ``z = residual / scale``;
the auditor flags ``|z| > threshold``. Defaults were chosen on a validation split of the
Flipkart benchmark's training listings (see ``benchmarks/language.py``), never on its
evaluation listings.

Everything is JSON-able (``state_dict`` / ``from_state``); features hash with CRC32, so the
model is deterministic across processes.

>>> m = PriceModel(min_count=2)
>>> for i in range(30):
...     m.learn({"title": f"usb cable {i % 3} m", "category": "electronics"}, 20.0 + i % 3)
...     m.learn({"title": f"oak dining table {i % 4} seater", "category": "furniture"}, 900.0 + 10 * (i % 4))
>>> abs(m.score({"title": "usb cable 2 m", "category": "electronics"}, 21.0)[0]) < 1
True
>>> m.score({"title": "usb cable 2 m", "category": "electronics"}, 420.0)[0] > 4
True
"""

from __future__ import annotations

import math
import zlib
from collections import deque

import numpy as np

from .category import _tokens, features
from .checks import MAD_TO_SIGMA

__all__ = ["PriceModel", "STATE_VERSION"]

STATE_VERSION = 1


def _h(token: str, mask: int) -> int:
    return zlib.crc32(token.encode("utf-8")) & mask


def _median(vals) -> float:
    s = sorted(vals)
    n = len(s)
    return (s[(n - 1) // 2] + s[n // 2]) / 2


class PriceModel:
    """Online log-price regression + nearest-neighbour reference, with a robust residual scale.

    ``threshold``: the ``|z|`` above which a price is anomalous; ``min_count``: listings learned
    before the model scores at all; ``k``: neighbours; ``mix``: weight of the linear prediction
    when neighbours are found (``min_sim``: their least cosine similarity); ``capacity``: listings
    kept for the neighbour index (the oldest are forgotten); ``window``: residuals kept per key.
    """

    def __init__(self, *, n_bits: int = 18, lr: float = 0.3, k: int = 5, mix: float = 0.4,
                 min_sim: float = 0.2, threshold: float = 4.0, min_count: int = 50, min_scale: float = 0.25,
                 window: int = 500, min_residuals: int = 20, capacity: int = 50_000, max_df: float = 0.05,
                 scale_by: str = "global", clip: float = 0.5):
        if not 8 <= n_bits <= 24:
            raise ValueError("n_bits must be in [8, 24]")
        self.n_bits, self.lr, self.k, self.mix, self.min_sim = int(n_bits), float(lr), int(k), float(mix), \
            float(min_sim)
        self.threshold, self.min_count, self.min_scale = float(threshold), int(min_count), float(min_scale)
        self.window, self.min_residuals, self.capacity = int(window), int(min_residuals), int(capacity)
        self.max_df, self.scale_by, self.clip = float(max_df), str(scale_by), float(clip)
        self._mask = (1 << self.n_bits) - 1
        self.w = np.zeros(1 << self.n_bits, np.float64)
        self.g = np.zeros(1 << self.n_bits, np.float64)  # AdaGrad sums of squared gradients
        self.bias, self.n_seen = 0.0, 0
        # neighbour index: item -> (word features, log price); feature -> items; feature -> doc frequency
        self.items: dict[int, tuple[tuple[int, ...], float]] = {}
        self.post: dict[int, list[int]] = {}
        self.next_id = 0
        self._ys = np.zeros(0)  # slot (item % capacity) -> log price
        self._nrm = np.ones(0)  # slot -> IDF-weighted norm (as of the last refresh)
        self._norm_n = 1
        self.resid: dict[str, deque] = {}

    # --- features --------------------------------------------------------------------------
    @staticmethod
    def _fields(listing: dict) -> tuple[str, str, str, str, str]:
        def s(name, default=""):
            return " ".join(str(listing.get(name) or default).split()).lower()
        brand = (listing.get("attributes") or {}).get("brand", "") if isinstance(listing.get("attributes"), dict) \
            else ""
        brand = " ".join(str(brand or "").split()).lower()
        return s("title"), brand, s("product_type"), s("category"), s("currency", "CNY").upper()

    def _linear_features(self, f) -> tuple[np.ndarray, np.ndarray]:
        title, brand, ptype, cat, cur = f
        idx, vals = features(title, self.n_bits)
        extra = [f"cur:{cur}", f"cat:{cat}|{cur}"]
        if brand:
            extra.append(f"brand:{brand}")
        if ptype:
            extra.append(f"type:{cat}|{ptype}|{cur}")
        eidx = np.fromiter((_h(t, self._mask) for t in extra), np.int64, len(extra))
        idx = np.concatenate([idx, eidx])
        vals = np.concatenate([vals.astype(np.float64), np.ones(len(extra))])
        return idx, vals

    def _word_features(self, f) -> tuple[int, ...]:
        title, brand, _, cat, cur = f
        toks = _tokens(title)
        grams = {f"w:{t}" for t in toks} | {f"b:{a} {b}" for a, b in zip(toks, toks[1:])}
        if brand:
            grams.add(f"brand:{brand}")
        # the neighbours must share the category and currency: hash them into every feature
        return tuple(sorted({_h(f"{cat}|{cur}|{g}", 0xFFFFFFFF) for g in grams}))

    def _keys(self, f) -> list[str]:
        _, _, ptype, cat, cur = f
        if self.scale_by == "global":
            return []
        if self.scale_by == "category":
            return [f"{cat}|{cur}"]
        return [f"{cat}|{ptype}|{cur}", f"{cat}|{cur}"] if ptype else [f"{cat}|{cur}"]

    # --- predicting ------------------------------------------------------------------------
    def _linear(self, idx, vals) -> float:
        return float(vals @ self.w[idx]) + self.bias

    def _idf(self, df: int, n: int) -> float:
        return math.log(1.0 + n / max(1, df))

    def _neighbours(self, feats: tuple[int, ...]) -> tuple[float | None, float]:
        """(similarity-weighted mean log price of the k nearest, best similarity). Features in
        more than ``max_df`` of the indexed listings are skipped (they barely tell apart)."""
        n = len(self.items)
        if not feats or not n:
            return None, 0.0
        ids, weights, qn = [], [], 0.0
        cap = max(50, self.max_df * n)
        for ft in feats:
            lst = self.post.get(ft)
            w = self._idf(len(lst) if lst else 0, n)
            qn += w * w
            if lst and len(lst) <= cap:
                ids.append(lst)
                weights.append(np.full(len(lst), w * w))
        if not ids:
            return None, 0.0
        slots = np.concatenate([np.asarray(x, np.int64) for x in ids]) % self.capacity
        uniq, inv = np.unique(slots, return_inverse=True)
        dot = np.bincount(inv, weights=np.concatenate(weights), minlength=len(uniq))
        sim = dot / (math.sqrt(qn) * self._nrm[uniq])
        kk = min(self.k, len(sim))
        top = np.argpartition(-sim, kk - 1)[:kk] if len(sim) > kk else np.arange(len(sim))
        top = top[sim[top] >= self.min_sim]
        if not len(top):
            return None, float(sim.max())
        ws = sim[top]
        return float(ws @ self._ys[uniq[top]] / ws.sum()), float(ws.max())

    def _refresh_norms(self) -> None:
        """Every indexed listing's IDF-weighted norm (redone when the index has grown by half)."""
        n = len(self.items)
        for item, (feats, _) in self.items.items():
            self._nrm[item % self.capacity] = math.sqrt(sum(self._idf(len(self.post.get(ft, ())), n) ** 2
                                                            for ft in feats)) or 1.0
        self._norm_n = n

    def predict(self, listing: dict) -> tuple[float, float]:
        """(predicted log price, best neighbour similarity; 0 when no neighbour)."""
        f = self._fields(listing)
        lin = self._linear(*self._linear_features(f))
        nn, sim = self._neighbours(self._word_features(f))
        return (lin if nn is None else self.mix * lin + (1 - self.mix) * nn), (0.0 if nn is None else sim)

    def scale(self, listing: dict) -> float:
        """The robust residual spread of the listing's product type (else category, else all)."""
        for key in self._keys(self._fields(listing)) + ["*"]:
            r = self.resid.get(key)
            if r is not None and len(r) >= self.min_residuals:
                med = _median(r)
                return max(MAD_TO_SIGMA * _median(abs(x - med) for x in r), self.min_scale)
        return max(1.0, self.min_scale)

    def ready(self) -> bool:
        return self.n_seen >= self.min_count

    def score(self, listing: dict, price: float) -> tuple[float, float, float]:
        """(z, predicted price, scale) of a positive ``price``; z is 0 before ``min_count``."""
        pred, _ = self.predict(listing)
        s = self.scale(listing)
        z = (math.log(price) - pred) / s if self.ready() else 0.0
        return z, math.exp(pred), s

    # --- learning --------------------------------------------------------------------------
    def learn(self, listing: dict, price: float, accepted: bool = True) -> None:
        """Learn an accepted (positive) price: residual statistics first, then one SGD step and
        the listing joins the neighbour index. ``accepted=False`` (a price the auditor flagged):
        only a Huber step on the regression (its error clipped to ``clip``), so a wrong early
        flag does not starve the model and a true anomaly barely moves it."""
        if not price or price <= 0 or not math.isfinite(price):
            return
        y = math.log(price)
        f = self._fields(listing)
        idx, vals = self._linear_features(f)
        feats = self._word_features(f)
        if not accepted:
            err = max(-self.clip, min(self.clip, self._linear(idx, vals) - y))
            gw = err * vals
            np.add.at(self.g, idx, gw * gw)
            np.add.at(self.w, idx, -self.lr * gw / np.sqrt(self.g[idx] + 1e-8))
            return
        if self.n_seen:
            lin = self._linear(idx, vals)
            nn, _ = self._neighbours(feats)
            pred = lin if nn is None else self.mix * lin + (1 - self.mix) * nn
            for key in self._keys(f) + ["*"]:
                r = self.resid.get(key)
                if r is None:
                    r = self.resid[key] = deque(maxlen=self.window)
                r.append(y - pred)
        else:
            self.bias = y
        # SGD (AdaGrad) on the squared error of the linear part
        err = self._linear(idx, vals) - y
        gw = err * vals
        np.add.at(self.g, idx, gw * gw)
        np.add.at(self.w, idx, -self.lr * gw / np.sqrt(self.g[idx] + 1e-8))
        self.bias -= 0.05 * err
        self.n_seen += 1
        self._index(feats, y)

    def _index(self, feats: tuple[int, ...], y: float) -> None:
        if not feats:
            return
        item = self.next_id
        self.next_id += 1
        if len(self.items) >= self.capacity:  # forget the oldest listing (its slot is reused)
            old = min(self.items)
            for ft in self.items.pop(old)[0]:
                lst = self.post.get(ft)
                if lst is not None:
                    lst.remove(old)
                    if not lst:
                        del self.post[ft]
        self.items[item] = (feats, y)
        for ft in feats:
            self.post.setdefault(ft, []).append(item)
        slot = item % self.capacity
        if slot >= len(self._ys):
            size = min(self.capacity, max(1024, 2 * len(self._ys), slot + 1))
            self._ys = np.concatenate([self._ys, np.zeros(size - len(self._ys))])
            self._nrm = np.concatenate([self._nrm, np.ones(size - len(self._nrm))])
        self._ys[slot] = y
        n = len(self.items)
        self._nrm[slot] = math.sqrt(sum(self._idf(len(self.post[ft]), n) ** 2 for ft in feats)) or 1.0
        if n >= 1.5 * self._norm_n:
            self._refresh_norms()

    # --- persistence -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """JSON-able state (the non-zero weights, the indexed listings, the residual windows)."""
        nz = np.flatnonzero(self.g)
        return {"version": STATE_VERSION,
                "config": {"n_bits": self.n_bits, "lr": self.lr, "k": self.k, "mix": self.mix,
                           "min_sim": self.min_sim, "threshold": self.threshold, "min_count": self.min_count,
                           "min_scale": self.min_scale, "window": self.window,
                           "min_residuals": self.min_residuals, "capacity": self.capacity,
                           "max_df": self.max_df, "scale_by": self.scale_by, "clip": self.clip},
                "rows": nz.tolist(), "w": [round(float(x), 6) for x in self.w[nz]],
                "g": [round(float(x), 6) for x in self.g[nz]], "bias": self.bias, "n_seen": self.n_seen,
                "items": [[i, list(f), round(y, 6)] for i, (f, y) in self.items.items()],
                "next_id": self.next_id, "resid": {k: [round(x, 5) for x in v] for k, v in self.resid.items()}}

    @classmethod
    def from_state(cls, state: dict) -> "PriceModel":
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise ValueError(f"price model state version {state.get('version') if isinstance(state, dict) else None!r}"
                             f", expected {STATE_VERSION}")
        m = cls(**state["config"])
        rows = np.asarray(state["rows"], np.int64)
        m.w[rows] = state["w"]
        m.g[rows] = state["g"]
        m.bias, m.n_seen = float(state["bias"]), int(state["n_seen"])
        m.next_id = int(state["next_id"]) - len(state["items"])
        for _, f, y in state["items"]:  # re-indexed in order: the same slots and postings
            m._index(tuple(int(x) for x in f), float(y))
        m.resid = {k: deque(v, maxlen=m.window) for k, v in state["resid"].items()}
        return m

    def __repr__(self) -> str:
        return f"PriceModel(seen={self.n_seen}, indexed={len(self.items)}, threshold={self.threshold})"
