"""Column mappings: turn raw table rows (CSV, Parquet, JSON objects) into event dicts.

A :class:`Mapping` receives a *unit* of rows and returns a list whose items are event dicts
or :class:`MappingError` objects (each error becomes an error record, i.e. a dead letter).
Without ``group_by`` a unit is one row; with ``group_by="InvoiceNo"`` consecutive rows with
the same value form one unit, so one invoice of many rows can become ONE order event. One
row may also yield several events, e.g. an order plus the feedback event carrying its label.

A mapping can be given as (see :func:`resolve_mapping`):

- the name of a built-in mapping (``online_retail``, ``fraud_data``),
- a declarative spec: a Python dict or a path to a JSON file (format in :mod:`.mapspec`),
- ``"package.module:attribute"`` naming a callable, spec dict or :class:`Mapping`,
- a Python callable ``fn(row: dict) -> dict | list[dict] | None`` (raise :class:`MappingError`
  for bad rows), or a :class:`Mapping` built directly for grouped rows.

>>> m = resolve_mapping(lambda row: {"type": "view", "buyer_id": row["who"]})
>>> m.apply([{"who": "b1"}])
[{'type': 'view', 'buyer_id': 'b1'}]
>>> m.apply([{}])[0].code
'mapping_failed'
"""

from __future__ import annotations

import calendar
import importlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

import orjson

from ..core.errors import SourceError
from ..core.events import MAX_LINES

Row = dict[str, Any]


class MappingError(Exception):
    """A row (or group of rows) cannot become an event; ``code`` and ``reason`` go to the dead letter."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason

    def __repr__(self) -> str:
        return f"MappingError({self.code!r}, {self.reason!r})"


@dataclass(frozen=True)
class Mapping:
    """``fn(rows) -> iterable of event dicts / MappingError`` over one unit of rows.

    ``columns`` (optional) are the columns the mapping needs: a file source checks them
    against the header before the first row, so a wrong file fails at once with a clear error.
    ``max_group_rows`` caps a group (memory stays bounded): a longer run of equal keys is split.
    """

    fn: Callable[[list[Row]], Iterable[Any] | None]
    name: str = "custom"
    group_by: str | None = None
    columns: tuple[str, ...] = ()
    max_group_rows: int = MAX_LINES

    @classmethod
    def per_row(cls, fn: Callable[[Row], Any], name: str | None = None, columns: tuple[str, ...] = ()) -> "Mapping":
        """Wrap ``fn(row) -> dict | list[dict] | None``: one unit per row."""
        return cls(fn=lambda rows: fn(rows[0]), name=name or getattr(fn, "__name__", "custom"), columns=columns)

    def apply(self, rows: list[Row]) -> list[dict | MappingError]:
        """Run the mapping; never raises for bad rows: failures come back as MappingError items."""
        try:
            out = self.fn(rows)
            if out is None:
                return []
            if isinstance(out, dict):
                return [out]
            items = list(out)
        except MappingError as exc:
            return [exc]
        except Exception as exc:  # a user mapping choking on odd data must not stop the stream
            return [MappingError("mapping_failed", f"mapping {self.name!r} failed: {type(exc).__name__}: {exc}")]
        for i, item in enumerate(items):
            if not isinstance(item, (dict, MappingError)):
                items[i] = MappingError(
                    "mapping_failed", f"mapping {self.name!r} returned {type(item).__name__}, expected a dict"
                )
        return items


def is_empty(value: Any) -> bool:
    """Empty CSV cell, null Parquet value, or whitespace only."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value or value.isspace()
    return False


# -- timestamps ----------------------------------------------------------------------------------
# strptime costs ~8 us; real files repeat few formats, so common directives are compiled to a
# regex once (~2 us per value). All naive times are taken as UTC.
_DIRECTIVES = {"Y": r"(\d{4})", "y": r"(\d{2})", "m": r"(\d{1,2})", "d": r"(\d{1,2})",
               "H": r"(\d{1,2})", "M": r"(\d{1,2})", "S": r"(\d{1,2})"}
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@lru_cache(maxsize=64)
def _compile_format(fmt: str) -> tuple[re.Pattern, tuple[str, ...]] | None:
    out, order, i = [], [], 0
    while i < len(fmt):
        c = fmt[i]
        if c == "%":
            d = fmt[i + 1] if i + 1 < len(fmt) else ""
            if d not in _DIRECTIVES or d in order:
                return None  # other directives: plain strptime
            out.append(_DIRECTIVES[d])
            order.append(d)
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out) + r"\Z"), tuple(order)


def _from_parts(order: tuple[str, ...], values: tuple[str, ...]) -> float:
    g = dict(zip(order, map(int, values)))
    if "Y" in g:
        year = g["Y"]
    elif "y" in g:
        year = 1900 + g["y"] if g["y"] >= 69 else 2000 + g["y"]  # strptime's pivot
    else:
        year = 1900
    days = date(year, g.get("m", 1), g.get("d", 1)).toordinal() - _EPOCH_ORDINAL
    h, mi, sec = g.get("H", 0), g.get("M", 0), g.get("S", 0)
    if h > 23 or mi > 59 or sec > 59:
        raise ValueError("hour, minute or second out of range")
    return float(days * 86400 + h * 3600 + mi * 60 + sec)


@lru_cache(maxsize=65536)
def _parse_time_str(text: str, fmt: str | None) -> float:
    if fmt:
        compiled = _compile_format(fmt)
        if compiled is not None:
            m = compiled[0].match(text)
            if m is None:
                raise ValueError(f"does not match format {fmt!r}")
            return _from_parts(compiled[1], m.groups())
        dt = datetime.strptime(text, fmt)
    else:
        try:
            return float(text)
        except ValueError:
            pass
        dt = datetime.fromisoformat(text)
    return _dt_seconds(dt)


def _dt_seconds(dt: datetime) -> float:
    if dt.tzinfo is None:
        return float(calendar.timegm(dt.timetuple())) + dt.microsecond / 1e6
    return dt.astimezone(timezone.utc).timestamp()


def to_timestamp(value: Any, fmt: str | None = None) -> float:
    """Seconds since the epoch (UTC) from a number, a datetime, or a string (``fmt`` or ISO 8601).

    >>> to_timestamp("1/2/15 3:04", "%m/%d/%y %H:%M"), to_timestamp("2010-12-01 08:26")
    (1420167840.0, 1291191960.0)
    """
    if isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        return _dt_seconds(value)
    if isinstance(value, date):
        return float((value.toordinal() - _EPOCH_ORDINAL) * 86400)
    return _parse_time_str(str(value).strip(), fmt)


# -- identity mappings: rows whose columns already are event fields ------------------------------
def _identity_row(row: Row) -> dict:
    out = {}
    for k, v in row.items():
        if is_empty(v):
            continue  # an empty optional cell means "absent", not ""
        if isinstance(v, str) and v[:1] in "[{":
            try:
                v = orjson.loads(v)  # lines / attributes written as JSON inside a cell
            except orjson.JSONDecodeError:
                pass
        elif isinstance(v, (datetime, date)):
            v = to_timestamp(v)
        out[k] = v
    return out


IDENTITY = Mapping.per_row(_identity_row, name="identity")


# -- resolving what the user gave ----------------------------------------------------------------
def builtin_mappings() -> dict[str, Callable[..., Mapping]]:
    from .builtin_mappings import BUILTIN

    return BUILTIN


def resolve_mapping(obj: Any, **options: Any) -> Mapping | None:
    """Turn a built-in name, spec dict, JSON path, ``module:attr`` or callable into a Mapping."""
    if obj is None or isinstance(obj, Mapping):
        if options:
            raise SourceError(f"mapping options {sorted(options)} given, but only built-in mappings take options")
        return obj
    if isinstance(obj, dict):
        from .mapspec import compile_spec

        return compile_spec(obj)
    if callable(obj):
        return resolve_mapping(Mapping.per_row(obj), **options)
    if not isinstance(obj, (str, Path)):
        raise SourceError(f"mapping must be a name, a path, a dict or a callable, not {type(obj).__name__}")
    text = str(obj)
    builtins = builtin_mappings()
    if text in builtins:
        try:
            return builtins[text](**options)
        except TypeError as exc:
            raise SourceError(f"mapping {text!r}: {exc}") from None
    if text.endswith(".json") or Path(text).is_file():
        return _load_spec_file(Path(text), options)
    if ":" in text and not Path(text).exists():
        mod_name, _, attr = text.partition(":")
        try:
            target = getattr(importlib.import_module(mod_name), attr)
        except (ImportError, AttributeError) as exc:
            raise SourceError(f"cannot load mapping {text!r}: {exc}") from None
        return resolve_mapping(target, **options)
    raise SourceError(
        f"unknown mapping {text!r}: use a built-in ({', '.join(sorted(builtins))}), "
        "the path of a JSON mapping spec, or module:function"
    )


def _load_spec_file(path: Path, options: dict) -> Mapping:
    if options:
        raise SourceError(f"mapping options {sorted(options)} given, but a spec file takes none")
    try:
        spec = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise SourceError(f"mapping spec file not found: {path}") from None
    except orjson.JSONDecodeError as exc:
        raise SourceError(f"mapping spec {path} is not valid JSON: {exc}") from None
    from .mapspec import compile_spec

    return compile_spec(spec, default_name=path.stem)
