"""Cold start for a merchant's new category: text codes, per-category heads, warm start.

When a merchant opens a category it has never sold (the simulator's clothing merchant opening
home appliances), its models know nothing about the new products. Three pieces carry over what
the older categories taught (``EngineConfig.transfer``):

* **Product text.** Listing titles are embedded with :class:`~ecomops.learn.transfer.encoder.TextEncoder`,
  once per product and batched per chunk; each embedding becomes a few SimHash tokens (sign bits
  of fixed random projections), the same in every category, plus a price band. Similar titles
  share tokens, so what one category learned about, say, "stainless 1.5 L" items reaches the next.
  Measured on the simulator, where a product's appeal is drawn independently of its title, they
  are neutral for propensity and lower the risk model's log loss on the new category's orders.
* **Per-category heads.** Purchase propensity keeps one hashed logistic regression per category
  (same features, merchant-wide statistics). One model for all categories was measured to
  transfer *negatively*: its buyer and popularity weights are fit to the old categories' mix of
  staple reorders and browsing, and on a new category it ranked worse after ~3k examples than a
  model started from zero (benchmarks/cold_start.py).
* **Warm start.** A new category's head starts as a copy of the weights of the head whose
  category is most similar (cosine of the mean title embeddings; ties and missing text: the
  head with more examples), with FTRL's per-coordinate learning rates reset (``n = 0``): the
  old weights are a prior the new category quickly corrects, not a verdict it must unlearn.

Fake-order risk keeps one merchant-wide model: its features (devices, networks, velocities,
account age) say nothing category-specific, and fraud positives are too scarce to split.

Determinism: a product's code is fixed by its first listing title, computed by the encoder on one
thread and on batches of titles of one token length. Padding, or several threads, make a vector
depend (by ~1e-7) on which other titles shared its batch; this way it depends on the title only.
Codes and per-category embedding sums live in the merchant's checkpointed catalogue. A resumed run therefore never re-encodes a title it had already coded,
and whether the on-disk embedding cache survived changes nothing.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Iterable

import numpy as np

from ..core.errors import ConfigError
from ..core.events import Click, Event, Listing, View
from ..learn.online.drift import AdaptationPolicy, DriftDetector
from ..learn.online.hashing import SparseBatch
from .task import log_bucket, new_model, pack_model_state, unpack_model_state

PRODUCT_KEY = "__product__"  # feature-dict marker: replaced by the product's text features at flush
N_TABLES, N_BITS = 4, 8  # SimHash: 4 tokens of 8 sign bits (two titles of one item share ~15% of them)
WARM_MIN_EXAMPLES = 200  # a head with fewer learned examples is not worth copying
INSTALL_HINT = ("transfer learning needs PyTorch and the text encoder: install them with "
                "pip install 'ecomops[transfer]' (`make demo` does), or run with --no-transfer")

_ENCODERS: dict[str, "TitleCodes"] = {}  # one loaded model per process, shared by engines and merchants


def require_transfer() -> None:
    """Raise a :class:`ConfigError` that says what to install when torch/transformers are missing."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"{INSTALL_HINT} ({exc})") from None


def title_codes(encoder: str = "default") -> "TitleCodes":
    """The process-wide :class:`TitleCodes` for ``encoder`` (loading a model takes seconds)."""
    codes = _ENCODERS.get(encoder)
    if codes is None:
        require_transfer()
        codes = _ENCODERS[encoder] = TitleCodes(encoder)
    return codes


class TitleCodes:
    """Title -> (embedding, SimHash code), exact per title whatever the batch."""

    def __init__(self, encoder: str = "default"):
        from ..learn.transfer.encoder import TextEncoder

        self.encoder = TextEncoder(encoder)
        # our own cache namespace: vectors others cached from padded batches differ in the last bits
        self.key = self.encoder.fingerprint + "/unpadded"
        self.fingerprint = self.key
        rng = np.random.default_rng(0x5EED_C0DE)  # fixed: codes must not depend on any run setting
        self.planes = rng.standard_normal((N_TABLES * N_BITS, self.encoder.dim))

    def vectors(self, titles: list[str]) -> np.ndarray:
        n = len(titles)
        out = np.zeros((n, self.encoder.dim), dtype=np.float32)
        cache = self.encoder.cache
        todo = list(range(n))
        if cache is not None and n:
            found, todo = cache.get(self.key, titles)
            for i, v in enumerate(found):
                if v is not None:
                    out[i] = v
        if todo:
            out[todo] = self._encode([titles[i] for i in todo])
            if cache is not None:
                cache.put(self.key, [titles[i] for i in todo], out[todo])
        return out

    def _encode(self, titles: list[str]) -> np.ndarray:
        enc = self.encoder
        torch = enc._torch
        ids = enc.tokenize(titles)
        out = np.zeros((len(titles), enc.dim), dtype=np.float32)
        by_len: dict[int, list[int]] = {}
        for i, s in enumerate(ids):
            by_len.setdefault(len(s), []).append(i)
        # One thread: with several, a row's result depends on how the batch is split between them.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                for length in sorted(by_len):
                    rows = by_len[length]
                    for a in range(0, len(rows), 64):
                        part = rows[a : a + 64]
                        out[part] = enc.forward(enc.collate([ids[i] for i in part])).float().cpu().numpy()
        finally:
            torch.set_num_threads(threads)
        return out

    def code(self, vec: np.ndarray) -> bytes:
        # one matrix-vector product per title: the signs never depend on the batch around it
        bits = (self.planes @ vec.astype(np.float64)) > 0.0
        return np.packbits(bits).tobytes()

    def fill(self, catalogs: Iterable["ProductCatalog"]) -> int:
        """Code every product listed since the last chunk, all merchants in one encoder call."""
        work = [(c, pid, title) for c in catalogs for pid, title in c.take_uncoded()]
        if not work:
            return 0
        uniq = list(dict.fromkeys(t for _, _, t in work))
        vecs = dict(zip(uniq, self.vectors(uniq)))
        for cat, pid, title in work:
            cat.set_code(pid, self.code(vecs[title]), vecs[title])
        return len(work)


class ProductCatalog:
    """One merchant's products as its listings and views describe them (bounded, checkpointed).

    Entry: ``[category, price, code, category_from_view]``; the category comes from the first view
    or click that names one (what buyers were shown), else from the first listing, and picks the
    propensity head. Per category, the sum of its products' title embeddings (similarity between
    categories). Past ``max_products`` the oldest entries go first.
    """

    def __init__(self, max_products: int = 50_000, text_features: bool = True):
        self.max_products = int(max_products)
        self.text_features_on = bool(text_features)
        self.products: OrderedDict[str, list] = OrderedDict()
        self.cat_sum: dict[str, np.ndarray] = {}
        self.cat_n: dict[str, int] = {}
        self._uncoded: dict[str, str] = {}  # product -> first title, until the chunk's end

    def observe(self, ev: Event) -> None:
        if isinstance(ev, Listing):
            e = self._entry(ev.product_id)
            if e[0] is None:
                e[0] = ev.category
            e[1] = ev.price
            if e[2] is None and ev.title.strip():
                self._uncoded.setdefault(ev.product_id, ev.title)
        elif isinstance(ev, (View, Click)) and ev.category:
            e = self._entry(ev.product_id)
            if not e[3]:
                e[0], e[3] = ev.category, True  # the first category buyers saw wins, for good

    def _entry(self, pid: str) -> list:
        e = self.products.get(pid)
        if e is None:
            e = self.products[pid] = [None, None, None, False]
            if len(self.products) > self.max_products:
                old, _ = self.products.popitem(last=False)
                self._uncoded.pop(old, None)
        return e

    def take_uncoded(self) -> list[tuple[str, str]]:
        out, self._uncoded = list(self._uncoded.items()), {}
        return out

    def set_code(self, pid: str, code: bytes, vec: np.ndarray) -> None:
        e = self.products.get(pid)
        if e is None or e[2] is not None:
            return
        e[2] = code
        c = e[0] or ""
        if c not in self.cat_sum:
            self.cat_sum[c] = np.zeros(vec.shape[0], dtype=np.float64)
            self.cat_n[c] = 0
        self.cat_sum[c] += vec
        self.cat_n[c] += 1

    def category_of(self, pid: str) -> str:
        e = self.products.get(pid)
        return (e[0] or "") if e is not None else ""

    def similarity(self, a: str, b: str) -> float | None:
        u, v = self.cat_sum.get(a), self.cat_sum.get(b)
        if u is None or v is None:
            return None
        nu, nv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
        return float(u @ v) / (nu * nv) if nu > 0 and nv > 0 else None

    def text_features(self, pid: str) -> dict:
        if not self.text_features_on:
            return {}
        e = self.products.get(pid)
        code = e[2] if e is not None else None
        # the same keys on every row, strings only: the hasher's fast columnar path
        f = {f"tx{k}": "" if code is None else code[k : k + 1].hex() for k in range(N_TABLES)}
        f["price_band"] = log_bucket(e[1] if e is not None else None, 1.6)
        return f

    def resolve(self, pending) -> None:
        """Swap each pending example's product marker for the product's text features."""
        for p in pending:
            pid = p.features.pop(PRODUCT_KEY, None)
            if pid is not None:
                p.features.update(self.text_features(pid))

    # -- state -----------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        if self._uncoded:
            raise RuntimeError("checkpoint only between chunks: code the new titles first")
        return {
            "products": [(k, *v) for k, v in self.products.items()],
            "cat_sum": {k: v.copy() for k, v in self.cat_sum.items()},
            "cat_n": dict(self.cat_n),
        }

    def load_state_dict(self, s: dict) -> None:
        self.products = OrderedDict((r[0], list(r[1:])) for r in s["products"])
        self.cat_sum = {k: np.array(v, dtype=np.float64) for k, v in s["cat_sum"].items()}
        self.cat_n = dict(s["cat_n"])
        self._uncoded = {}

    def digest(self) -> str:
        h = hashlib.sha256()
        for k, v in self.products.items():
            h.update(repr((k, *v)).encode())
        for k in sorted(self.cat_sum):
            h.update(k.encode() + self.cat_sum[k].tobytes() + str(self.cat_n[k]).encode())
        return h.hexdigest()


def warm_copy(dst, src) -> None:
    """``dst`` takes ``src``'s weights with fresh FTRL learning rates (``n = 0``)."""
    h = src.optimizer
    dst.w[:] = src.w
    # With n = 0 the FTRL-Proximal weight is -(z - sign(z) l1) / (beta/alpha + l2): solve for z.
    dst.state[0][:] = -src.w * (h.beta / h.alpha + h.l2) - np.sign(src.w) * h.l1
    dst.state[1][:] = 0.0


class CategoryHeads:
    """One model per category behind the single-model interface the tasks and drift policy use."""

    def __init__(self, cfg, max_heads: int = 16):
        self.cfg = cfg
        self.max_heads = int(max_heads)
        self.heads: dict[str, object] = {}
        self.n: dict[str, int] = {}
        self.route: dict[str, str] = {}  # category -> head, where the head cap was reached
        self.origin: dict[str, tuple] = {}  # head -> (source head or None, similarity), for reports
        # Drift is watched per head: a launch raises the merchant's error without anything having
        # changed in the old categories, and adapting a just warm-started head (z, n *= factor)
        # would zero most of the weights it was given (FTRL's L1), measured: no transfer left.
        self.policies: dict[str, AdaptationPolicy] = {}

    def head_for(self, category: str, catalog: ProductCatalog | None) -> str:
        """The head scoring ``category``, created (and warm-started) on its first example."""
        if category in self.heads:
            return category
        if category in self.route:
            return self.route[category]
        src = self._most_similar(category, catalog, WARM_MIN_EXAMPLES)
        if len(self.heads) >= self.max_heads:
            self.route[category] = src or self._most_similar(category, catalog, 0)
            return self.route[category]
        model = new_model(self.cfg)
        if src is not None:
            warm_copy(model, self.heads[src])
        self.heads[category] = model
        self.n[category] = 0
        self.policies[category] = self._policy(model)
        sim = catalog.similarity(category, src) if catalog is not None and src is not None else None
        self.origin[category] = (src, sim)
        return category

    def _most_similar(self, category: str, catalog, min_examples: int) -> str | None:
        cands = [k for k in self.heads if self.n[k] >= min_examples]
        if not cands:
            return None

        def rank(k):
            s = catalog.similarity(category, k) if catalog is not None else None
            return (-2.0 if s is None else s, self.n[k], k)

        return max(cands, key=rank)

    def _groups(self, heads: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, list[int]] = {}
        for i, h in enumerate(heads):
            out.setdefault(h, []).append(i)
        return {h: np.array(rows, dtype=np.int64) for h, rows in out.items()}

    @staticmethod
    def _take(batch: SparseBatch, rows: np.ndarray) -> SparseBatch:
        if rows.size == batch.n_rows:
            return batch
        starts = batch.indptr[rows]
        lengths = batch.indptr[rows + 1] - starts
        indptr = np.zeros(rows.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        gather = np.arange(indptr[-1], dtype=np.int64) + np.repeat(starts - indptr[:-1], lengths)
        return SparseBatch(indptr, batch.indices[gather], batch.values[gather], rows.size)

    def predict_many(self, batch: SparseBatch, heads: list[str]) -> np.ndarray:
        out = np.empty(batch.n_rows, dtype=np.float64)
        for h, rows in self._groups(heads).items():
            out[rows] = self.heads[h].predict_many(self._take(batch, rows))
        return out

    def _policy(self, model) -> AdaptationPolicy:
        return AdaptationPolicy(model, detector=DriftDetector(self.cfg.drift_detector))

    def learn_many(self, batch: SparseBatch, y: np.ndarray, heads: list[str], prob: np.ndarray) -> list:
        """Learn each head's rows, then feed its drift policy; returns the adaptations made."""
        # heads are independent: learning each one's rows in stream order equals the interleaved order
        adapted = []
        for h, rows in self._groups(heads).items():
            self.heads[h].learn_many(self._take(batch, rows), y[rows])
            self.n[h] += int(rows.size)
            adapted += self.policies[h].update_many(y[rows], prob[rows])
        return adapted

    def on_drift(self, factor: float = 0.1) -> None:
        for k in sorted(self.heads):
            self.heads[k].on_drift(factor)

    def digest(self) -> str:
        h = hashlib.sha256()
        for k in sorted(self.heads):
            h.update(f"{k}\x00{self.heads[k].digest()}\x00{self.n[k]}\n".encode())
        h.update(repr(sorted(self.route.items())).encode())
        return h.hexdigest()

    def state_dict(self) -> dict:
        return {
            "heads": {k: pack_model_state(m.state_dict()) for k, m in self.heads.items()},
            "n": dict(self.n),
            "route": dict(self.route),
            "origin": dict(self.origin),
            "policies": {k: p.state_dict() for k, p in self.policies.items()},
        }

    def load_state_dict(self, s: dict) -> None:
        self.heads = {}
        for k, st in s["heads"].items():
            m = new_model(self.cfg)
            m.load_state_dict(unpack_model_state(st))
            self.heads[k] = m
            self.policies[k] = self._policy(m)
            self.policies[k].load_state_dict(s["policies"][k])
        self.n, self.route, self.origin = dict(s["n"]), dict(s["route"]), dict(s["origin"])
