"""Redis Streams: a consumer-group source, and a small producer helper.

Producers ``XADD`` entries whose field ``event`` holds one JSON event (:func:`publish`,
:class:`RedisStreamSink`). :class:`RedisStreamSource` reads them through a consumer group:

1. it creates the group if missing (``XGROUP CREATE ... 0 MKSTREAM``: a new group starts at
   the beginning of the stream, so events published before the first run are not missed);
2. ``read(after)`` first re-reads this consumer's *pending* entries (delivered before a crash
   but never acknowledged: ``XREADGROUP ... 0``), then new ones (``>``), blocking
   ``block_ms`` per call; with ``stop_when_idle`` it ends when a blocking read returns nothing;
3. entries with ID <= ``after`` were already checkpointed by the engine: they are skipped and
   acknowledged at once (a crash can fall between the checkpoint and the ``XACK``);
4. ``commit(offset)`` acknowledges (``XACK``) every entry it delivered up to ``offset``.

So with the engine checkpointing before it commits, a restart with the same group, consumer
name and ``after=<checkpointed offset>`` delivers every entry exactly once beyond that offset.
Pending entries of *another* consumer name are not taken over: restart a worker under the
name it had. An entry without an ``event`` field becomes an error record (a dead letter).

**Offset**: the entry ID string, e.g. ``"1700000000000-0"``. Compare IDs with
:func:`entry_key` (``"9-0" < "10-0"`` numerically, not as strings).

>>> entry_key("1700000000000-12") < entry_key("1700000000001-0")
True
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Iterable, Iterator

import orjson

from ..core.errors import SourceError
from ..core.events import Event, encode_event
from .base import Offset, Record

EVENT_FIELD = b"event"


def entry_key(entry_id: str | bytes) -> tuple[int, int]:
    """``"ms-seq"`` as a tuple of ints, for ordering stream IDs."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def _unreachable(host: str, port: int, exc: Exception) -> SourceError:
    return SourceError(
        f"Redis at {host}:{port} is not reachable ({exc}): start it with `redis-server --port {port}`, "
        "or point the source at the right host and port (redis://HOST:PORT/STREAM)"
    )


def connect(host: str = "localhost", port: int = 6379, db: int = 0, password: str | None = None,
            username: str | None = None):
    """A redis-py client that has answered PING; SourceError with what to do otherwise."""
    import redis

    client = redis.Redis(host=host, port=port, db=db, password=password, username=username,
                         socket_connect_timeout=5, health_check_interval=30)
    try:
        client.ping()
    except redis.AuthenticationError as exc:
        raise SourceError(f"Redis at {host}:{port} refused the credentials ({exc}): "
                          "give them as redis://USER:PASSWORD@HOST:PORT/STREAM") from None
    except redis.ResponseError as exc:
        if "NOAUTH" in str(exc):
            raise SourceError(f"Redis at {host}:{port} needs a password: "
                              "give it as redis://:PASSWORD@HOST:PORT/STREAM") from None
        raise SourceError(f"Redis at {host}:{port} answered PING with an error: {exc}") from None
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        raise _unreachable(host, port, exc) from None
    return client


def _entries(resp: Any) -> list[tuple[bytes, dict | None]]:
    """Flatten XREADGROUP replies (RESP2 list or RESP3 dict) into (id, fields) pairs."""
    if not resp:
        return []
    groups = list(resp.values()) if isinstance(resp, dict) else [g[1] for g in resp]
    out: list = []
    for g in groups:
        # redis-py's RESP3 reply wraps the entries in one more list
        if g and isinstance(g[0], list) and g[0] and isinstance(g[0][0], (list, tuple)):
            g = g[0]
        out.extend((e[0], e[1]) for e in g)
    return out


class RedisStreamSource:
    """Consumer-group reader of one stream; see the module docstring for the delivery rules."""

    def __init__(self, client: Any, stream: str, *, group: str = "ecomops", consumer: str = "ecomops-1",
                 block_ms: int = 2000, count: int = 500, stop_when_idle: bool = False, name: str | None = None):
        import redis

        self._redis_errors = (redis.ConnectionError, redis.TimeoutError)
        self.client = client
        self.stream, self.group, self.consumer = stream, group, consumer
        self.block_ms = int(block_ms)
        self.count = max(1, int(count))
        self.stop_when_idle = bool(stop_when_idle)
        kw = client.connection_pool.connection_kwargs
        self._where = f"{kw.get('host', '?')}:{kw.get('port', '?')}"
        self.name = name or f"redis://{self._where}/{stream}?group={group}"
        self._delivered: deque[tuple[tuple[int, int], bytes]] = deque()
        try:
            client.xgroup_create(stream, group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise SourceError(f"cannot create consumer group {group!r} on {stream!r}: {exc} "
                                  "(is the key a stream? check with `redis-cli TYPE <key>`)") from None
        except self._redis_errors as exc:
            raise self._lost(exc) from None

    def _lost(self, exc: Exception) -> SourceError:
        host, _, port = self._where.partition(":")
        return _unreachable(host, int(port) if port.isdigit() else 6379, exc)

    def _xread(self, entry_id: str, block: int | None) -> list[tuple[bytes, dict | None]]:
        try:
            resp = self.client.xreadgroup(self.group, self.consumer, {self.stream: entry_id},
                                          count=self.count, block=block)
        except self._redis_errors as exc:
            raise self._lost(exc) from None
        return _entries(resp)

    def read(self, after: Offset | None = None) -> Iterator[Record]:
        if after is not None:
            try:
                floor = entry_key(after)  # type: ignore[arg-type]
            except (AttributeError, ValueError):
                raise SourceError(f"offset {after!r} is not a Redis stream entry ID; resume with the same "
                                  "--source, or use a new --state directory") from None
        else:
            floor = (-1, -1)
        # 1. our own pending entries, oldest first, paging by the last ID seen
        cursor = "0"
        while True:
            batch = self._xread(cursor, None)
            if not batch:
                break
            yield from self._deliver(batch, floor)
            cursor = batch[-1][0].decode()
        # 2. new entries
        while True:
            batch = self._xread(">", self.block_ms if self.block_ms > 0 else None)
            if batch:
                yield from self._deliver(batch, floor)
            elif self.stop_when_idle:
                return
            elif self.block_ms <= 0:
                time.sleep(0.05)  # non-blocking polling: do not spin

    def _deliver(self, batch: list[tuple[bytes, dict | None]], floor: tuple[int, int]) -> Iterator[Record]:
        stale = []
        for raw_id, fields in batch:
            key = entry_key(raw_id)
            if key <= floor:
                stale.append(raw_id)  # checkpointed already; only its XACK was lost
                continue
            entry_id = raw_id.decode()
            self._delivered.append((key, raw_id))
            if not fields:
                yield Record(entry_id, b"", ("deleted", f"stream entry {entry_id} was deleted or trimmed "
                                                       "before it was processed"), self.name)
                continue
            payload = fields.get(EVENT_FIELD)
            if payload is None:
                payload = fields.get(EVENT_FIELD.decode())
            if payload is None:
                names = ", ".join(sorted(_text(k) for k in fields))
                raw = orjson.dumps({_text(k): _text(v) for k, v in fields.items()})
                yield Record(entry_id, raw, ("missing_event_field", f"stream entry {entry_id} has no `event` field "
                             f"(fields: {names}); publish with XADD <stream> * event '<json>'"), self.name)
                continue
            yield Record(entry_id, payload if isinstance(payload, bytes) else str(payload).encode(), None, self.name)
        if stale:
            self._ack(stale)

    def _ack(self, ids: list[bytes]) -> None:
        try:
            for i in range(0, len(ids), 1000):
                self.client.xack(self.stream, self.group, *ids[i:i + 1000])
        except self._redis_errors as exc:
            raise self._lost(exc) from None

    def commit(self, offset: Offset) -> None:
        """XACK every entry delivered by this source with ID <= ``offset``."""
        limit = entry_key(offset)  # type: ignore[arg-type]
        done = []
        while self._delivered and self._delivered[0][0] <= limit:
            done.append(self._delivered.popleft()[1])
        if done:
            self._ack(done)

    def pending(self) -> int:
        """How many entries the group has delivered but not acknowledged (all consumers)."""
        return int(self.client.xpending(self.stream, self.group)["pending"])

    def close(self) -> None:
        self._delivered.clear()
        self.client.close()


def _text(v: Any) -> str:
    return v.decode("utf-8", "backslashreplace") if isinstance(v, bytes) else str(v)


def _encode(event: Event | dict | bytes | str) -> bytes:
    if isinstance(event, bytes):
        return event
    if isinstance(event, str):
        return event.encode("utf-8")
    if isinstance(event, Event):
        return encode_event(event)
    return orjson.dumps(event)


def publish(client: Any, stream: str, events: Iterable[Event | dict | bytes | str], *,
            maxlen: int | None = None, batch: int = 1000) -> list[str]:
    """XADD each event (a struct, dict or JSON bytes) as field ``event``; returns the entry IDs.

    ``maxlen`` caps the stream length (approximate trimming, cheap for Redis).
    """
    ids: list[str] = []
    pipe = client.pipeline(transaction=False)
    n = 0
    for ev in events:
        pipe.xadd(stream, {EVENT_FIELD: _encode(ev)}, maxlen=maxlen, approximate=True)
        n += 1
        if n % batch == 0:
            ids.extend(_text(i) for i in pipe.execute())
    ids.extend(_text(i) for i in pipe.execute())
    return ids


class RedisStreamSink:
    """A producer for one stream: ``send(event)`` / ``send_many(events)``; returns entry IDs."""

    def __init__(self, client: Any, stream: str, maxlen: int | None = None):
        self.client, self.stream, self.maxlen = client, stream, maxlen

    def send(self, event: Event | dict | bytes | str) -> str:
        return _text(self.client.xadd(self.stream, {EVENT_FIELD: _encode(event)}, maxlen=self.maxlen, approximate=True))

    def send_many(self, events: Iterable[Event | dict | bytes | str]) -> list[str]:
        return publish(self.client, self.stream, events, maxlen=self.maxlen)

    def close(self) -> None:
        self.client.close()
