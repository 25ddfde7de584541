"""Layer 3: the knowledge base, per merchant: versioned documents and hybrid (BM25 + dense) search.

Documents (policies, regulations, product specs, FAQ, past answers) come from files
(:func:`load_file`) or events (:func:`documents_from_event`); :class:`KnowledgeBase` versions,
chunks, stores (through :class:`ecomops.store.MerchantScope`) and searches them.
"""

from .base import Hit, KnowledgeBase
from .bm25 import BM25Index, tokenize
from .chunking import chunk_text
from .fusion import rrf
from .loaders import Document, documents_from_event, load_file

__all__ = ["BM25Index", "Document", "Hit", "KnowledgeBase", "chunk_text", "documents_from_event",
           "load_file", "rrf", "tokenize"]
