"""Listing compliance audit: YAML rule packs (China pack shipped), pure checks, the auditor,
a learned category classifier and regulation citations from the knowledge base."""

from .auditor import Auditor, Reason, Verdict, load_pack_into_kb, regulation_doc_id, validate_listing
from .category import CategoryClassifier
from .rules import CODES, PackError, RulePack, load_pack, parse_pack

__all__ = ["Auditor", "Reason", "Verdict", "validate_listing", "load_pack_into_kb", "regulation_doc_id",
           "CategoryClassifier", "CODES", "PackError", "RulePack", "load_pack", "parse_pack"]
