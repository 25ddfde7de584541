"""Layer 2: event sources (simulator, files, Redis Streams) and intake validation.

A source yields :class:`Record` objects with an offset; :func:`parse` turns each into a
validated event or a :class:`DeadLetter`. ``open_source("sim" | "file:PATH" | "redis://...")``
opens one from a string.

>>> from ecomops.stream import ListSource, parse
>>> recs = list(ListSource("demo", [b"not json"]).read())
>>> parse(recs[0]).code
'malformed'
"""

from __future__ import annotations

from typing import Any

from .base import ListSource, Offset, Record, Source
from .files import FileSource
from .intake import DeadLetter, parse
from .mapping import Mapping, MappingError, resolve_mapping
from .opener import open_source

__all__ = [
    "DeadLetter", "FileSource", "ListSource", "Mapping", "MappingError", "Offset", "Record", "RedisStreamSink",
    "RedisStreamSource", "SimSource", "SortedSource", "Source", "open_source", "parse", "publish", "resolve_mapping",
]

_LAZY = {  # imported on first use: redis and the simulator are not needed by file replays
    "RedisStreamSource": "redis_streams", "RedisStreamSink": "redis_streams", "publish": "redis_streams",
    "SimSource": "sim", "SortedSource": "sorting",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
