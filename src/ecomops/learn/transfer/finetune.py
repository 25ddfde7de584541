"""Fine-tune the text encoder itself: all layers, the last N layers, or LoRA adapters (PEFT).

Frozen sentence embeddings carry topic more than sentiment or intent (all-MiniLM-L6-v2 frozen +
logistic regression: 74% mean over the 12 Blitzer pairs); letting the encoder move is what lifts
cross-category accuracy. Three ways to move it, by cost:

* ``full``: every weight; best accuracy, a full copy of the model per task.
* ``last_n``: only the top ``n_layers`` transformer layers and the head; the lower layers keep the
  general language they learned in pre-training, and backward stops early (about half the cost).
* ``lora``: low-rank adapters on the attention projections (Hu et al. 2021, via PEFT); the saved
  model is the adapters alone, a few hundred kB per merchant or category.

The head reads the raw mean-pooled states, not the unit-length sentence embedding: on the
unit sphere the logits stay tiny and a linear head learns slowly. Training keeps a held-out slice of the *labelled training data* (never the target test texts)
and restores the epoch with the lowest held-out loss.

>>> ft = FineTuner(TextEncoder(), mode="lora", epochs=1)       # doctest: +SKIP
>>> ft.fit(["works great", "broke in a week"], [1, 0])           # doctest: +SKIP
>>> ft.embed(["arrived broken"]).shape                           # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

import copy
import math
import os
from typing import Sequence

import numpy as np

from ...core.errors import ConfigError
from .encoder import TextEncoder, _progress

__all__ = ["FineTuner", "MODES"]

MODES = ("full", "last_n", "lora")
# Learning rates fixed before any benchmark run, from common practice for small BERTs; they are
# not tuned on the Blitzer test reviews.
_DEFAULT_LR = {"full": 5e-5, "last_n": 1e-4, "lora": 5e-4}


class FineTuner:
    """Encoder + linear head trained end to end with cross-entropy.

    Parameters
    ----------
    encoder: the :class:`TextEncoder` to start from; it is copied, the original stays frozen.
    mode: ``"full"``, ``"last_n"`` or ``"lora"``.
    n_layers: top layers trained in ``last_n`` mode.
    lora_r, lora_alpha: LoRA rank and scale.
    epochs, batch_size, lr, max_length: the usual; ``lr=None`` takes a per-mode default.
    min_steps: small training sets (few-shot) still get this many optimiser steps.
    val_fraction: held-out share of the training texts used to pick the best epoch.
    """

    def __init__(
        self,
        encoder: TextEncoder,
        *,
        mode: str = "full",
        n_layers: int = 2,
        lora_r: int = 8,
        lora_alpha: int = 16,
        epochs: int = 3,
        batch_size: int = 16,
        lr: float | None = None,
        head_lr: float = 1e-3,
        max_length: int | None = None,
        min_steps: int = 60,
        val_fraction: float = 0.1,
        weight_decay: float = 0.01,
        seed: int = 0,
        progress: bool = False,
    ):
        if mode not in MODES:
            raise ConfigError(f"fine-tuning mode must be one of {', '.join(MODES)}; got {mode!r}")
        self.encoder = encoder
        self.mode = mode
        self.n_layers = int(n_layers)
        self.lora_r, self.lora_alpha = int(lora_r), int(lora_alpha)
        self.epochs = int(epochs)
        self.batch_size = int(batch_size)
        self.lr = float(lr or _DEFAULT_LR[mode])
        self.head_lr = float(head_lr)
        self.max_length = int(max_length or encoder.max_length)
        self.min_steps = int(min_steps)
        self.val_fraction = float(val_fraction)
        self.weight_decay = float(weight_decay)
        self.seed = int(seed)
        self.progress = progress
        self.history_: dict[str, list[float]] = {"train": [], "val": []}

    # -- model -----------------------------------------------------------------------------------
    def _build(self, n_classes: int):
        import torch

        torch.manual_seed(self.seed)
        model = copy.deepcopy(self.encoder.model).train()
        if self.mode == "lora":
            from peft import LoraConfig, get_peft_model

            targets = _lora_targets(model)
            model = get_peft_model(model, LoraConfig(r=self.lora_r, lora_alpha=self.lora_alpha,
                                                     lora_dropout=0.1, target_modules=targets))
        elif self.mode == "last_n":
            layers = _layers(model)
            if not 1 <= self.n_layers <= len(layers):
                raise ConfigError(f"n_layers must be between 1 and {len(layers)} for this encoder")
            for p in model.parameters():
                p.requires_grad_(False)
            for layer in layers[-self.n_layers :]:
                for p in layer.parameters():
                    p.requires_grad_(True)
        head = torch.nn.Linear(self.encoder.dim, n_classes)
        return model, head

    def fit(self, texts: Sequence[str], labels, sample_weight=None) -> "FineTuner":
        """Train on ``texts`` with integer ``labels`` (0..C-1); ``sample_weight`` up-weights e.g. target shots."""
        import torch

        labels = np.asarray(labels, dtype=np.int64)
        if len(texts) != len(labels) or len(texts) == 0:
            raise ConfigError("fine-tuning needs as many labels as texts, and at least one text")
        n_classes = int(labels.max()) + 1
        if n_classes < 2:
            raise ConfigError("fine-tuning needs at least two classes in the labels")
        w = np.ones(len(labels)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        rng = np.random.default_rng(self.seed)
        ids = self.encoder.tokenize(texts, self.max_length)
        order = rng.permutation(len(texts))
        n_val = int(len(texts) * self.val_fraction) if len(texts) >= 50 else 0
        val, train = order[:n_val], order[n_val:]
        model, head = self._build(n_classes)
        params = [
            {"params": [p for p in model.parameters() if p.requires_grad], "lr": self.lr},
            {"params": head.parameters(), "lr": self.head_lr},
        ]
        opt = torch.optim.AdamW(params, weight_decay=self.weight_decay)
        steps_per_epoch = math.ceil(len(train) / self.batch_size)
        epochs = max(self.epochs, math.ceil(self.min_steps / max(steps_per_epoch, 1)))
        total = epochs * steps_per_epoch
        warm = max(1, int(0.1 * total))
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
        )
        gen = torch.Generator().manual_seed(self.seed)
        yt = torch.as_tensor(labels)
        wt = torch.as_tensor(w, dtype=torch.float32)
        bar = _progress(self.progress, total, f"fine-tune ({self.mode})", unit="step")
        best, best_loss = None, float("inf")
        for _ in range(epochs):
            model.train()
            perm = train[torch.randperm(len(train), generator=gen).numpy()]
            losses = []
            for s in range(0, len(perm), self.batch_size):
                idx = perm[s : s + self.batch_size]
                emb = self.encoder.forward(self.encoder.collate([ids[i] for i in idx]), model=model, normalize=False)
                loss = (torch.nn.functional.cross_entropy(head(emb), yt[idx], reduction="none") * wt[idx]).sum()
                loss = loss / wt[idx].sum()
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_([p for g in params for p in g["params"]], 1.0)
                opt.step()
                sched.step()
                losses.append(loss.item())
                bar(1)
            self.history_["train"].append(float(np.mean(losses)))
            if len(val):
                vl = self._loss(model, head, ids, val, labels)
                self.history_["val"].append(vl)
                if vl < best_loss:
                    best_loss = vl
                    best = (copy.deepcopy(model.state_dict()), copy.deepcopy(head.state_dict()))
        bar(0, done=True)
        if best is not None:
            model.load_state_dict(best[0])
            head.load_state_dict(best[1])
        self.model_, self.head_ = model.eval(), head.eval()
        self.n_classes_ = n_classes
        return self

    def _loss(self, model, head, ids, idx, labels) -> float:
        import torch

        model.eval()
        with torch.inference_mode():
            logits = torch.cat([head(self.encoder.forward(self.encoder.collate([ids[i] for i in idx[s : s + 64]]), model=model, normalize=False))
                                for s in range(0, len(idx), 64)])
            return float(torch.nn.functional.cross_entropy(logits, torch.as_tensor(labels[idx])))

    # -- inference -------------------------------------------------------------------------------
    def embed(self, texts: Sequence[str], progress=None) -> np.ndarray:
        """Pooled features from the fine-tuned encoder (what feature-level adapters consume)."""
        return self._run(texts, progress, logits=False)

    def predict_proba(self, texts: Sequence[str], progress=None) -> np.ndarray:
        return self._run(texts, progress, logits=True)

    def _run(self, texts, progress, logits: bool) -> np.ndarray:
        import torch

        self._check_fitted()
        ids = self.encoder.tokenize(texts, self.max_length)
        order = np.argsort([len(s) for s in ids], kind="stable")
        out = np.zeros((len(ids), self.n_classes_ if logits else self.encoder.dim), dtype=np.float64)
        bar = _progress(self.progress if progress is None else progress, len(ids), "encoding (fine-tuned)")
        with torch.inference_mode():
            for s in range(0, len(order), 64):
                idx = order[s : s + 64]
                v = self.encoder.forward(self.encoder.collate([ids[i] for i in idx]), model=self.model_, normalize=False)
                out[idx] = (torch.softmax(self.head_(v), -1) if logits else v).double().numpy()
                bar(len(idx))
        bar(0, done=True)
        return out.astype(np.float32) if not logits else out

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise ConfigError("this FineTuner is not fitted yet: call fit() first")

    # -- persistence -----------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike) -> None:
        """Weights (the LoRA adapters alone in ``lora`` mode) and the head, into ``directory``."""
        import torch

        self._check_fitted()
        os.makedirs(directory, exist_ok=True)
        if self.mode == "lora":
            self.model_.save_pretrained(directory)  # adapters only: the base model is the encoder's
        else:
            self.model_.save_pretrained(os.path.join(directory, "encoder"))
            self.encoder.tokenizer.save_pretrained(os.path.join(directory, "encoder"))
        torch.save({"head": self.head_.state_dict(), "n_classes": self.n_classes_}, os.path.join(directory, "head.pt"))

    def load(self, directory: str | os.PathLike) -> "FineTuner":
        import torch

        meta = torch.load(os.path.join(directory, "head.pt"), weights_only=True)
        self.n_classes_ = int(meta["n_classes"])
        if self.mode == "lora":
            from peft import PeftModel

            self.model_ = PeftModel.from_pretrained(copy.deepcopy(self.encoder.model), directory).eval()
        else:
            from transformers import AutoModel

            self.model_ = AutoModel.from_pretrained(os.path.join(directory, "encoder")).eval()
        self.head_ = torch.nn.Linear(self.encoder.dim, self.n_classes_)
        self.head_.load_state_dict(meta["head"])
        self.head_.eval()
        return self


def _layers(model):
    """The stack of transformer blocks, for BERT-like and most other encoders."""
    for path in ("encoder.layer", "layers", "transformer.layer", "h", "encoder.layers"):
        obj = model
        try:
            for part in path.split("."):
                obj = getattr(obj, part)
            return list(obj)
        except AttributeError:
            continue
    raise ConfigError("cannot find the transformer layers of this encoder for last_n fine-tuning; use mode='full' or 'lora'")


def _lora_targets(model) -> list[str]:
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as known

    targets = known.get(getattr(model.config, "model_type", ""), None)
    if targets:
        return list(targets)
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    guess = [n for n in ("query", "value", "q_proj", "v_proj", "q_lin", "v_lin", "c_attn") if n in names]
    if not guess:
        raise ConfigError("cannot tell which layers LoRA should adapt in this encoder; use mode='full'")
    return guess
