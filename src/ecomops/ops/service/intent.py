"""Online intent classifier for short customer messages.

Features: word uni/bi-grams plus character 3-5-grams (within word boundaries), hashed into a fixed
``2**n_bits`` sparse vector (scikit-learn's ``HashingVectorizer``: murmurhash, so the same text
maps to the same features in every process), L2-normalised. Model: multinomial logistic
regression, one weight column per intent, trained by plain SGD in numpy (:meth:`fit`), and updated
online one message at a time (:meth:`learn_one`). A correction is applied as a passive-aggressive
step, repeated (at most a few times) until the corrected intent wins by a margin, so a corrected
intent changes the next prediction of that message at once; an intent never seen before gets a new
column. Deterministic: a fixed ``seed`` fixes the training order.

>>> clf = IntentClassifier(n_bits=12).fit(["cancel my order", "track my parcel", "cancel the purchase",
...                                        "where is my package"], ["cancel", "track", "cancel", "track"])
>>> clf.predict_one("please cancel order 123")
'cancel'
>>> clf.learn_one("please cancel order 123", "complaint")
>>> clf.predict_one("please cancel order 123")
'complaint'
"""

from __future__ import annotations

import io
import time
from typing import Any, Sequence

import numpy as np
from scipy import sparse

__all__ = ["IntentClassifier", "evaluate_bitext", "load_bitext"]


class IntentClassifier:
    def __init__(self, n_bits: int = 18, *, epochs: int = 6, lr: float = 0.5, l2: float = 1e-6,
                 seed: int = 0, margin: float = 1.0):
        self.n_bits = int(n_bits)
        self.epochs = int(epochs)
        self.lr = float(lr)
        self.l2 = float(l2)
        self.seed = int(seed)
        self.margin = float(margin)
        self.classes: list[str] = []
        self.W = np.zeros((1 << self.n_bits, 0), dtype=np.float32)
        self.b = np.zeros(0, dtype=np.float32)
        self.n_seen = 0
        self._vec = None

    # -- features ------------------------------------------------------------------------------
    def _vectorizers(self):
        if self._vec is None:
            from sklearn.feature_extraction.text import HashingVectorizer

            common = dict(n_features=1 << self.n_bits, alternate_sign=False, norm=None, lowercase=True,
                          dtype=np.float32)
            self._vec = (HashingVectorizer(analyzer="word", ngram_range=(1, 2),
                                           token_pattern=r"(?u)\b\w+\b", **common),
                         HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), **common))
        return self._vec

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Hashed, L2-normalised features (rows are messages)."""
        w, c = self._vectorizers()
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        X = (w.transform(texts) * 2.0 + c.transform(texts)).tocsr()  # words weigh double
        X.data = np.log1p(X.data).astype(np.float32)
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        X = sparse.diags((1.0 / norms).astype(np.float32)) @ X
        X.sort_indices()
        return X.tocsr()

    # -- classes -------------------------------------------------------------------------------
    def _class_index(self, label: str) -> int:
        try:
            return self.classes.index(label)
        except ValueError:
            self.classes.append(label)
            self.W = np.concatenate([self.W, np.zeros((self.W.shape[0], 1), np.float32)], axis=1)
            self.b = np.concatenate([self.b, np.zeros(1, np.float32)])
            return len(self.classes) - 1

    # -- training ------------------------------------------------------------------------------
    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> "IntentClassifier":
        """Batch training (adds to the current weights, so it also continues a trained model)."""
        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        y = np.array([self._class_index(str(l)) for l in labels], dtype=np.int64)
        X = self.transform(texts)
        rng = np.random.default_rng(self.seed)
        indptr, indices, data = X.indptr, X.indices, X.data
        W, b = self.W, self.b
        step = 0
        total = max(1, self.epochs * len(y))
        for _ in range(self.epochs):
            for i in rng.permutation(len(y)):
                lr = self.lr * (1.0 - step / total) + 1e-3
                step += 1
                idx = indices[indptr[i]:indptr[i + 1]]
                v = data[indptr[i]:indptr[i + 1]]
                rows = W[idx]
                s = v @ rows + b
                s -= s.max()
                p = np.exp(s)
                p /= p.sum()
                p[y[i]] -= 1.0
                if self.l2:
                    rows *= (1.0 - lr * self.l2)
                W[idx] = rows - lr * np.outer(v, p)
                b -= lr * 0.1 * p
        self.n_seen += len(y)
        return self

    def learn_one(self, text: str, label: str) -> None:
        """Online update from one labelled message (feedback): afterwards ``label`` wins for ``text``."""
        j = self._class_index(str(label))
        x = self.transform([text])
        idx, v = x.indices, x.data
        if idx.size == 0:
            return
        sq = float(v @ v) + 1.0  # +1 for the bias
        for _ in range(5):  # passive-aggressive steps until the margin holds
            s = v @ self.W[idx] + self.b
            others = s.copy()
            others[j] = -np.inf
            r = int(np.argmax(others)) if len(self.classes) > 1 else -1
            gap = s[j] - (others[r] if r >= 0 else 0.0)
            loss = self.margin - gap
            if loss <= 0:
                break
            tau = loss / (2.0 * sq) + 1e-3
            self.W[idx, j] += tau * v
            self.b[j] += tau
            if r >= 0:
                self.W[idx, r] -= tau * v
                self.b[r] -= tau
        self.n_seen += 1

    # -- prediction ----------------------------------------------------------------------------
    def decision(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.transform(texts) @ self.W) + self.b

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        s = self.decision(texts)
        if s.shape[1] == 0:
            return s
        s -= s.max(axis=1, keepdims=True)
        p = np.exp(s)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, texts: Sequence[str]) -> list[str]:
        if not self.classes:
            return ["unknown"] * len(texts)
        return [self.classes[i] for i in self.decision(texts).argmax(axis=1)]

    def predict_proba_one(self, text: str) -> dict[str, float]:
        if not self.classes:
            return {}
        return dict(zip(self.classes, map(float, self.predict_proba([text])[0])))

    def predict_one(self, text: str) -> str:
        return self.predict([text])[0]

    def top(self, text: str) -> tuple[str, float]:
        """(intent, probability); ``("unknown", 0.0)`` before any training."""
        if not self.classes:
            return "unknown", 0.0
        p = self.predict_proba([text])[0]
        i = int(np.argmax(p))
        return self.classes[i], float(p[i])

    # -- persistence ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        rows = np.flatnonzero(np.any(self.W != 0, axis=1)).astype(np.int32)
        return {"n_bits": self.n_bits, "epochs": self.epochs, "lr": self.lr, "l2": self.l2, "seed": self.seed,
                "margin": self.margin, "classes": list(self.classes), "rows": rows, "weights": self.W[rows],
                "bias": self.b.copy(), "n_seen": self.n_seen}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "IntentClassifier":
        clf = cls(int(state["n_bits"]), epochs=int(state["epochs"]), lr=float(state["lr"]), l2=float(state["l2"]),
                  seed=int(state["seed"]), margin=float(state["margin"]))
        clf.classes = [str(c) for c in state["classes"]]
        clf.W = np.zeros((1 << clf.n_bits, len(clf.classes)), dtype=np.float32)
        rows = np.asarray(state["rows"], dtype=np.int64)
        if rows.size:
            clf.W[rows] = np.asarray(state["weights"], dtype=np.float32).reshape(rows.size, len(clf.classes))
        clf.b = np.asarray(state["bias"], dtype=np.float32).copy()
        clf.n_seen = int(state.get("n_seen", 0))
        return clf

    def to_bytes(self) -> bytes:
        st = self.state_dict()
        buf = io.BytesIO()
        np.savez_compressed(buf, rows=st.pop("rows"), weights=st.pop("weights"), bias=st.pop("bias"),
                            classes=np.array(st.pop("classes"), dtype=object).astype(str),
                            meta=np.array([st["n_bits"], st["epochs"], st["seed"], st["n_seen"]], dtype=np.int64),
                            fmeta=np.array([st["lr"], st["l2"], st["margin"]], dtype=np.float64))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> "IntentClassifier":
        z = np.load(io.BytesIO(blob), allow_pickle=False)
        m, f = z["meta"], z["fmeta"]
        return cls.from_state({"n_bits": m[0], "epochs": m[1], "seed": m[2], "n_seen": m[3], "lr": f[0], "l2": f[1],
                               "margin": f[2], "classes": [str(c) for c in z["classes"]], "rows": z["rows"],
                               "weights": z["weights"], "bias": z["bias"]})


# -- the Bitext benchmark ------------------------------------------------------------------------
def load_bitext(path) -> tuple[list[str], list[str]]:
    """(instructions, intents) of the Bitext customer-support CSV."""
    import csv

    texts, labels = [], []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("instruction") and row.get("intent"):
                texts.append(row["instruction"])
                labels.append(row["intent"])
    return texts, labels


def evaluate_bitext(path, seed: int = 0, test_size: float = 0.2, n_bits: int = 18, epochs: int = 6) -> dict:
    """Stratified ``1 - test_size`` / ``test_size`` split (fixed ``seed``): train, then score the held-out part."""
    from sklearn.model_selection import train_test_split

    texts, labels = load_bitext(path)
    tr_x, te_x, tr_y, te_y = train_test_split(texts, labels, test_size=test_size, random_state=seed,
                                              stratify=labels)
    clf = IntentClassifier(n_bits=n_bits, epochs=epochs, seed=seed)
    t0 = time.perf_counter()
    clf.fit(tr_x, tr_y)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = clf.predict(te_x)
    batch_s = time.perf_counter() - t0
    lat = []
    for t in te_x[:300]:
        t1 = time.perf_counter()
        clf.top(t)
        lat.append(time.perf_counter() - t1)
    acc = float(np.mean([a == b for a, b in zip(pred, te_y)]))
    return {"accuracy": acc, "n_train": len(tr_x), "n_test": len(te_x), "n_intents": len(set(labels)),
            "seed": seed, "fit_s": round(fit_s, 2), "predict_batch_ms": round(batch_s * 1000, 1),
            "predict_one_p95_ms": round(float(np.percentile(lat, 95)) * 1000, 3), "classifier": clf}
