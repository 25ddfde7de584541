"""8-bit dynamic quantization for CPU inference: int8 weights, activations quantized on the fly.

Used by the text encoder (``TextEncoder(quantize=True)``) and the local language model
(``LocalCausalLM(quantize=True)``). Per-channel weight scales are the default: MiniLM's
embeddings drift much further with a single scale per matrix (cosine to the float vectors 0.88
per tensor vs 0.98 per channel on reviews). ``benchmarks/quantization.py`` measures the speed-up
and the accuracy change. GPT-2 style ``Conv1D`` projections are turned into ``nn.Linear`` first,
so they are quantized too. The language-model head stays in float by default: it is tied to the
input embeddings and is where rounding hurts most.

>>> import torch
>>> m = torch.nn.Sequential(torch.nn.Linear(16, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
>>> q = quantize_int8(m)
>>> [type(x).__name__ for x in q]
['Linear', 'ReLU', 'Linear']
>>> is_quantized(q), is_quantized(m)
(True, False)
"""

from __future__ import annotations

import copy
import warnings

__all__ = ["quantize_int8", "is_quantized"]


def quantize_int8(model, *, per_channel: bool = True, skip: tuple[str, ...] = ("lm_head",)):
    """A quantized copy of ``model`` (the original is left as it is)."""
    import torch
    from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic

    model = copy.deepcopy(model).eval()
    _conv1d_to_linear(model)
    qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
    spec = {name: qconfig for name, m in model.named_modules()
            if isinstance(m, torch.nn.Linear) and not any(s in name.split(".") for s in skip)}
    with warnings.catch_warnings():  # torch.ao points to torchao for *static* flows; dynamic int8 is what we use
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, spec, dtype=torch.qint8)


def is_quantized(model) -> bool:
    return any(type(m).__module__.startswith("torch.ao.nn.quantized") for m in model.modules())


def _conv1d_to_linear(model) -> None:
    import torch

    try:
        from transformers.pytorch_utils import Conv1D
    except ImportError:  # pragma: no cover - transformers is optional here
        return
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, Conv1D):
                n_in, n_out = child.weight.shape  # Conv1D stores (in, out)
                lin = torch.nn.Linear(n_in, n_out)
                with torch.no_grad():
                    lin.weight.copy_(child.weight.T)
                    lin.bias.copy_(child.bias)
                setattr(parent, name, lin)
