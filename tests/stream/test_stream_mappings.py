"""Mappings: the two built-ins on snippets shaped like the real files, and the spec format."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from ecomops.core.errors import SourceError
from ecomops.core.events import Cancel, Feedback, Order
from ecomops.stream import DeadLetter, Mapping, MappingError, open_source, parse, resolve_mapping
from ecomops.stream.mapping import to_timestamp
from ecomops.stream.mapspec import compile_spec

# Header and row shapes copied from online_retail_subset70k.csv (values edited).
RETAIL = """InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26,2.55,17850,United Kingdom
536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26,3.39,17850,United Kingdom
536365,POST,POSTAGE,1,2010-12-01 08:27,18.0,17850,United Kingdom
536414,22139,,56,2010-12-01 11:52,0.0,,United Kingdom
536414,22140,,3,2010-12-01 11:52,1.0,,United Kingdom
C536379,D,Discount,-1,2010-12-01 09:41,27.5,14527,United Kingdom
C536379,22556,"PLASTERS IN TIN, CIRCUS PARADE",-12,2010-12-01 09:41,1.65,14527,United Kingdom
536589,21777,,-10,2010-12-01 16:50,0.0,,United Kingdom
536370,22728,ALARM CLOCK BAKELIKE PINK,24,2010-12-01 08:45,3.75,12583.0,France
"""


def _ts(text, fmt):
    return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc).timestamp()


def test_online_retail_groups_invoices_and_dead_letters_missing_buyers(tmp_path):
    path = tmp_path / "retail.csv"
    path.write_text(RETAIL)
    src = open_source(f"file:{path}", mapping="online_retail")
    recs = list(src.read())
    out = [parse(r) for r in recs]
    assert [type(o).__name__ for o in out] == ["Order", "DeadLetter", "Cancel", "DeadLetter", "Order"]
    order = out[0]
    assert isinstance(order, Order)
    assert (order.event_id, order.order_id, order.buyer_id, order.merchant_id, order.currency, order.country) == (
        "uci-online-retail:536365", "536365", "17850", "uci-online-retail", "GBP", "United Kingdom")
    assert [(ln.product_id, ln.quantity, ln.unit_price, ln.category) for ln in order.lines] == [
        ("85123A", 6, 2.55, None), ("71053", 6, 3.39, None), ("POST", 1, 18.0, "non_product")]
    assert order.ts == _ts("2010-12-01 08:26", "%Y-%m-%d %H:%M")
    missing = out[1]
    assert missing.code == "missing_buyer" and "536414" in missing.reason and "missing_customer" in missing.reason
    assert missing.raw.count(b"\n") == 1 and missing.raw.startswith(b"536414,22139")  # both rows kept
    assert missing.merchant_id is None and missing.offset[0] == 4
    cancel = out[2]
    assert isinstance(cancel, Cancel) and cancel.order_id == "C536379" and cancel.event_id == "uci-online-retail:C536379"
    assert "2 line(s), 13 item(s)" in cancel.reason and "14527" in cancel.reason
    assert out[3].code == "missing_buyer"
    assert out[4].buyer_id == "12583"  # a float-formatted id is normalised


def test_online_retail_guest_options_keep_anonymous_invoices(tmp_path):
    path = tmp_path / "retail.csv"
    path.write_text(RETAIL)
    for option, buyer in [("guest", "guest"), ("guest_per_invoice", "guest-536414")]:
        out = [parse(r) for r in open_source(f"file:{path}?mapping=online_retail&missing_customer={option}").read()]
        assert isinstance(out[1], Order) and out[1].buyer_id == buyer and len(out[1].lines) == 2
        # an invoice with a negative quantity but no C prefix is a stock adjustment, not a sale
        assert isinstance(out[3], DeadLetter) and out[3].code == "bad_value" and "not a sale" in out[3].reason
    with pytest.raises(SourceError, match="missing_customer must be one of"):
        open_source(f"file:{path}", mapping="online_retail", missing_customer="drop")


# Header and row shapes copied from Fraud_Data_subset.csv; the last row is cut like the real one.
FRAUD = (
    "user_id,signup_time,purchase_time,purchase_value,device_id,source,browser,sex,age,class\n"
    "22058,2/24/15 22:55,4/18/15 2:47,34,QVPSPJUOCKZAR,SEO,Chrome,M,39,0\n"
    "333320,6/7/15 20:39,6/8/15 1:38,16,EOGFQPIZPYXFZ,Ads,Chrome,F,53,0\n"
    "1359,1/1/15 18:52,1/1/15 18:52,15,YSSKYOSJHPPLJ,SEO,Opera,M,53,1\n"
    "266538,1/25/15 22:53,5/21/15 16:44,30,RLHPASMAQSHQQ,Ads,FireFox,M,32,"
)


def test_fraud_data_order_plus_feedback_and_truncated_last_row(tmp_path):
    path = tmp_path / "fraud.csv"
    path.write_text(FRAUD)
    recs = list(open_source(f"file:{path}", mapping="fraud_data").read())
    out = [parse(r) for r in recs]
    assert [type(o).__name__ for o in out] == ["Order", "Feedback"] * 3 + ["DeadLetter"]
    order, fb = out[0], out[1]
    assert isinstance(order, Order) and isinstance(fb, Feedback)
    assert (order.event_id, order.buyer_id, order.account_id, order.device_id, order.channel) == (
        "fraud-data:22058", "22058", "22058", "QVPSPJUOCKZAR", "SEO")
    assert order.ts == _ts("4/18/15 2:47", "%m/%d/%y %H:%M")
    assert order.account_created_ts == _ts("2/24/15 22:55", "%m/%d/%y %H:%M")
    assert [(ln.quantity, ln.unit_price) for ln in order.lines] == [(1, 34.0)] and order.currency == "USD"
    assert (fb.target_id, fb.model, fb.verdict, fb.label) == (order.event_id, "risk", "legit", 0.0)
    assert (out[5].verdict, out[5].label) == ("fake_order", 1.0)
    assert [r.offset[:2] for r in recs] == [[1, 0], [1, 1], [2, 0], [2, 1], [3, 0], [3, 1], [4, 0]]
    dead = out[6]
    assert dead.code == "truncated" and "class" in dead.reason and "looks truncated" in dead.reason
    assert dead.raw == FRAUD.rsplit("\n", 1)[1].encode()


def test_fraud_data_missing_class_mid_file_keeps_the_order(tmp_path):
    path = tmp_path / "fraud.csv"
    lines = FRAUD.split("\n")
    path.write_text("\n".join([lines[0], lines[4], lines[1]]) + "\n")  # cut row mid-file, newline-terminated
    out = [parse(r) for r in open_source(f"file:{path}", mapping="fraud_data").read()]
    assert isinstance(out[0], Order)
    assert isinstance(out[1], DeadLetter) and out[1].code == "missing_value" and "'class' is empty" in out[1].reason
    assert isinstance(out[2], Order) and isinstance(out[3], Feedback)


def test_sort_by_ts_replays_in_time_order_and_resumes_by_rank(tmp_path):
    path = tmp_path / "fraud.csv"
    path.write_text(FRAUD)
    src = open_source(f"file:{path}?mapping=fraud_data&sort=ts")
    recs = list(src.read())
    assert src.name.endswith("?mapping=fraud_data&sort=ts")
    ts = [r.payload["ts"] for r in recs if r.error is None]
    assert ts == sorted(ts) and len(recs) == 7
    assert [r.offset for r in recs] == list(range(7))
    assert list(src.read(after=3)) == recs[4:]


def test_spec_file_with_group_by_each_row_when_map_default(tmp_path):
    spec = {
        "name": "shop",
        "group_by": "order",
        "events": [
            {"type": "order", "event_id": "shop:{order}", "merchant_id": "shop", "ts": {"col": "at", "as": "ts"},
             "order_id": "{order}", "buyer_id": {"col": "buyer", "default": "anon"},
             "lines": {"each_row": {"product_id": "{sku}", "quantity": {"col": "qty", "as": "int"},
                                    "unit_price": {"col": "price", "as": "float"}}},
             "channel": {"col": "via", "optional": True}},
            {"type": "feedback", "when": "flag", "event_id": "shop:{order}:fb", "merchant_id": "shop",
             "ts": {"col": "at", "as": "ts"}, "target_id": "shop:{order}", "model": "risk",
             "verdict": {"col": "flag", "map": {"F": "fake_order", "L": "legit"}},
             "label": {"col": "flag", "map": {"F": 1.0, "L": 0.0}}},
        ],
    }
    spec_path = tmp_path / "shop.json"
    spec_path.write_text(json.dumps(spec))
    data = tmp_path / "shop.csv"
    data.write_text("order,at,buyer,sku,qty,price,via,flag\n"
                    "1,2024-01-01T00:00:00Z,acme,p1,2,1.5,web,F\n"
                    "1,2024-01-01T00:00:00Z,acme,p2,1,4,web,F\n"
                    "2,1704067260,,p3,x,1,,\n"
                    "3,2024-01-01 00:02,beta,p4,1,1,,Q\n")
    recs = list(open_source(f"file:{data}", mapping=str(spec_path)).read())
    out = [parse(r) for r in recs]
    assert isinstance(out[0], Order) and [(ln.product_id, ln.quantity) for ln in out[0].lines] == [("p1", 2), ("p2", 1)]
    assert out[0].ts == 1704067200.0 and out[0].channel == "web"
    assert isinstance(out[1], Feedback) and (out[1].verdict, out[1].label) == ("fake_order", 1.0)
    assert isinstance(out[2], DeadLetter) and out[2].code == "bad_value" and "'qty' = 'x'" in out[2].reason
    assert len(out) == 5  # order 2 has no flag: no feedback ("when")
    assert isinstance(out[3], Order) and out[3].buyer_id == "beta" and out[3].ts == 1704067320.0
    assert isinstance(out[4], DeadLetter) and "is not one of ['F', 'L']" in out[4].reason
    assert recs[0].source.endswith("?mapping=shop")


@pytest.mark.parametrize("spec, message", [
    ([], "must be an object"),
    ({"events": []}, "non-empty list"),
    ({"events": [{"event_id": "x"}]}, "constant string `type`"),
    ({"events": [{"type": "view", "ts": {"col": "t", "as": "time"}}]}, "unknown `as`"),
    ({"events": [{"type": "view", "ts": {"col": "t", "fmt": "%Y"}}]}, "unknown keys"),
    ({"events": [{"type": "view", "event_id": "{a!r}"}]}, "plain {Column} names"),
    ({"events": [{"type": "view"}], "colour": 1}, "unknown keys"),
])
def test_bad_specs_are_refused_with_a_reason(spec, message):
    with pytest.raises(SourceError, match=message.replace("(", r"\(").replace("{", r"\{")):
        compile_spec(spec)


def test_callable_mappings_never_stop_the_stream():
    def fn(row):
        if row["n"] == "boom":
            raise KeyError("nope")
        if row["n"] == "bad":
            raise MappingError("bad_value", "n is bad")
        if row["n"] == "weird":
            return [42]
        return None if row["n"] == "none" else {"n": row["n"]}

    m = resolve_mapping(fn)
    assert m.apply([{"n": "1"}]) == [{"n": "1"}]
    assert m.apply([{"n": "none"}]) == []
    assert m.apply([{"n": "bad"}])[0].reason == "n is bad"
    assert m.apply([{"n": "boom"}])[0].code == "mapping_failed" and "KeyError" in m.apply([{"n": "boom"}])[0].reason
    assert "returned int" in m.apply([{"n": "weird"}])[0].reason
    assert resolve_mapping("json:loads").apply([{"n": 1}])[0].code == "mapping_failed"  # module:attr
    assert isinstance(resolve_mapping("online_retail"), Mapping)
    with pytest.raises(SourceError, match="unknown mapping 'nosuch'"):
        resolve_mapping("nosuch")
    with pytest.raises(SourceError, match="only built-in mappings take options"):
        resolve_mapping(fn, missing_customer="guest")


@pytest.mark.parametrize("text, fmt", [
    ("4/18/15 2:47", "%m/%d/%y %H:%M"), ("12/31/69 23:59", "%m/%d/%y %H:%M"), ("2010-12-01 08:26", "%Y-%m-%d %H:%M"),
    ("01.02.2020 10:11:12", "%d.%m.%Y %H:%M:%S"), ("2020-02-29", "%Y-%m-%d"), ("Mar 3 2021", "%b %d %Y"),
])
def test_fast_time_parsing_agrees_with_strptime(text, fmt):
    assert to_timestamp(text, fmt) == _ts(text, fmt)


@pytest.mark.parametrize("text, fmt", [("2/30/15 1:00", "%m/%d/%y %H:%M"), ("1/1/15 25:00", "%m/%d/%y %H:%M"),
                                       ("1/1/15", "%m/%d/%y %H:%M")])
def test_impossible_times_are_refused(text, fmt):
    with pytest.raises(ValueError):
        to_timestamp(text, fmt)
