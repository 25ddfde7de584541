"""CCC applies to the device, not to accessories named after it (English titles put the product last)."""

import pytest

from ecomops.ops.audit.auditor import Auditor
from ecomops.ops.audit.rules import load_pack


def _ccc(title):
    v = Auditor(load_pack()).audit({"listing_id": "x", "merchant_id": "m", "title": title, "description": "",
                                    "category": "electronics", "attributes": {}, "certifications": [],
                                    "price": 1000, "currency": "CNY"})
    return any(r.code == "missing_certification" for r in v.reasons)


@pytest.mark.parametrize("title", ["TRENDIEZ 15.6 inch Laptop Backpack", "IBS Plastic Portable Laptop Table",
                                   "Car Mount Holder for mobile phone upto 6 inches", "Mobile Phone Lens kit",
                                   "Fast Charging cable for All Smartphone like Samsung", "HP laptop battery 6 cell"])
def test_accessories_need_no_ccc(title):
    assert not _ccc(title)


@pytest.mark.parametrize("title", ["Dell Inspiron 15 Laptop with battery backup", "Samsung Galaxy M31 smartphone 6GB",
                                   "4G mobile phone with dual sim and battery", "65W laptop charger for MacBook",
                                   "Lenovo IdeaPad laptop"])
def test_devices_still_need_ccc(title):
    assert _ccc(title)
