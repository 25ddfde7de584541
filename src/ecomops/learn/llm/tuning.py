"""Incremental tuning of a local causal LM from new feedback: LoRA adapters or the last N layers.

Each :meth:`IncrementalTuner.update` starts from the newest saved version (so learning
accumulates), trains on the new (prompt, answer) pairs -- the loss counts the answer tokens only
-- and saves the result as the next numbered version in an :class:`AdapterRegistry`. Serving
processes pick it up with :meth:`LocalCausalLM.refresh` (hot reload); a bad version is rolled back
by deleting its folder.

>>> tuner = IncrementalTuner("models/tiny-gpt2", "adapters/", mode="lora")     # doctest: +SKIP
>>> tuner.update([("Where do you ship from?", "From our Ningbo warehouse.")])   # doctest: +SKIP
{'version': 1, 'loss_before': 4.1, 'loss_after': 0.9, 'examples': 1, 'steps': 30}
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from ...core.errors import ConfigError
from .base import Message
from .local import render_prompt

__all__ = ["IncrementalTuner", "AdapterRegistry"]


class AdapterRegistry:
    """Numbered adapter versions in a folder: ``v0001/``, ``v0002/``, ... each with ``meta.json``."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def versions(self) -> list[tuple[int, Path]]:
        if not self.root.is_dir():
            return []
        out = []
        for d in self.root.iterdir():
            if d.is_dir() and d.name.startswith("v") and d.name[1:].isdigit() and (d / "meta.json").exists():
                out.append((int(d.name[1:]), d))
        return sorted(out)

    def latest(self) -> tuple[int, Path] | None:
        v = self.versions()
        return v[-1] if v else None

    def save(self, model, mode: str, meta: dict) -> tuple[int, Path]:
        """Write to a temporary folder, then rename: a reader never sees half a version."""
        latest = self.latest()
        version = (latest[0] if latest else 0) + 1
        final = self.root / f"v{version:04d}"
        tmp = self.root / f".tmp-v{version:04d}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if mode == "lora":
            model.save_pretrained(tmp)
        else:
            import torch

            trainable = {n for n, p in model.named_parameters() if p.requires_grad}
            torch.save({k: v for k, v in model.state_dict().items() if k in trainable}, tmp / "layers.pt")
        (tmp / "meta.json").write_text(json.dumps({"version": version, "mode": mode, **meta}, indent=2))
        os.replace(tmp, final)
        return version, final

    @staticmethod
    def load_into(base, folder: Path, trainable: bool = False):
        """A copy of ``base`` with the adapter in ``folder`` applied (``base`` itself is untouched)."""
        meta = json.loads((folder / "meta.json").read_text())
        model = copy.deepcopy(base)
        if meta["mode"] == "lora":
            from peft import PeftModel

            return PeftModel.from_pretrained(model, folder, is_trainable=trainable)
        import torch

        model.load_state_dict(torch.load(folder / "layers.pt", weights_only=True), strict=False)
        return model


class IncrementalTuner:
    def __init__(self, model_path: str | os.PathLike, adapters: str | os.PathLike, *, mode: str = "lora",
                 n_layers: int = 2, lora_r: int = 8, lora_alpha: int = 16, lora_targets=None, lr: float | None = None,
                 min_steps: int = 30, batch_size: int = 8, max_length: int = 256, seed: int = 0):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if mode not in ("lora", "last_n"):
            raise ConfigError(f"incremental tuning mode must be 'lora' or 'last_n', not {mode!r}")
        self.mode, self.n_layers = mode, n_layers
        self.lora_r, self.lora_alpha, self.lora_targets = lora_r, lora_alpha, lora_targets
        self.lr = lr or (1e-3 if mode == "lora" else 1e-4)
        self.min_steps, self.batch_size, self.max_length, self.seed = min_steps, batch_size, max_length, seed
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.base = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32).eval()
        self.registry = AdapterRegistry(adapters)

    def _trainable_model(self):
        latest = self.registry.latest()
        if latest is not None:
            model = AdapterRegistry.load_into(self.base, latest[1], trainable=True)
        elif self.mode == "lora":
            from peft import LoraConfig, get_peft_model

            model = get_peft_model(copy.deepcopy(self.base), LoraConfig(
                r=self.lora_r, lora_alpha=self.lora_alpha, lora_dropout=0.0, task_type="CAUSAL_LM",
                target_modules=self.lora_targets))  # None: PEFT's default for the architecture
        else:
            model = copy.deepcopy(self.base)
        if self.mode == "last_n":
            from ..transfer.finetune import _layers

            for p in model.parameters():
                p.requires_grad_(False)
            body = getattr(model, getattr(model, "base_model_prefix", ""), model)
            for layer in _layers(body)[-self.n_layers :]:
                for p in layer.parameters():
                    p.requires_grad_(True)
        return model

    def _encode(self, examples):
        rows = []
        for prompt, answer in examples:
            msgs = prompt if isinstance(prompt, (list, tuple)) else [Message("user", str(prompt))]
            p = self.tokenizer(render_prompt(self.tokenizer, msgs), add_special_tokens=False)["input_ids"]
            a = self.tokenizer(" " + str(answer).strip(), add_special_tokens=False)["input_ids"]
            if self.tokenizer.eos_token_id is not None:
                a = a + [self.tokenizer.eos_token_id]
            p = p[-max(1, self.max_length - len(a)) :]
            rows.append((p + a, len(p)))
        return rows

    def _loss(self, model, rows):
        import torch

        width = max(len(ids) for ids, _ in rows)
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, (seq, n_prompt) in enumerate(rows):
            ids[i, : len(seq)] = torch.tensor(seq)
            mask[i, : len(seq)] = 1
            labels[i, n_prompt : len(seq)] = torch.tensor(seq[n_prompt:])  # the answer only
        return model(input_ids=ids, attention_mask=mask, labels=labels).loss

    def update(self, examples: Sequence[tuple], *, note: str = "") -> dict:
        """Train on new (prompt, answer) pairs from the newest version; save and return the next one."""
        import torch

        if not examples:
            raise ConfigError("no feedback examples to learn from")
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        rows = self._encode(examples)
        model = self._trainable_model().train()
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=self.lr, weight_decay=0.0)
        with torch.no_grad():
            before = float(self._loss(model.eval(), rows))
        model.train()
        steps = max(self.min_steps, int(np.ceil(len(rows) / self.batch_size)))
        history = []
        for _ in range(steps):
            batch = [rows[i] for i in rng.choice(len(rows), min(self.batch_size, len(rows)), replace=False)]
            loss = self._loss(model, batch)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            history.append(float(loss.detach()))
        with torch.no_grad():
            after = float(self._loss(model.eval(), rows))
        version, _ = self.registry.save(model, self.mode, {"examples": len(rows), "steps": steps, "loss_before": before,
                                                           "loss_after": after, "note": note, "created_at": time.time()})
        return {"version": version, "loss_before": round(before, 4), "loss_after": round(after, 4),
                "examples": len(rows), "steps": steps, "history": history}
