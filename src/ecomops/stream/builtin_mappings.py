"""Built-in mappings for the real datasets in ``../shared/data`` (see its README).

``online_retail`` (UCI Online Retail, ``online_retail/online_retail_subset70k.csv``)
    One UK online wholesaler, merchant ``uci-online-retail``, prices in GBP. A CSV row is one
    order line; consecutive rows with the same ``InvoiceNo`` become ONE event:

    - an ``order`` (order_id = InvoiceNo, buyer_id = CustomerID, country, one line per row;
      postage, fees, discounts and manual lines get ``category="non_product"``);
    - a ``cancel`` when InvoiceNo starts with ``C`` (a credit note; the data does not name the
      original invoice, so ``order_id`` is the credit note's own number, e.g. ``C536379``);
    - a dead letter (code ``missing_buyer``) when CustomerID is empty: about 39% of rows are
      anonymous sales and a buyer-level model cannot use them. Option
      ``missing_customer="guest"`` keeps them as orders of buyer ``guest`` (one big pseudo-buyer),
      ``"guest_per_invoice"`` as buyer ``guest-<InvoiceNo>`` (each a one-off buyer).
    - a dead letter (code ``bad_value``) for an invoice with a non-positive quantity (stock
      write-offs) or a negative price: such an invoice is not a sale.

    ``ts`` = InvoiceDate of the first row (UTC; the shop's clock is UK time, GMT in winter);
    ``event_id`` = ``uci-online-retail:<InvoiceNo>``, deterministic. An invoice repeated later
    in the file (not consecutive) yields the same event_id again: the engine's duplicate check
    reports it instead of counting the invoice twice.

``fraud_data`` (Kaggle Fraud_Data, ``fraud/Fraud_Data_subset.csv``)
    Merchant ``fraud-data``, prices in USD. Each row gives an ``order`` (buyer_id = account_id =
    user_id, device_id, channel = source, account_created_ts = signup_time, one line with
    unit_price = purchase_value, quantity 1) and a ``feedback`` event for the risk model
    (target_id = the order's event_id, verdict ``fake_order``/``legit``, label = class).
    Dates ``M/D/YY H:MM`` are read as UTC. browser, sex and age have no event field and are
    left out. The file is NOT sorted by time: replay is in file order (open the source with
    ``sort="ts"`` to replay by time, which reads the whole file first). Its last row is
    truncated (empty class, no newline): it becomes one dead letter, code ``truncated``.

>>> m = online_retail()
>>> rows = [{"InvoiceNo": "536365", "StockCode": "85123A", "Quantity": "6",
...          "InvoiceDate": "2010-12-01 08:26", "UnitPrice": "2.55", "CustomerID": "17850",
...          "Country": "United Kingdom"}]
>>> ev = m.apply(rows)[0]
>>> ev["type"], ev["event_id"], ev["lines"]
('order', 'uci-online-retail:536365', [{'product_id': '85123A', 'quantity': 6, 'unit_price': 2.55}])
>>> m.apply([dict(rows[0], CustomerID="")])[0].code
'missing_buyer'
"""

from __future__ import annotations

from typing import Any, Callable

from ..core.errors import SourceError
from .mapping import Mapping, MappingError, Row, to_timestamp
from .mapspec import compile_spec

RETAIL_MERCHANT = "uci-online-retail"
RETAIL_COLUMNS = ("InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country")
# Stock codes that are not goods: postage, carriage, manual, fees, discounts, samples.
NON_PRODUCT_CODES = frozenset(
    {"POST", "DOT", "C2", "M", "m", "D", "S", "B", "CRUK", "PADS", "AMAZONFEE", "BANK CHARGES"}
)
MISSING_CUSTOMER = ("dead_letter", "guest", "guest_per_invoice")


def online_retail(missing_customer: str = "dead_letter") -> Mapping:
    """The UCI Online Retail mapping; ``missing_customer`` in dead_letter | guest | guest_per_invoice."""
    if missing_customer not in MISSING_CUSTOMER:
        raise SourceError(f"online_retail: missing_customer must be one of {', '.join(MISSING_CUSTOMER)}")

    def fn(rows: list[Row]) -> list[dict]:
        return [_invoice(rows, missing_customer)]

    return Mapping(fn=fn, name="online_retail", group_by="InvoiceNo", columns=RETAIL_COLUMNS)


def _cell(row: Row, col: str) -> str:
    v = row.get(col)
    return "" if v is None else str(v).strip()


def _number(row: Row, col: str, inv: str, kind: Callable[[str], Any]) -> Any:
    text = _cell(row, col)
    try:
        f = float(text)
        if kind is int:
            if not f.is_integer():
                raise ValueError("not a whole number")
            return int(f)
        return f
    except (ValueError, OverflowError):
        raise MappingError("bad_value", f"invoice {inv}: {col} {text!r} is not a number") from None


def _invoice(rows: list[Row], missing_customer: str) -> dict:
    first = rows[0]
    inv = _cell(first, "InvoiceNo")
    if not inv:
        raise MappingError("missing_value", "InvoiceNo is empty")
    customer = _cell(first, "CustomerID")
    if customer.endswith(".0"):  # some exports of this dataset store the id as a float
        customer = customer[:-2]
    if not customer:
        if missing_customer == "dead_letter":
            raise MappingError(
                "missing_buyer",
                f"invoice {inv} ({len(rows)} line(s)) has no CustomerID: the data does not say which buyer "
                "placed it; open the source with mapping option missing_customer=guest to keep such invoices",
            )
        customer = "guest" if missing_customer == "guest" else f"guest-{inv}"
    date_text = _cell(first, "InvoiceDate")
    try:
        ts = to_timestamp(date_text) if "/" not in date_text else to_timestamp(date_text, "%m/%d/%Y %H:%M")
    except (ValueError, OverflowError):
        raise MappingError("bad_value", f"invoice {inv}: InvoiceDate {date_text!r} is not a date") from None
    cancel = inv[:1] in ("C", "c")
    lines, items, value = [], 0, 0.0
    for row in rows:
        code = _cell(row, "StockCode")
        if not code:
            raise MappingError("missing_value", f"invoice {inv}: a line has no StockCode")
        qty = _number(row, "Quantity", inv, int)
        price = _number(row, "UnitPrice", inv, float)
        if price < 0:
            raise MappingError("bad_value", f"invoice {inv}: line {code} has negative UnitPrice {price}")
        if not cancel and qty <= 0:
            raise MappingError(
                "bad_value",
                f"invoice {inv}: line {code} has Quantity {qty} but the invoice is not a cancellation "
                "(no C prefix): a stock adjustment, not a sale",
            )
        items += abs(qty)
        value += abs(qty) * price
        if not cancel:
            line = {"product_id": code, "quantity": qty, "unit_price": price}
            if code in NON_PRODUCT_CODES:
                line["category"] = "non_product"
            lines.append(line)
    base = {"event_id": f"{RETAIL_MERCHANT}:{inv}", "merchant_id": RETAIL_MERCHANT, "ts": ts}
    if cancel:
        reason = f"credit note {inv} of buyer {customer}: {len(rows)} line(s), {items} item(s), {value:.2f} GBP"
        return {"type": "cancel", **base, "order_id": inv, "reason": reason}
    order = {"type": "order", **base, "order_id": inv, "buyer_id": customer, "lines": lines, "currency": "GBP"}
    country = _cell(first, "Country")
    if country:
        order["country"] = country
    return order


_FRAUD_TIME = "%m/%d/%y %H:%M"
FRAUD_DATA_SPEC: dict = {
    "name": "fraud_data",
    "description": "Kaggle Fraud_Data: one order plus its fraud verdict per row",
    "events": [
        {
            "type": "order",
            "event_id": "fraud-data:{user_id}",
            "merchant_id": "fraud-data",
            "ts": {"col": "purchase_time", "as": "ts", "format": _FRAUD_TIME},
            "order_id": "{user_id}",
            "buyer_id": "{user_id}",
            "account_id": "{user_id}",
            "device_id": {"col": "device_id", "optional": True},
            "channel": {"col": "source", "optional": True},
            "account_created_ts": {"col": "signup_time", "as": "ts", "format": _FRAUD_TIME, "optional": True},
            "currency": "USD",
            "lines": [{"product_id": "purchase", "quantity": 1,
                       "unit_price": {"col": "purchase_value", "as": "float"}}],
        },
        {
            "type": "feedback",
            "event_id": "fraud-data:{user_id}:verdict",
            "merchant_id": "fraud-data",
            "ts": {"col": "purchase_time", "as": "ts", "format": _FRAUD_TIME},
            "target_id": "fraud-data:{user_id}",
            "model": "risk",
            "verdict": {"col": "class", "map": {"1": "fake_order", "0": "legit"}},
            "label": {"col": "class", "as": "float"},
        },
    ],
}


def fraud_data() -> Mapping:
    """The Fraud_Data mapping (a declarative spec: see :data:`FRAUD_DATA_SPEC`)."""
    return compile_spec(FRAUD_DATA_SPEC)


BUILTIN: dict[str, Callable[..., Mapping]] = {"online_retail": online_retail, "fraud_data": fraud_data}

__all__ = ["BUILTIN", "FRAUD_DATA_SPEC", "online_retail", "fraud_data"]
