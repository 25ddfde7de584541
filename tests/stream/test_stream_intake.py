"""Intake never raises on bad data: every record becomes an Event or a DeadLetter (fuzzed)."""

from __future__ import annotations

import math

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecomops.core.errors import ValidationError
from ecomops.core.events import Event, encode_event, event_from_dict
from ecomops.stream import DeadLetter, Record, parse

FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# event_from_dict refuses ANY string spelled like a non-finite number ("INF", " nan "), even an id,
# while decode_event accepts it: keep such strings out of the events meant to be valid.
ids = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20).filter(
    lambda s: s.strip().lower() not in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity"))
ts = st.floats(min_value=0, max_value=4e9, allow_nan=False)
money = st.floats(min_value=0, max_value=1e6, allow_nan=False)
line = st.fixed_dictionaries({"product_id": ids, "quantity": st.integers(1, 1000), "unit_price": money})
base = {"event_id": ids, "merchant_id": ids, "ts": ts}
valid_events = st.one_of(
    st.fixed_dictionaries({"type": st.just("view"), **base, "buyer_id": ids, "product_id": ids},
                          optional={"session_id": ids, "category": ids}),
    st.fixed_dictionaries({"type": st.just("order"), **base, "order_id": ids, "buyer_id": ids,
                           "lines": st.lists(line, min_size=1, max_size=4)},
                          optional={"device_id": ids, "account_created_ts": ts, "country": ids}),
    st.fixed_dictionaries({"type": st.just("feedback"), **base, "target_id": ids, "model": st.just("risk"),
                           "verdict": st.sampled_from(["fake_order", "legit"])},
                          optional={"label": st.floats(0, 1), "comment": ids}),
    st.fixed_dictionaries({"type": st.just("inventory"), **base, "product_id": ids,
                           "stock_level": st.integers(0, 10**9)}, optional={"lead_time_days": st.floats(0, 300)}),
)
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=40))
json_like = st.recursive(json_leaf, lambda kids: st.one_of(st.lists(kids, max_size=5),
                                                           st.dictionaries(st.text(max_size=12), kids, max_size=5)),
                         max_leaves=30)
weird = st.one_of(
    st.just(math.nan), st.just(math.inf), st.just(-math.inf), st.just("NaN"), st.just(" inf "),
    st.just("\ud800"), st.text(min_size=1, max_size=3).map(lambda s: s + "\udfff"),
    st.just("x" * 300_000), st.just(10**30), st.just(True), st.just([]), st.just({}), st.just(None), json_leaf,
)


def _check(result, record):
    assert isinstance(result, (Event, DeadLetter))
    if isinstance(result, DeadLetter):
        assert result.reason and result.code and isinstance(result.raw, bytes)
        if isinstance(record.payload, bytes):
            assert result.raw == record.payload  # exactly what arrived
        else:
            assert result.raw  # a dict comes back serialised
        assert result.offset == record.offset and result.source == "fuzz"
        for text in (result.reason, result.code, result.merchant_id or "", result.event_id or ""):
            text.encode("utf-8")  # storable: no lone surrogates leak into the dead-letter table
    else:
        encode_event(result)  # an accepted event can always be written out again


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data):
    rec = Record(7, data, source="fuzz")
    _check(parse(rec), rec)


@FUZZ
@given(st.dictionaries(st.text(max_size=15), json_like, max_size=8))
def test_arbitrary_dicts_and_their_json(d):
    for payload in (d, orjson.dumps(d, option=orjson.OPT_NON_STR_KEYS) if _dumpable(d) else b"{"):
        rec = Record([1, 0, 0], payload, source="fuzz")
        _check(parse(rec), rec)


def _dumpable(d):
    try:
        orjson.dumps(d)
        return True
    except orjson.JSONEncodeError:
        return False


@FUZZ
@given(valid_events)
def test_valid_events_round_trip(d):
    ev = parse(Record(0, d, source="fuzz"))
    assert isinstance(ev, Event), ev
    assert parse(Record(1, encode_event(ev), source="fuzz")) == ev
    assert parse(Record(2, orjson.dumps(d), source="fuzz")) == ev


@FUZZ
@given(valid_events, st.data())
def test_mutated_events(d, data):
    key = data.draw(st.sampled_from(sorted(d)))
    how = data.draw(st.sampled_from(["drop", "replace", "unknown_type", "nest"]))
    d = dict(d)
    if how == "drop":
        del d[key]
    elif how == "replace":
        d[key] = data.draw(weird)
    elif how == "unknown_type":
        d["type"] = data.draw(st.sampled_from(["teleport", "", "VIEW", 3]))
    else:
        d[key] = {"deep": [[[[d.get(key)]]]]}
    for payload in (d, _json_with_literals(d)):
        rec = Record(3, payload, source="fuzz")
        result = parse(rec)
        _check(result, rec)
        if how in ("drop", "unknown_type") and key not in ("session_id", "category", "device_id", "account_created_ts",
                                                        "country", "label", "comment", "lead_time_days"):
            assert isinstance(result, DeadLetter)


def _json_with_literals(d):
    """JSON bytes that may contain NaN/Infinity tokens and lone-surrogate escapes, as producers write them."""
    try:
        return orjson.dumps(d)
    except (orjson.JSONEncodeError, TypeError):
        return repr(d).encode("utf-8", "surrogatepass")


@FUZZ
@given(st.dictionaries(st.sampled_from(["type", "event_id", "merchant_id", "ts", "buyer_id", "product_id",
                                        "session_id", "quantity", "lines", "order_id"]),
                       st.one_of(json_leaf, st.just("view"), st.just("order"), st.just(1.5e9)), max_size=10))
def test_fast_path_agrees_with_event_from_dict(d):
    """parse() skips event_from_dict for clean dicts; both must accept and refuse the same things."""
    try:
        expected = event_from_dict(d)
        encode_event(expected)
    except (ValidationError, UnicodeError, OverflowError, TypeError, ValueError):
        expected = None
    got = parse(Record(0, d, source="fuzz"))
    if expected is None:
        assert isinstance(got, DeadLetter)
    else:
        assert got == expected


def test_dead_letter_details():
    rec = Record([5, 1, 10], {"type": "view", "event_id": "e1", "merchant_id": "acme", "ts": float("nan")},
                 source="s")
    d = parse(rec)
    assert (d.code, d.merchant_id, d.event_id, d.offset, d.source) == ("non_finite", "acme", "e1", [5, 1, 10], "s")
    assert d.raw == b'{"type": "view", "event_id": "e1", "merchant_id": "acme", "ts": NaN}'  # NaN kept visible
    assert parse(Record(0, {"type": "x", "v": "\ud800"})).raw == b'{"type": "x", "v": "\\ud800"}'

    err = parse(Record("1-0", b"raw", ("missing_event_field", "no event field"), source="r"))
    assert (err.code, err.reason, err.raw, err.source) == ("missing_event_field", "no event field", b"raw", "r")
    assert parse(Record(0, None)).code == "empty"
    assert parse(Record(0, 12345)).code == "invalid"  # type: ignore[arg-type]
    assert parse(Record(0, {"type": "\ud800"})).code == "encoding"
    deep: list = []
    cur = deep
    for _ in range(5000):
        cur.append([])
        cur = cur[0]
    nested = parse(Record(0, {"type": "view", "x": deep}))
    assert isinstance(nested, DeadLetter) and nested.raw
    assert parse(Record(0, b"{}"), source="override").source == "override"
