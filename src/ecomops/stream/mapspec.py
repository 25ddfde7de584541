"""Declarative mapping specs: a small dict (or JSON file) that says how rows become events.

Format::

    {
      "name": "my_orders",            # optional: used in the source name and in reasons
      "group_by": "order_no",         # optional: consecutive rows with equal value map together
      "events": [                     # each row (or group) yields one event per entry, in order
        {"type": "order", "event_id": "shop:{order_no}", ...field: VALUE...,
         "when": "order_no"}          # optional: emit only if these column(s) are non-empty
      ]
    }

A ``VALUE`` is one of:

- ``"text with {Column}"``: a template; every named column must be non-empty;
  ``{{``/``}}`` give literal braces. A string without braces is a constant.
- a number, ``true``/``false``/``null``, or ``{"const": anything}``: a constant.
- ``{"col": "Column", "as": "str|int|float|bool|ts|json", "format": "%m/%d/%y %H:%M",
  "map": {"raw": value, ...}, "default": value, "optional": true}``: a column's value.
  ``as`` defaults to ``str`` (or to the mapped value as-is when ``map`` is given); ``ts`` takes
  ``format`` (strptime directives) or ISO 8601 / epoch seconds, naive times are UTC. An empty
  cell uses ``default``, else the field is left out when ``optional``, else the row is a dead
  letter (code ``missing_value``); an unparseable value gives code ``bad_value``.
- ``{"each_row": VALUE}``: a list with VALUE evaluated on every row of the group.
- any other dict or list: evaluated field by field / item by item.
  (In a group, everything outside ``each_row`` reads the group's first row.)

>>> from ecomops.stream.mapspec import compile_spec
>>> m = compile_spec({"events": [{"type": "view", "event_id": "v{n}", "merchant_id": "m1",
...     "ts": {"col": "t", "as": "ts"}, "buyer_id": "{b}", "product_id": "p"}]})
>>> m.apply([{"n": "7", "t": "2024-01-01T00:00:00", "b": "acme"}])
[{'type': 'view', 'merchant_id': 'm1', 'product_id': 'p', 'event_id': 'v7', 'ts': 1704067200.0, 'buyer_id': 'acme'}]
>>> m.apply([{"n": "8", "t": "yesterday", "b": "acme"}])[0].reason
"view event: column 't' = 'yesterday' is not a valid ts: Invalid isoformat string: 'yesterday'"
"""

from __future__ import annotations

import string
from typing import Any, Callable

import orjson

from ..core.errors import SourceError
from .mapping import Mapping, MappingError, Row, is_empty, to_timestamp

_OMIT = object()  # a getter's way to say "leave this field out"
Getter = Callable[[list[Row]], Any]


def _to_int(v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError("boolean")
    if isinstance(v, int):
        return v
    f = float(v)
    if not f.is_integer():
        raise ValueError("not a whole number")
    return int(f)


def _to_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "y", "t"):
        return True
    if s in ("0", "false", "no", "n", "f"):
        return False
    raise ValueError("not a boolean")


def _to_str(v: Any) -> str:
    return v.strip() if isinstance(v, str) else str(v)


CONVERTERS: dict[str, Callable[[Any, str | None], Any]] = {
    "str": lambda v, f: _to_str(v),
    "int": lambda v, f: _to_int(v.strip() if isinstance(v, str) else v),
    "float": lambda v, f: float(v),
    "bool": lambda v, f: _to_bool(v),
    "ts": to_timestamp,
    "json": lambda v, f: orjson.loads(v) if isinstance(v, (str, bytes)) else v,
}


def _show(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 80 else text[:77] + "..."


def compile_spec(spec: Any, default_name: str = "spec") -> Mapping:
    """Check a spec once and turn it into a :class:`Mapping`; bad specs raise SourceError."""
    if not isinstance(spec, dict):
        raise SourceError(f"a mapping spec must be an object with an `events` list, got {type(spec).__name__}")
    unknown = set(spec) - {"name", "group_by", "events", "description"}
    if unknown:
        raise SourceError(f"mapping spec: unknown keys {sorted(unknown)}; allowed: name, group_by, events, description")
    events = spec.get("events")
    if not isinstance(events, list) or not events or not all(isinstance(e, dict) for e in events):
        raise SourceError("mapping spec: `events` must be a non-empty list of objects, one per event made from a row")
    columns: set[str] = set()
    compiled = []
    for i, ev in enumerate(events):
        ev = dict(ev)
        when = ev.pop("when", ())
        when = (when,) if isinstance(when, str) else tuple(when)
        etype = ev.get("type")
        if not isinstance(etype, str):
            raise SourceError(f"mapping spec: event #{i + 1} needs a constant string `type`, e.g. \"order\"")
        where = f"event #{i + 1} ({etype})"
        getters = {k: _compile(v, f"{where} field {k!r}", columns) for k, v in ev.items()}
        columns.update(when)
        compiled.append((etype, when, getters))
    group_by = spec.get("group_by")
    if group_by is not None:
        columns.add(group_by)

    # Scalar constants are copied in one go; only the rest costs a call per row.
    plans = []
    for etype, when, getters in compiled:
        consts = {k: g.const for k, g in getters.items() if hasattr(g, "const")}
        dynamic = [(k, g) for k, g in getters.items() if not hasattr(g, "const")]
        plans.append((etype, when, consts, dynamic))

    def fn(rows: list[Row]) -> list:
        out: list = []
        first = rows[0]
        for etype, when, consts, dynamic in plans:
            if when and any(is_empty(first.get(c)) for c in when):
                continue
            d = consts.copy()
            try:
                for k, g in dynamic:
                    v = g(rows)
                    if v is not _OMIT:
                        d[k] = v
                out.append(d)
            except MappingError as exc:
                out.append(MappingError(exc.code, f"{etype} event: {exc.reason}"))
        return out

    return Mapping(fn=fn, name=str(spec.get("name") or default_name), group_by=group_by, columns=tuple(sorted(columns)))


def _const(v: Any) -> Getter:
    def get(rows: list[Row]) -> Any:
        return v

    get.const = v  # type: ignore[attr-defined]
    return get


def _compile(v: Any, where: str, columns: set[str]) -> Getter:
    if isinstance(v, str):
        return _template(v, where, columns)
    if v is None or isinstance(v, (bool, int, float)):
        return _const(v)
    if isinstance(v, list):
        items = [_compile(x, f"{where}[{i}]", columns) for i, x in enumerate(v)]
        return lambda rows: [g(rows) for g in items]
    if not isinstance(v, dict):
        raise SourceError(f"mapping spec: {where}: unsupported value {_show(v)}")
    if "const" in v:
        const = v["const"]
        if const is None or isinstance(const, (str, bool, int, float)):
            return _const(const)
        return lambda rows: orjson.loads(orjson.dumps(const))  # a fresh copy: events must not share lists
    if "col" in v:
        return _column(v, where, columns)
    if "each_row" in v:
        inner = _compile(v["each_row"], where, columns)
        return lambda rows: [inner([r]) for r in rows]
    fields = {k: _compile(x, f"{where}.{k}", columns) for k, x in v.items()}

    def obj(rows: list[Row]) -> dict:
        d = {}
        for k, g in fields.items():
            x = g(rows)
            if x is not _OMIT:
                d[k] = x
        return d

    return obj


def _template(text: str, where: str, columns: set[str]) -> Getter:
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise SourceError(f"mapping spec: {where}: bad template {text!r}: {exc}") from None
    names = [name for _, name, spec, conv in parts if name is not None]
    if not names:
        return _const(text.replace("{{", "{").replace("}}", "}"))
    for _, name, spec, conv in parts:
        if name is not None and (not name or spec or conv):
            raise SourceError(f"mapping spec: {where}: template {text!r} may only use plain {{Column}} names")
    columns.update(names)
    # literal text and column names alternate; joining them is cheaper than str.format_map
    pieces = []
    for literal, name, _, _ in parts:
        if literal:
            pieces.append((True, literal))
        if name is not None:
            pieces.append((False, name))

    def fill(rows: list[Row]) -> str:
        row = rows[0]
        out = []
        for is_literal, piece in pieces:
            if is_literal:
                out.append(piece)
                continue
            x = row.get(piece)
            if x.__class__ is str and x and not x.isspace():
                out.append(x.strip())
            elif is_empty(x):
                raise MappingError("missing_value", f"column {piece!r} is empty (needed by {text!r})")
            else:
                out.append(_to_str(x))
        return "".join(out)

    return fill


def _column(v: dict, where: str, columns: set[str]) -> Getter:
    unknown = set(v) - {"col", "as", "format", "map", "default", "optional"}
    if unknown:
        raise SourceError(f"mapping spec: {where}: unknown keys {sorted(unknown)}")
    col = v["col"]
    if not isinstance(col, str):
        raise SourceError(f"mapping spec: {where}: `col` must be a column name")
    columns.add(col)
    kind = v.get("as", None if "map" in v else "str")
    if kind is not None and kind not in CONVERTERS:
        raise SourceError(f"mapping spec: {where}: unknown `as` {kind!r}; use one of {', '.join(CONVERTERS)}")
    convert = CONVERTERS[kind] if kind else None
    fmt = v.get("format")
    table = v.get("map")
    if table is not None and not isinstance(table, dict):
        raise SourceError(f"mapping spec: {where}: `map` must be an object from raw value to value")
    has_default, default = "default" in v, v.get("default")
    optional = bool(v.get("optional", False))

    if kind == "str" and table is None:
        def get_str(rows: list[Row]) -> Any:
            x = rows[0].get(col)
            if x.__class__ is str and x and not x.isspace():  # the common case, inlined
                return x.strip()
            if is_empty(x):
                if has_default:
                    return default
                if optional:
                    return _OMIT
                raise MappingError("missing_value", f"column {col!r} is empty")
            return _to_str(x)

        return get_str

    def get(rows: list[Row]) -> Any:
        x = rows[0].get(col)
        if (x is None or x.__class__ is str and (not x or x.isspace())) and is_empty(x):
            if has_default:
                return default
            if optional:
                return _OMIT
            raise MappingError("missing_value", f"column {col!r} is empty")
        if table is not None:
            key = _to_str(x)
            if key not in table:
                raise MappingError("bad_value", f"column {col!r} = {_show(x)} is not one of {sorted(table)}")
            x = table[key]
        if convert is None:
            return x
        try:
            return convert(x, fmt)
        except (ValueError, TypeError, OverflowError, orjson.JSONDecodeError) as exc:
            raise MappingError("bad_value", f"column {col!r} = {_show(x)} is not a valid {kind}: {exc}") from None

    return get
