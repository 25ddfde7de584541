"""A learned category classifier for the listing audit: title (+ description) -> category.

Hashed features (word unigrams and bigrams, character 3-grams of each word with its boundaries;
CJK runs give character bigrams as words), each text's feature vector L2-normalised, and a
multinomial logistic regression trained online by SGD with AdaGrad step sizes. New categories
may appear at any time (a class column is added on first sight). Everything is numpy: the state
is a JSON-able config plus arrays (``state_dict`` / ``from_state``), no pickle.

Deterministic: features use CRC32 (not Python's salted ``hash``) and ``learn_many`` shuffles
with its own seeded generator.

>>> clf = CategoryClassifier(n_bits=12)
>>> clf.learn_many(["cotton t-shirt", "polo shirt", "usb charger", "power bank"],
...                ["clothing", "clothing", "electronics", "electronics"], epochs=5)
>>> clf.predict_one("red cotton polo t-shirt")
'clothing'
"""

from __future__ import annotations

import re
import zlib
from typing import Iterable, Sequence

import numpy as np

from .rules import normalize

__all__ = ["CategoryClassifier", "listing_text", "features"]

STATE_VERSION = 1
_TOKEN = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*|[\u3400-\u9fff]+")


def listing_text(listing: dict, description: bool = True) -> str:
    """What the classifier reads: the title, and the description unless ``description=False``."""
    title = str(listing.get("title") or "")
    desc = str(listing.get("description") or "") if description else ""
    return f"{title}\n{desc}" if desc else title


def _tokens(text: str) -> list[str]:
    out = []
    for t in _TOKEN.findall(normalize(text)):
        if "\u3400" <= t[0] <= "\u9fff" and len(t) > 1:
            out += [t[i:i + 2] for i in range(len(t) - 1)]
        else:
            out.append(t)
    return out


def features(text: str, n_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, values): hashed, L2-normalised counts of the text's word and char n-grams."""
    toks = _tokens(text)
    grams = [f"w:{t}" for t in toks]
    grams += [f"b:{a} {b}" for a, b in zip(toks, toks[1:])]
    for t in toks:
        if t.isascii() and len(t) > 2:
            s = f"<{t}>"
            grams += [f"c:{s[i:i + 3]}" for i in range(len(s) - 2)]
    if not grams:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    mask = (1 << n_bits) - 1
    idx = np.fromiter((zlib.crc32(g.encode("utf-8")) & mask for g in grams), dtype=np.int64, count=len(grams))
    uniq, counts = np.unique(idx, return_counts=True)
    vals = counts.astype(np.float32)
    vals /= np.float32(np.sqrt(float(vals @ vals)))
    return uniq, vals


class CategoryClassifier:
    """Online multinomial logistic regression over hashed n-grams.

    ``lr``: AdaGrad base step; ``l2``: weight decay applied to the touched rows;
    ``description``: read the listing's description as well as its title.
    """

    def __init__(self, n_bits: int = 18, lr: float = 0.5, l2: float = 1e-6, seed: int = 0,
                 description: bool = True):
        if not 8 <= n_bits <= 24:
            raise ValueError("n_bits must be in [8, 24]")
        self.n_bits, self.lr, self.l2, self.seed, self.description = int(n_bits), float(lr), float(l2), int(seed), \
            bool(description)
        self.classes: list[str] = []
        self._cls_index: dict[str, int] = {}
        self.W = np.zeros((1 << self.n_bits, 0), np.float32)
        self.G = np.zeros((1 << self.n_bits, 0), np.float32)  # AdaGrad sums of squared gradients
        self.b = np.zeros(0, np.float32)
        self.Gb = np.zeros(0, np.float32)
        self.n_seen = 0

    # --- classes ---------------------------------------------------------------------------
    def _class(self, label: str) -> int:
        k = self._cls_index.get(label)
        if k is not None:
            return k
        k = len(self.classes)
        self.classes.append(label)
        self._cls_index[label] = k
        rows = self.W.shape[0]
        self.W = np.concatenate([self.W, np.zeros((rows, 1), np.float32)], axis=1)
        self.G = np.concatenate([self.G, np.zeros((rows, 1), np.float32)], axis=1)
        self.b = np.append(self.b, np.float32(0))
        self.Gb = np.append(self.Gb, np.float32(0))
        return k

    def text_of(self, listing_or_text) -> str:
        if isinstance(listing_or_text, dict):
            return listing_text(listing_or_text, self.description)
        return str(listing_or_text)

    # --- predicting ------------------------------------------------------------------------
    def _proba(self, idx: np.ndarray, vals: np.ndarray) -> np.ndarray:
        z = vals @ self.W[idx] + self.b if idx.size else self.b.copy()
        z = z - z.max()
        e = np.exp(z)
        return e / e.sum()

    def predict_proba_one(self, x) -> dict[str, float]:
        """``{category: probability}`` for a text or a listing dict (empty before any learning)."""
        if not self.classes:
            return {}
        p = self._proba(*features(self.text_of(x), self.n_bits))
        return {c: float(v) for c, v in zip(self.classes, p)}

    def top_one(self, x) -> tuple[str | None, float, dict[str, float]]:
        """(best category, its probability, all probabilities)."""
        proba = self.predict_proba_one(x)
        if not proba:
            return None, 0.0, proba
        best = max(self.classes, key=lambda c: (proba[c], -self._cls_index[c]))
        return best, proba[best], proba

    def predict_one(self, x) -> str | None:
        return self.top_one(x)[0]

    # --- learning --------------------------------------------------------------------------
    def _step(self, idx: np.ndarray, vals: np.ndarray, k: int, weight: float = 1.0) -> None:
        p = self._proba(idx, vals)
        g = p
        g[k] -= 1.0
        g *= weight
        if idx.size:
            gw = np.outer(vals, g).astype(np.float32)
            if self.l2:
                gw += self.l2 * self.W[idx]
            self.G[idx] += gw * gw
            self.W[idx] -= self.lr * gw / np.sqrt(self.G[idx] + 1e-8)
        gb = g.astype(np.float32)
        self.Gb += gb * gb
        self.b -= self.lr * gb / np.sqrt(self.Gb + 1e-8)
        self.n_seen += 1

    def learn_one(self, x, label: str, weight: float = 1.0) -> None:
        """One SGD step on a text (or listing dict) and its category."""
        k = self._class(str(label))
        self._step(*features(self.text_of(x), self.n_bits), k, weight)

    def learn_many(self, xs: Sequence, labels: Sequence[str], epochs: int = 1, shuffle: bool = True) -> None:
        """``epochs`` passes over the examples (each pass in a seeded random order when ``shuffle``)."""
        if len(xs) != len(labels):
            raise ValueError(f"{len(xs)} texts but {len(labels)} labels")
        feats = [features(self.text_of(x), self.n_bits) for x in xs]
        ks = [self._class(str(y)) for y in labels]
        rng = np.random.default_rng(self.seed + self.n_seen)
        for _ in range(int(epochs)):
            order = rng.permutation(len(xs)) if shuffle else range(len(xs))
            for i in order:
                self._step(*feats[i], ks[i])

    def correct(self, x, label: str, max_steps: int = 20) -> int:
        """A reviewer's correction: steps on (x, label) until ``label`` is the top category
        (at most ``max_steps``); returns the number of steps taken."""
        k = self._class(str(label))
        idx, vals = features(self.text_of(x), self.n_bits)
        for n in range(max_steps):
            if int(np.argmax(self._proba(idx, vals))) == k and n > 0:
                return n
            self._step(idx, vals, k)
        return max_steps

    # --- persistence -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{"config": {...JSON...}, "arrays": {name: np.ndarray}}`` (only non-zero rows are kept)."""
        rows = np.flatnonzero(np.any(self.G != 0, axis=1)) if self.classes else np.zeros(0, np.int64)
        return {
            "config": {"version": STATE_VERSION, "n_bits": self.n_bits, "lr": self.lr, "l2": self.l2,
                       "seed": self.seed, "description": self.description, "classes": list(self.classes),
                       "n_seen": self.n_seen},
            "arrays": {"rows": rows.astype(np.int64), "W": self.W[rows].copy(), "G": self.G[rows].copy(),
                       "b": self.b.copy(), "Gb": self.Gb.copy()},
        }

    @classmethod
    def from_state(cls, state: dict) -> "CategoryClassifier":
        cfg, arr = state["config"], state["arrays"]
        if cfg.get("version") != STATE_VERSION:
            raise ValueError(f"category classifier state version {cfg.get('version')!r}, expected {STATE_VERSION}")
        clf = cls(n_bits=cfg["n_bits"], lr=cfg["lr"], l2=cfg["l2"], seed=cfg["seed"],
                  description=cfg["description"])
        for c in cfg["classes"]:
            clf._class(c)
        rows = np.asarray(arr["rows"], np.int64)
        clf.W[rows] = arr["W"]
        clf.G[rows] = arr["G"]
        clf.b[:] = arr["b"]
        clf.Gb[:] = arr["Gb"]
        clf.n_seen = int(cfg["n_seen"])
        return clf

    def save(self, path) -> None:
        """One ``.npz`` file (config as a JSON string inside)."""
        import json

        st = self.state_dict()
        np.savez_compressed(path, config=np.array(json.dumps(st["config"])), **st["arrays"])

    @classmethod
    def load(cls, path) -> "CategoryClassifier":
        import json

        with np.load(path, allow_pickle=False) as z:
            cfg = json.loads(str(z["config"]))
            arrays = {k: z[k] for k in ("rows", "W", "G", "b", "Gb")}
        return cls.from_state({"config": cfg, "arrays": arrays})

    def __repr__(self) -> str:
        return f"CategoryClassifier(n_bits={self.n_bits}, classes={len(self.classes)}, seen={self.n_seen})"


def train(texts: Iterable, labels: Iterable[str], epochs: int = 3, **kw) -> CategoryClassifier:
    """Convenience: a fresh classifier trained ``epochs`` passes."""
    clf = CategoryClassifier(**kw)
    clf.learn_many(list(texts), list(labels), epochs=epochs)
    return clf
