"""Fixtures for the listing-audit tests: a clean listing factory and the packs."""

from __future__ import annotations

import copy

import pytest
import yaml

from ecomops.ops.audit import Auditor
from ecomops.ops.audit.rules import DEFAULT_PACK

_BASE = {
    "listing_id": "L0", "merchant_id": "m01", "title": "Deli 得力 订书机 stapler 省力型",
    "description": "厂家直供，支持批量采购与定制。 最小起订量 10 件，量大从优。 MOQ 10 units.",
    "category": "office_supplies", "attributes": {"material": "ABS", "pack_qty": "10"},
    "certifications": [], "price": 25.0, "currency": "CNY",
}


@pytest.fixture
def listing():
    """``listing(**overrides)``: a compliant listing with fields replaced."""
    def make(**kw):
        d = copy.deepcopy(_BASE)
        d.update(kw)
        return d
    return make


@pytest.fixture
def pack_data():
    """The China pack as a plain dict (a fresh copy to modify)."""
    return yaml.safe_load(DEFAULT_PACK.read_text(encoding="utf-8"))


@pytest.fixture
def auditor():
    return Auditor()
