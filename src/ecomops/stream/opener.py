"""``open_source(spec, **opts)``: one string names any source (CLI ``--source``).

=====================================  ==================================================
``sim``                                the simulator; options ``events=N``, ``seed=S``
``file:PATH``                          a file, format from the extension (.jsonl/.ndjson/
                                       .json lines, .csv/.tsv, .parquet); options
                                       ``mapping=NAME|PATH|module:attr``, ``format``,
                                       ``sort=ts``, ``delimiter``, and a built-in
                                       mapping's own options (``missing_customer=guest``)
``redis://[:PW@]HOST:PORT/STREAM``     a Redis stream via a consumer group; options
                                       ``group``, ``consumer``, ``block_ms``, ``count``,
                                       ``stop_when_idle``, ``db``
=====================================  ==================================================

Options may also follow the spec as a query string: ``file:x.csv?mapping=fraud_data&sort=ts``
(keyword arguments win). Problems raise :class:`~ecomops.core.errors.SourceError` saying what
to do.

>>> open_source("kafka://broker/topic")
Traceback (most recent call last):
...
ecomops.core.errors.SourceError: unknown source 'kafka://broker/topic': use `sim`, `file:PATH` or `redis://HOST:PORT/STREAM` (Kafka is not supported yet)
"""

from __future__ import annotations

import inspect
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..core.errors import SourceError
from .base import Source

FILE_OPTIONS = {"mapping", "format", "sort", "delimiter", "mapping_options", "max_sort_records"}
REDIS_OPTIONS = {"group", "consumer", "block_ms", "count", "stop_when_idle", "db", "name"}
_INT_OPTIONS = {"events", "seed", "block_ms", "count", "db", "max_sort_records"}


def _split_query(spec: str) -> tuple[str, dict[str, str]]:
    if "?" not in spec:
        return spec, {}
    base, _, query = spec.rpartition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    if not pairs or not all("=" in part for part in query.split("&")):
        return spec, {}  # a '?' that is part of a path
    return base, dict(pairs)


def _typed(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in _INT_OPTIONS:
        try:
            return int(value.replace("_", ""))
        except ValueError:
            raise SourceError(f"option {key} must be a whole number, got {value!r}") from None
    if key == "stop_when_idle":
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off", ""):
            return False
        raise SourceError(f"option stop_when_idle must be true or false, got {value!r}")
    return value


def open_source(spec: str, **opts: Any) -> Source:
    """Open the source named by ``spec`` (see the module docstring)."""
    if not isinstance(spec, str) or not spec.strip():
        raise SourceError("no source given: use `sim`, `file:PATH` or `redis://HOST:PORT/STREAM`")
    spec = spec.strip()
    base, query = _split_query(spec)
    merged = {k: _typed(k, v) for k, v in {**query, **opts}.items()}
    if base == "sim" or base.startswith("sim:"):
        return _open_sim(base, merged)
    if base.startswith("file:"):
        return _open_file(base[len("file:"):], merged)
    if base.startswith("redis://") or base.startswith("rediss://"):
        return _open_redis(base, merged)
    hint = ""
    if base.lower().endswith(tuple([".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet", ".pq"])):
        hint = f" (did you mean file:{base}?)"
    elif base.startswith("kafka"):
        hint = " (Kafka is not supported yet)"
    raise SourceError(f"unknown source {spec!r}: use `sim`, `file:PATH` or `redis://HOST:PORT/STREAM`{hint}")


def _open_sim(base: str, opts: dict[str, Any]) -> Source:
    from .sim import SimSource

    for part in base[len("sim:"):].split(",") if base.startswith("sim:") else ():
        if part:  # sim:seed=3,events=100 works too
            k, _, v = part.partition("=")
            opts.setdefault(k, _typed(k, v))
    return SimSource(**opts)


def _open_file(path: str, opts: dict[str, Any]) -> Source:
    from .files import FileSource
    from .mapping import builtin_mappings

    if not path:
        raise SourceError("file: needs a path, e.g. file:events.jsonl")
    mapping = opts.pop("mapping", None)
    mapping_options = dict(opts.pop("mapping_options", None) or {})
    sort = opts.pop("sort", None)
    max_sort = opts.pop("max_sort_records", 5_000_000)
    factory = builtin_mappings().get(mapping) if isinstance(mapping, str) else None
    accepted = set(inspect.signature(factory).parameters) if factory else set()
    for key in list(opts):
        if key in accepted:
            mapping_options[key] = opts.pop(key)
    unknown = set(opts) - FILE_OPTIONS
    if unknown:
        extra = f", or the options of mapping {mapping!r}: {sorted(accepted)}" if accepted else ""
        raise SourceError(f"unknown option(s) {sorted(unknown)} for a file source; allowed: "
                          f"{sorted(FILE_OPTIONS)}{extra}")
    src: Source = FileSource(path, mapping=mapping, mapping_options=mapping_options, **opts)
    if sort in (None, "", "file", "none"):
        return src
    if sort != "ts":
        raise SourceError(f"sort must be `ts` (by event time) or `file` (file order), got {sort!r}")
    from .sorting import SortedSource

    return SortedSource(src, max_records=max_sort)


def _open_redis(url: str, opts: dict[str, Any]) -> Source:
    from .redis_streams import RedisStreamSource, connect

    unknown = set(opts) - REDIS_OPTIONS
    if unknown:
        raise SourceError(f"unknown option(s) {sorted(unknown)} for a Redis source; allowed: {sorted(REDIS_OPTIONS)}")
    parts = urlsplit(url)
    stream = unquote(parts.path.lstrip("/"))
    if not stream or not parts.hostname:
        raise SourceError(f"{url!r}: give host and stream as redis://HOST:PORT/STREAM, e.g. redis://localhost:6379/events")
    try:
        port = parts.port or 6379
    except ValueError:
        raise SourceError(f"{url!r}: the port is not a number") from None
    if parts.scheme == "rediss":
        raise SourceError("rediss:// (TLS) is not supported yet; use a TLS tunnel and redis://")
    db = opts.pop("db", 0)
    client = connect(parts.hostname, port, db, password=unquote(parts.password) if parts.password else None,
                     username=unquote(parts.username) if parts.username else None)
    return RedisStreamSource(client, stream, **opts)
