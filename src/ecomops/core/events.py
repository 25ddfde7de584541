"""Typed schemas for B2B operations events, validated with msgspec.

Every event carries ``event_id`` (idempotency key), ``merchant_id`` (tenant) and
``ts`` (seconds since the Unix epoch, UTC). The ``type`` field selects the schema.

>>> from ecomops.core.events import decode_event
>>> ev = decode_event(b'{"type": "view", "event_id": "e1", "merchant_id": "m1",'
...                   b' "ts": 1700000000, "buyer_id": "b1", "product_id": "p1"}')
>>> type(ev).__name__, ev.buyer_id
('View', 'b1')
>>> decode_event(b'{"type": "view", "event_id": "e1"}')
Traceback (most recent call last):
...
ecomops.core.errors.ValidationError: Object missing required field `buyer_id`
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Union

import msgspec
from msgspec import Meta, Struct

from .errors import ValidationError

# Limits: generous for real B2B data, tight enough that one bad producer
# cannot blow up memory or the store.
MAX_ID = 128
MAX_SHORT = 512
MAX_TEXT = 20_000
MAX_LINES = 1_000
MAX_PAYLOAD_BYTES = 256 * 1024

Id = Annotated[str, Meta(min_length=1, max_length=MAX_ID)]
Short = Annotated[str, Meta(max_length=MAX_SHORT)]
Text = Annotated[str, Meta(max_length=MAX_TEXT)]
# ge/le comparisons are False for NaN, and le rejects inf: constraints double as finiteness checks.
Money = Annotated[float, Meta(ge=0.0, le=1e12)]
Timestamp = Annotated[float, Meta(ge=0.0, le=32503680000.0)]  # up to year 3000
Quantity = Annotated[int, Meta(gt=0, le=10_000_000)]
Stock = Annotated[int, Meta(ge=0, le=10_000_000_000)]
Days = Annotated[float, Meta(ge=0.0, le=3650.0)]
Rating = Annotated[int, Meta(ge=1, le=5)]
Label = Annotated[float, Meta(ge=0.0, le=1.0)]


class Event(Struct, kw_only=True, frozen=True, tag_field="type", forbid_unknown_fields=False, omit_defaults=True):
    """Fields common to every event."""

    event_id: Id
    merchant_id: Id
    ts: Timestamp

    @property
    def type(self) -> str:
        return self.__struct_config__.tag  # type: ignore[return-value]


class View(Event, tag="view"):
    """A business buyer looked at a product page."""

    buyer_id: Id
    product_id: Id
    session_id: Id | None = None
    category: Short | None = None


class Click(Event, tag="click"):
    """A buyer clicked a product in a list (search, recommendation, promotion)."""

    buyer_id: Id
    product_id: Id
    session_id: Id | None = None
    category: Short | None = None
    position: Annotated[int, Meta(ge=0, le=10_000)] | None = None


class AddToCart(Event, tag="add_to_cart"):
    buyer_id: Id
    product_id: Id
    quantity: Quantity = 1
    session_id: Id | None = None


class OrderLine(Struct, frozen=True, forbid_unknown_fields=False, omit_defaults=True):
    product_id: Id
    quantity: Quantity
    unit_price: Money
    category: Short | None = None


class Order(Event, tag="order"):
    """A purchase order from a buyer company; ``account_id`` is the person/account inside it."""

    order_id: Id
    buyer_id: Id
    lines: Annotated[list[OrderLine], Meta(min_length=1, max_length=MAX_LINES)]
    currency: Annotated[str, Meta(min_length=3, max_length=3)] = "CNY"
    account_id: Id | None = None
    device_id: Id | None = None
    ip: Short | None = None
    channel: Short | None = None
    account_created_ts: Timestamp | None = None
    country: Short | None = None

    @property
    def total(self) -> float:
        return sum(line.quantity * line.unit_price for line in self.lines)


class Payment(Event, tag="payment"):
    order_id: Id
    amount: Money
    method: Short = "unknown"


class Refund(Event, tag="refund"):
    order_id: Id
    amount: Money | None = None
    reason: Short | None = None


class Cancel(Event, tag="cancel"):
    order_id: Id
    reason: Short | None = None


class Inventory(Event, tag="inventory"):
    """Stock snapshot of one product: on hand, inbound on order, supplier lead time."""

    product_id: Id
    stock_level: Stock
    inbound: Stock = 0
    lead_time_days: Days | None = None
    warehouse_id: Id | None = None


class Listing(Event, tag="listing"):
    """A product listing as the merchant published it (audited for compliance)."""

    product_id: Id
    title: Short
    category: Short
    price: Money
    description: Text = ""
    attributes: Annotated[dict[Short, Short], Meta(max_length=200)] = {}
    certifications: Annotated[list[Short], Meta(max_length=100)] = []
    currency: Annotated[str, Meta(min_length=3, max_length=3)] = "CNY"


class Review(Event, tag="review"):
    product_id: Id
    buyer_id: Id
    rating: Rating
    text: Text = ""
    order_id: Id | None = None


class Ticket(Event, tag="ticket"):
    """A customer-service message from a buyer."""

    ticket_id: Id
    buyer_id: Id
    message: Text
    order_id: Id | None = None


class Feedback(Event, tag="feedback"):
    """A person's (or a later system's) verdict on something a model scored.

    ``target_id`` is the ``event_id`` of the scored event (an order for the risk model,
    a listing for audit). ``label`` in [0, 1] is the learnable truth when there is one,
    e.g. 1.0 = confirmed fake order.
    """

    target_id: Id
    model: Short
    verdict: Short
    label: Label | None = None
    comment: Text | None = None


# A knowledge-base document: ids and kinds fit the store's columns; the text is bounded by the
# payload limit only (a regulation can be long). Emptiness is checked where the document is
# read (ecomops.knowledge.loaders.documents_from_event), which names the problem.
DocId = Annotated[str, Meta(max_length=512)]
DocText = Annotated[str, Meta(max_length=MAX_PAYLOAD_BYTES)]
DocKind = Annotated[str, Meta(max_length=32)]


class DocumentItem(Struct, frozen=True, forbid_unknown_fields=False, omit_defaults=True):
    doc_id: DocId
    text: DocText
    title: Short | None = None
    kind: DocKind | None = None
    source: Short | None = None


class DocumentUpdate(Event, tag="document"):
    """A policy, regulation or FAQ update published for the merchant's knowledge base.

    Either one document (``doc_id`` and ``text``, optional ``title``, ``kind``, ``source``) or
    several (``documents``). A ``doc_id`` the merchant already has gets a new version.
    """

    doc_id: DocId | None = None
    text: DocText | None = None
    title: Short | None = None
    kind: DocKind | None = None
    source: Short | None = None
    documents: Annotated[list[DocumentItem], Meta(max_length=MAX_LINES)] | None = None


EventUnion = Union[
    View, Click, AddToCart, Order, Payment, Refund, Cancel, Inventory, Listing, Review, Ticket, Feedback,
    DocumentUpdate,
]
EVENT_TYPES: dict[str, type[Event]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in (View, Click, AddToCart, Order, Payment, Refund, Cancel, Inventory, Listing, Review, Ticket, Feedback,
                DocumentUpdate)
}

_json_decoder = msgspec.json.Decoder(EventUnion)
_json_encoder = msgspec.json.Encoder()


def _reason(exc: Exception) -> str:
    msg = str(exc)
    return msg if msg else exc.__class__.__name__


def decode_event(payload: bytes | bytearray | memoryview | str) -> Event:
    """Parse and validate one JSON event. Raises :class:`ValidationError` with a precise reason."""
    if isinstance(payload, str):
        try:
            payload = payload.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates
            raise ValidationError(f"invalid UTF-8: {exc.reason}", "encoding") from None
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValidationError(
            f"payload is {len(payload)} bytes, more than the {MAX_PAYLOAD_BYTES} allowed", "oversized"
        )
    try:
        return _json_decoder.decode(payload)
    except msgspec.ValidationError as exc:
        raise ValidationError(_reason(exc), _code(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise ValidationError(f"malformed JSON: {_reason(exc)}", "malformed") from None
    except UnicodeDecodeError as exc:
        raise ValidationError(f"invalid UTF-8 at byte {exc.start}: {exc.reason}", "encoding") from None


def event_from_dict(record: dict[str, Any]) -> Event:
    """Validate a Python mapping (from CSV, Parquet, Redis fields) into a typed event."""
    if not isinstance(record, dict):
        raise ValidationError(f"expected an object, got {type(record).__name__}", "malformed")
    _check_floats(record, "$")
    try:
        return msgspec.convert(record, EventUnion, strict=False)
    except msgspec.ValidationError as exc:
        raise ValidationError(_reason(exc), _code(str(exc))) from None


def encode_event(event: Event) -> bytes:
    return _json_encoder.encode(event)


def event_to_dict(event: Event) -> dict[str, Any]:
    return msgspec.to_builtins(event)


def _code(msg: str) -> str:
    if "Invalid value" in msg and "$.type" in msg or "required field `type`" in msg:
        return "unknown_type"
    if "missing required field" in msg:
        return "missing_field"
    if "length" in msg:
        return "oversized" if "<=" in msg else "invalid"
    if "Expected" in msg:
        return "wrong_type"
    return "invalid"


def _check_floats(obj: Any, path: str) -> None:
    # Every float field carries ge/le constraints, which already reject NaN and inf (also from
    # "nan" strings that strict=False converts); this pass only names the problem plainly.
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValidationError(f"non-finite number {obj!r} - at `{path}`", "non_finite")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _check_floats(v, f"{path}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_floats(v, f"{path}[{i}]")
