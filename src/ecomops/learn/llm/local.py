"""A local Hugging Face causal LM, loaded from a folder (no download), with hot-reloaded adapters.

Adapters trained by :class:`~ecomops.learn.llm.tuning.IncrementalTuner` are saved as numbered
versions under ``adapters/``; :meth:`LocalCausalLM.refresh` switches to the newest one between two
requests, so a service keeps answering while it learns.

>>> lm = LocalCausalLM("models/qwen2.5-0.5b-instruct")                 # doctest: +SKIP
>>> lm.generate([Message("user", "hello")], max_tokens=20).text        # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from ...core.errors import ConfigError
from .base import Generation, Message, cited_markers, grounded_messages

__all__ = ["LocalCausalLM", "render_prompt"]


def render_prompt(tokenizer, messages: Sequence[Message]) -> str:
    """The model's own chat template when it has one, else a plain ``role: text`` transcript."""
    msgs = [{"role": m.role, "content": m.content} for m in messages]
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    return "".join(f"{m['role']}: {m['content']}\n" for m in msgs) + "assistant:"


class LocalCausalLM:
    def __init__(self, path: str | os.PathLike, *, adapters: str | os.PathLike | None = None, device: str = "cpu",
                 max_input_tokens: int = 2048, quantize: bool = False):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        self.path = Path(path)
        if not (self.path / "config.json").exists():
            raise ConfigError(f"{self.path}: not a Hugging Face model folder (no config.json)")
        self.name = self.path.name
        self.device = device
        self.max_input_tokens = max_input_tokens
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        self.base = AutoModelForCausalLM.from_pretrained(self.path, dtype=torch.float32).to(device).eval()
        self.quantize = quantize
        self.model = self._serving(self.base)
        self.adapters = Path(adapters) if adapters else None
        self.adapter_version: int | None = None
        self.refresh()

    def refresh(self) -> int | None:
        """Load the newest adapter version if it is newer than the one in use; returns the version."""
        if self.adapters is None:
            return None
        from .tuning import AdapterRegistry

        latest = AdapterRegistry(self.adapters).latest()
        if latest is not None and latest[0] != self.adapter_version:
            version, folder = latest
            self.model = self._serving(AdapterRegistry.load_into(self.base, folder).eval())
            self.adapter_version = version
        return self.adapter_version

    def _serving(self, model):
        """The model that answers: int8 when asked (LoRA merged in first: int8 layers take no adapters)."""
        if not self.quantize:
            return model
        from ..quantize import quantize_int8

        if hasattr(model, "merge_and_unload"):
            model = model.merge_and_unload()
        return quantize_int8(model)

    def generate(self, messages: Sequence[Message], *, passages: Sequence[str] = (), max_tokens: int = 256,
                 temperature: float = 0.0) -> Generation:
        import torch

        prompt = render_prompt(self.tokenizer, grounded_messages(messages, passages))
        ids = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
        ids = ids[:, -self.max_input_tokens :].to(self.device)  # keep the end: the question sits there
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_tokens,
                do_sample=temperature > 0, temperature=temperature if temperature > 0 else None,
                top_p=None, top_k=None, pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id or 0,
            )
        new = out[0, ids.shape[1] :]
        text = self.tokenizer.decode(new, skip_special_tokens=True).strip()
        return Generation(text, self.name + (f"+adapter-v{self.adapter_version}" if self.adapter_version else ""),
                          cited=cited_markers(text, len(passages)), prompt_tokens=int(ids.shape[1]),
                          completion_tokens=int(new.shape[0]))
