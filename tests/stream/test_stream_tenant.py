"""Records accepted for one merchant (the service's API keys) stay that merchant's."""

from ecomops.core.events import View
from ecomops.stream.base import Record
from ecomops.stream.intake import DeadLetter, parse

VIEW = b'{"type": "view", "event_id": "e1", "merchant_id": "%s", "ts": 1, "buyer_id": "b", "product_id": "p"}'


def test_tenant_records_yield_only_the_tenants_events():
    assert isinstance(parse(Record(0, VIEW % b"m1", tenant="m1")), View)
    d = parse(Record(1, VIEW % b"m2", tenant="m1", source="api"))
    assert isinstance(d, DeadLetter) and (d.code, d.merchant_id, d.event_id) == ("wrong_merchant", "m1", "e1")
    assert "'m2'" in d.reason and d.raw == VIEW % b"m2"


def test_tenant_owns_the_dead_letters_whatever_the_payload_claims():
    broken = b'{"type": "view", "event_id": "e2", "merchant_id": "m2", "ts": '
    assert parse(Record(0, broken)).merchant_id == "m2"  # a trusted source: best-effort attribution
    assert parse(Record(0, broken, tenant="m1")).merchant_id == "m1"
    assert parse(Record(0, b"x", ("malformed", "bad line"), tenant="m1")).merchant_id == "m1"
