"""Dense vectors for the knowledge base: which encoder, and vectors to and from bytes.

The encoder is anything with ``encode(texts) -> (n, d) float32`` unit vectors and a
``fingerprint`` string (vectors from another fingerprint are recomputed, never mixed). The default
is the bundled MiniLM (:class:`ecomops.learn.transfer.encoder.TextEncoder`), loaded once per
process. Without torch/transformers, :func:`load_encoder` returns ``(None, reason)`` and the
knowledge base searches with BM25 only.

>>> v = np.array([[0.6, 0.8]], dtype=np.float32)
>>> from_bytes(to_bytes(v[0]), 2).tolist()
[0.6000000238418579, 0.800000011920929]
>>> load_encoder(None)
(None, 'dense retrieval off (no encoder)')
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol, Sequence

import numpy as np

from ..core.errors import ConfigError

__all__ = ["Encoder", "load_encoder", "to_bytes", "from_bytes"]

log = logging.getLogger("ecomops.knowledge")

_LOADED: dict[str, Any] = {}
_LOCK = threading.Lock()


class Encoder(Protocol):
    fingerprint: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def load_encoder(spec: Any = "default") -> tuple[Any | None, str | None]:
    """``(encoder, None)``, or ``(None, why)`` when dense retrieval is off.

    ``spec``: ``"default"`` / a local model directory (loaded once per process), ``None`` or
    ``"none"`` (BM25 only), or an encoder object (returned as is).
    """
    if spec is None or (isinstance(spec, str) and spec.lower() in ("none", "off", "")):
        return None, "dense retrieval off (no encoder)"
    if not isinstance(spec, str):
        if not hasattr(spec, "encode") or not hasattr(spec, "fingerprint"):
            raise ConfigError("a knowledge-base encoder needs an encode(texts) method and a fingerprint attribute")
        return spec, None
    with _LOCK:
        if spec in _LOADED:
            return _LOADED[spec], None
        try:
            from ..learn.transfer.encoder import TextEncoder

            enc = TextEncoder(spec)
        except ImportError as exc:
            why = f"dense retrieval off: the text encoder needs torch and transformers ({exc}); using BM25 only"
            log.warning(why)
            return None, why
        except ConfigError as exc:
            if spec == "default":  # the bundled model's package is missing: degrade, say so
                why = f"dense retrieval off: {exc}; using BM25 only"
                log.warning(why)
                return None, why
            raise
        _LOADED[spec] = enc
        return enc, None


def to_bytes(vec: np.ndarray) -> bytes:
    return np.asarray(vec, dtype="<f4").tobytes()


def from_bytes(blob: bytes, dim: int | None = None) -> np.ndarray:
    v = np.frombuffer(blob, dtype="<f4")
    if dim is not None and v.size != dim:
        raise ValueError(f"stored vector has {v.size} dimensions, the encoder {dim}")
    return v
