"""One model object for every transfer method: texts in, labels out, saved to a folder.

A method name is an encoder stage and an adapter joined by ``+``:

* encoder stage: frozen (default, nothing to write), ``finetune`` (all layers),
  ``finetune_last2`` (top two layers) or ``lora`` -- trained on the labelled source (+ target shots);
* adapter: ``source_only``, ``coral``, ``mmd``, ``dann``, ``self_training``, ``prototypes``,
  ``prompt`` -- trained on the encoder's features of source, unlabelled target and target shots.

``finetune`` alone predicts with the fine-tuned head; ``finetune+dann`` fine-tunes on the source,
then adapts on the fine-tuned features. Labels are any strings; ``classes_`` keeps their order.

>>> m = TransferModel("finetune+self_training")                                  # doctest: +SKIP
>>> m.fit(src_texts, src_labels, tgt_texts, tgt_shot_texts, tgt_shot_labels)     # doctest: +SKIP
>>> m.predict(["the kettle leaks"])                                              # doctest: +SKIP
['neg']
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ...core.errors import ConfigError
from .encoder import DEFAULT_MODEL, TextEncoder

__all__ = ["TransferModel", "METHODS", "parse_method"]

STAGES = {
    "frozen": "the pre-trained encoder as it is (feature extraction)",
    "finetune": "fine-tune every encoder layer on the labelled data",
    "finetune_last2": "fine-tune the top two encoder layers only",
    "lora": "train LoRA adapters on the encoder's attention (PEFT)",
}
ADAPTER_HELP = {
    "source_only": "a classifier on source features, no adaptation (the baseline)",
    "coral": "CORAL: align source feature covariance to the target's",
    "mmd": "DAN-style multi-kernel MMD penalty between source and target features",
    "dann": "DANN: adversarial domain classifier with gradient reversal",
    "self_training": "pseudo-label confident target texts, retrain, repeat",
    "prototypes": "few-shot: nearest class prototype (source + target shots)",
    "prompt": "prompt templates per class (zero-shot), blended with target shots",
}
METHODS: dict[str, str] = {**{a: ADAPTER_HELP[a] for a in ADAPTER_HELP},
                           **{s: STAGES[s] + ", then its own head" for s in STAGES if s != "frozen"},
                           **{f"finetune+{a}": f"fine-tune on source, then {a}" for a in
                              ("coral", "mmd", "dann", "self_training", "prototypes")}}
# The recipe benchmarks/transfer.py measures (2 epochs, 128 tokens: ~6 min per 2,000 reviews on 2 cores).
FINETUNE_DEFAULTS = {"epochs": 2, "max_length": 128}
_FT_MODE = {"finetune": ("full", 0), "finetune_last2": ("last_n", 2), "lora": ("lora", 0)}


def parse_method(method: str) -> tuple[str, str | None]:
    """``"finetune+dann"`` -> ("finetune", "dann"); ``"coral"`` -> ("frozen", "coral"); ``"lora"`` -> ("lora", None)."""
    parts = method.split("+")
    if len(parts) == 1:
        name = parts[0]
        if name in _FT_MODE:
            return name, None
        if name in ADAPTER_HELP:
            return "frozen", name
    elif len(parts) == 2 and parts[0] in STAGES and parts[1] in ADAPTER_HELP:
        if parts[1] == "prompt" and parts[0] != "frozen":
            raise ConfigError("the prompt method compares texts with label descriptions in the pre-trained "
                              "encoder's space: use it alone ('prompt'), not after fine-tuning")
        return parts[0], parts[1]
    raise ConfigError(
        f"unknown transfer method {method!r}. Use an adapter ({', '.join(ADAPTER_HELP)}), an encoder stage "
        f"({', '.join(_FT_MODE)}), or STAGE+ADAPTER such as finetune+dann"
    )


def shot_weight(n_source: int, k: int, cap: float = 10.0) -> float:
    """Weight of one labelled target text next to source texts: the k shots together count as much
    as the source set, capped so that two or three shots cannot drown it."""
    return float(min(cap, max(1.0, n_source / max(k, 1))))


class TransferModel:
    """Fit on labelled source texts + unlabelled (and optionally a few labelled) target texts."""

    def __init__(
        self,
        method: str = "finetune+self_training",
        *,
        encoder: str | os.PathLike = DEFAULT_MODEL,
        max_length: int = 256,
        seed: int = 0,
        epochs: int | None = None,
        progress: bool = False,
        cache_dir: str | os.PathLike | None | bool = None,
        adapter_params: dict | None = None,
        finetune_params: dict | None = None,
    ):
        self.method = method
        self.stage, self.adapter_name = parse_method(method)
        self.encoder_name = str(encoder)
        self.max_length = int(max_length)
        self.seed = int(seed)
        self.epochs = epochs
        self.progress = progress
        self.cache_dir = cache_dir
        self.adapter_params = dict(adapter_params or {})
        self.finetune_params = dict(finetune_params or {})
        self._encoder: TextEncoder | None = None
        self.adapter_ = None

    @property
    def encoder(self) -> TextEncoder:
        if self._encoder is None:
            self._encoder = TextEncoder(self.encoder_name, max_length=self.max_length, cache_dir=self.cache_dir)
        return self._encoder

    # -- fitting ---------------------------------------------------------------------------------
    def fit(
        self,
        source_texts: Sequence[str],
        source_labels: Sequence[str],
        target_texts: Sequence[str] = (),
        target_labeled_texts: Sequence[str] | None = None,
        target_labels: Sequence[str] | None = None,
    ) -> "TransferModel":
        shots_x = list(target_labeled_texts or [])
        shots_y = [str(y) for y in (target_labels or [])]
        if len(shots_x) != len(shots_y):
            raise ConfigError("target_labeled_texts and target_labels must have the same length")
        if len(source_texts) != len(source_labels):
            raise ConfigError("source_texts and source_labels must have the same length")
        self.classes_ = sorted({str(y) for y in source_labels} | set(shots_y))
        if len(self.classes_) < 2:
            raise ConfigError("need at least two classes in the source (and target shot) labels")
        index = {c: i for i, c in enumerate(self.classes_)}
        ys = np.array([index[str(y)] for y in source_labels], dtype=np.int64)
        yk = np.array([index[y] for y in shots_y], dtype=np.int64)
        src, tgt = list(source_texts), list(target_texts)
        self.finetuner_ = None
        if self.stage != "frozen":
            from .finetune import FineTuner

            mode, n_layers = _FT_MODE[self.stage]
            params = {**FINETUNE_DEFAULTS, **({"epochs": self.epochs} if self.epochs else {}), **self.finetune_params}
            w = np.r_[np.ones(len(src)), np.full(len(shots_x), shot_weight(len(src), len(shots_x)))]
            self.finetuner_ = FineTuner(self.encoder, mode=mode, n_layers=n_layers or 2, seed=self.seed,
                                        progress=self.progress, **params)
            self.finetuner_.fit(src + shots_x, np.r_[ys, yk], sample_weight=w)
        self.adapter_ = None
        if self.adapter_name is not None:
            self.adapter_ = self._make_adapter()
            Xs, Xt, Xk = (self._features(t, d) for t, d in ((src, "source"), (tgt, "target"), (shots_x, "target shots")))
            self.adapter_.fit(Xs, ys, Xt if len(tgt) else None, Xk if len(shots_x) else None,
                              yk if len(shots_x) else None)
        return self

    def _make_adapter(self):
        params = {"seed": self.seed, "progress": self.progress, **self.adapter_params}
        if self.epochs and self.stage == "frozen":
            params.setdefault("epochs", self.epochs)
        if self.adapter_name == "prompt":
            from .prompt import PromptClassifier

            return PromptClassifier(self.encoder, classes=self.classes_, **params)
        from .adapters import make_adapter

        return make_adapter(self.adapter_name, **params)

    def _features(self, texts: Sequence[str], desc: str = "texts") -> np.ndarray:
        if getattr(self.adapter_, "needs_texts", False):  # a language-model prompt reads the words
            return list(texts)
        if not len(texts):
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        if self.finetuner_ is not None:
            return self.finetuner_.embed(list(texts), progress=self.progress)
        return self.encoder.encode(list(texts), progress=self.progress, desc=f"encoding {desc}")

    # -- prediction ------------------------------------------------------------------------------
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, len(classes_))`` probabilities, columns in ``classes_`` order."""
        if not hasattr(self, "classes_"):
            raise ConfigError("this TransferModel is not fitted yet: call fit() or TransferModel.load()")
        texts = [str(t) for t in texts]
        if self.adapter_ is None:
            p = self.finetuner_.predict_proba(texts, progress=self.progress)
        else:
            p = self.adapter_.predict_proba(self._features(texts))
        out = np.zeros((len(texts), len(self.classes_)))
        out[:, : p.shape[1]] = p  # a class seen only in... never: both parts saw every class index
        return out

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [self.classes_[i] for i in self.predict_proba(texts).argmax(1)]

    def score(self, texts: Sequence[str], labels: Sequence[str]) -> float:
        """Accuracy against string labels."""
        pred = self.predict(texts)
        return float(np.mean([p == str(y) for p, y in zip(pred, labels)])) if len(pred) else float("nan")

    # -- persistence -----------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike) -> Path:
        """Everything needed to predict, except the base encoder's weights (referenced by path and fingerprint)."""
        if not hasattr(self, "classes_"):
            raise ConfigError("nothing to save: fit the model first")
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": "ecomops-transfer/1", "method": self.method, "encoder": self.encoder_name,
            "encoder_fingerprint": self.encoder.fingerprint, "max_length": self.max_length,
            "seed": self.seed, "classes": self.classes_, "adapter_params": self.adapter_params,
            "finetune_params": self.finetune_params,
        }
        if self.finetuner_ is not None:
            self.finetuner_.save(d / "finetuned")
        if self.adapter_ is not None:
            state = self.adapter_.state_dict()
            np.savez(d / "adapter.npz", **state["arrays"])
            meta["adapter"] = {"name": state["name"], "config": state["config"]}
        (d / "transfer.json").write_text(json.dumps(meta, indent=2))
        return d

    @classmethod
    def load(cls, directory: str | os.PathLike, *, cache_dir=None, progress: bool = False) -> "TransferModel":
        d = Path(directory)
        f = d / "transfer.json"
        if not f.exists():
            raise ConfigError(f"{d} is not a saved transfer model (no transfer.json): run `ecomops transfer fit --out {d}` first")
        meta = json.loads(f.read_text())
        m = cls(meta["method"], encoder=meta["encoder"], max_length=meta["max_length"], seed=meta["seed"],
                progress=progress, cache_dir=cache_dir, adapter_params=meta.get("adapter_params"),
                finetune_params=meta.get("finetune_params"))
        if m.encoder.fingerprint != meta["encoder_fingerprint"]:
            raise ConfigError(
                f"the encoder {meta['encoder']!r} is not the one this model was trained with "
                "(its weights changed): refit the model"
            )
        m.classes_ = list(meta["classes"])
        m.finetuner_ = None
        if m.stage != "frozen":
            from .finetune import FineTuner

            mode, n_layers = _FT_MODE[m.stage]
            m.finetuner_ = FineTuner(m.encoder, mode=mode, n_layers=n_layers or 2).load(d / "finetuned")
        m.adapter_ = None
        if "adapter" in meta:
            with np.load(d / "adapter.npz") as z:
                arrays = {k: z[k] for k in z.files}
            state = {**meta["adapter"], "arrays": arrays}
            if meta["adapter"]["name"] == "prompt":
                from .prompt import PromptClassifier

                m.adapter_ = PromptClassifier.from_state(state, encoder=m.encoder)
            else:
                from .adapters import ADAPTERS

                m.adapter_ = ADAPTERS[meta["adapter"]["name"]].from_state(state)
        return m
