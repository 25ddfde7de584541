"""The source interface: anything that replays records from a position (files, simulator, Redis, Kafka).

A source yields :class:`Record` objects in a deterministic order. Each record carries the
``offset`` of *itself*; handing that offset back to ``read(after=...)`` continues right after
it. The engine checkpoints the offset of the last record it applied, and only after that
checkpoint is durable calls ``commit(offset)`` so that sources with server-side state (Redis
consumer groups, later Kafka) may forget what was delivered.

Offsets are plain JSON values (ints, strings, short lists of ints) because the engine stores
them with ``orjson`` and gives them back after a restart: always lists, never tuples, so a
reloaded offset compares equal to a fresh one.

>>> src = ListSource("demo", [b'{"a": 1}', {"b": 2}])
>>> [(r.offset, r.payload) for r in src.read()]
[(0, b'{"a": 1}'), (1, {'b': 2})]
>>> [r.offset for r in src.read(after=0)]
[1]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Protocol, Union, runtime_checkable

# An int (simulator index), a string (Redis entry ID) or a short list of ints (file position).
Offset = Union[int, str, list]
Payload = Union[bytes, dict, None]


@dataclass(frozen=True, slots=True)
class Record:
    """One item read from a source.

    ``payload`` is JSON bytes (validated later, by :func:`ecomops.stream.intake.parse`) or an
    already-mapped event dict (CSV/Parquet rows). When the source itself found the record bad
    (invalid UTF-8, truncated last line, unparseable row, mapping failure) ``error`` is
    ``(code, reason)`` and ``payload`` holds the raw bytes, so the dead letter shows the input.
    ``source`` is the name of the source that produced it (used to label dead letters).
    ``tenant``, when set, is the merchant the record was accepted for (the service's API key):
    its dead letters go to that merchant whatever the payload claims, and an event naming
    another merchant is refused (:func:`ecomops.stream.intake.parse`).
    """

    offset: Offset
    payload: Payload
    error: tuple[str, str] | None = None
    source: str = ""
    tenant: str | None = None


@runtime_checkable
class Source(Protocol):
    """What the engine needs from a stream. ``name`` identifies the stream across restarts."""

    name: str

    def read(self, after: Offset | None = None) -> Iterator[Record]:
        """Records after ``after`` (``None``: from the beginning), always in the same order."""
        ...

    def commit(self, offset: Offset) -> None:
        """Everything up to ``offset`` is durably checkpointed: the source may forget it."""
        ...

    def close(self) -> None: ...


class ListSource:
    """An in-memory source over a list of payloads; offset = list index. For tests and examples."""

    def __init__(self, name: str, payloads: Iterable[Payload]):
        self.name = name
        self._payloads = list(payloads)
        self.committed: Offset | None = None

    def read(self, after: Offset | None = None) -> Iterator[Record]:
        start = 0 if after is None else int(after) + 1
        for i in range(start, len(self._payloads)):
            yield Record(i, self._payloads[i], source=self.name)

    def commit(self, offset: Offset) -> None:
        self.committed = offset

    def close(self) -> None:
        pass

