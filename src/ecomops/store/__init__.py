"""Layer 2: persistence. Every row is keyed by ``merchant_id``; reads go through :class:`MerchantScope`."""

from .db import ALL_MERCHANTS, AlertRow, Checkpoint, DeadLetterRow, KbChunk, KbDocument, MerchantScope, Store

__all__ = ["ALL_MERCHANTS", "AlertRow", "Checkpoint", "DeadLetterRow", "KbChunk", "KbDocument", "MerchantScope", "Store"]
