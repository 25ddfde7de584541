"""Event builders shared by the stream tests."""

from __future__ import annotations


def view(i: int, merchant: str = "m1") -> dict:
    """A valid view event dict with event_id ``e<i>``."""
    return {"type": "view", "event_id": f"e{i}", "merchant_id": merchant, "ts": 1_700_000_000 + i,
            "buyer_id": f"b{i % 7}", "product_id": f"p{i % 11}"}
