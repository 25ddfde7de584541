"""Listing compliance audit: YAML rule packs (China pack shipped), pure checks, the auditor."""

from .auditor import Auditor, Reason, Verdict, validate_listing
from .rules import CODES, PackError, RulePack, load_pack, parse_pack

__all__ = ["Auditor", "Reason", "Verdict", "validate_listing", "CODES", "PackError", "RulePack", "load_pack",
           "parse_pack"]
