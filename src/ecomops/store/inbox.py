"""The service's durable intake queue (table ``inbox``).

Writers (the HTTP ingest endpoints, the forwarders of configured sources) append records in one
transaction per request; the caller answers 202 only after that commit, so an accepted event
survives ``kill -9``. The engine reads the inbox as its stream, in id order (offset = id), and
:meth:`Inbox.release` deletes rows once a checkpoint covers them.

Ids must be visible in commit order, or a reader could pass a row that commits late with a lower
id. SQLite has one writer at a time, and :meth:`append` also takes a process-wide lock, which
gives PostgreSQL the same order as long as one process (one ``ecomops serve``) writes the inbox.

>>> import tempfile
>>> from ecomops.store import Store
>>> box = Inbox(Store.open(tempfile.mkdtemp()))
>>> box.append([InboxRow(b'{"a": 1}', tenant="m1"), InboxRow(b"oops", "m1", ("malformed", "bad"))])
(1, 2)
>>> [(r.id, r.tenant, r.error_code) for r in box.read(after=0)]
[(1, 'm1', None), (2, 'm1', 'malformed')]
>>> box.release(1); [r.id for r in box.read(after=0)]
[2]
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable

import orjson
from sqlalchemy import func, select

from .db import Store, _upsert
from .schema import inbox, inbox_cursors

__all__ = ["Inbox", "InboxRow", "StoredRecord"]

_APPEND_LOCK = threading.Lock()  # ids in commit order (see the module docstring)


@dataclass(frozen=True, slots=True)
class InboxRow:
    payload: bytes
    tenant: str | None = None  # the API key's merchant; None for trusted writers (admin, forwarders)
    error: tuple[str, str] | None = None  # (code, reason) when the record was bad on arrival
    origin: str = "api"


@dataclass(frozen=True, slots=True)
class StoredRecord:
    id: int
    tenant: str | None
    payload: bytes
    error_code: str | None
    error_reason: str | None
    origin: str


class Inbox:
    def __init__(self, store: Store):
        self.store = store

    def append(self, rows: Iterable[InboxRow], cursor: tuple[str, Any] | None = None) -> tuple[int, int] | None:
        """Commit ``rows`` (and, for a forwarder, its new ``cursor = (source, offset)``) in ONE
        transaction; returns the first and last id, or None when there was nothing to add."""
        now = time.time()
        values = [dict(tenant=r.tenant, payload=r.payload, error_code=r.error[0] if r.error else None,
                       error_reason=r.error[1] if r.error else None, origin=r.origin, received_at=now)
                  for r in rows]
        with _APPEND_LOCK, self.store.engine.begin() as conn:
            first = last = None
            if values:
                conn.execute(inbox.insert(), values)
                last = conn.execute(select(func.max(inbox.c.id))).scalar()
                first = last - len(values) + 1  # consecutive: one writer at a time
            if cursor is not None:
                _upsert(conn, inbox_cursors, ["source"],
                        dict(source=cursor[0], offset=orjson.dumps(cursor[1]).decode(), updated_at=now))
        return None if last is None else (first, last)

    def read(self, after: int = 0, limit: int = 4096) -> list[StoredRecord]:
        q = select(inbox).where(inbox.c.id > int(after)).order_by(inbox.c.id).limit(limit)
        with self.store.engine.connect() as conn:
            return [StoredRecord(r.id, r.tenant, r.payload, r.error_code, r.error_reason, r.origin)
                    for r in conn.execute(q)]

    def last_id(self) -> int:
        """The highest id ever committed that is still in the table (0 when empty)."""
        with self.store.engine.connect() as conn:
            return conn.execute(select(func.max(inbox.c.id))).scalar() or 0

    def backlog(self, after: int) -> int:
        with self.store.engine.connect() as conn:
            return conn.execute(select(func.count()).where(inbox.c.id > int(after))).scalar() or 0

    def release(self, upto: int) -> None:
        """Delete rows up to ``upto`` (a checkpoint covers them)."""
        with self.store.engine.begin() as conn:
            conn.execute(inbox.delete().where(inbox.c.id <= int(upto)))

    def cursor(self, source: str) -> Any:
        """Where forwarder ``source`` stands (None: nothing forwarded yet)."""
        with self.store.engine.connect() as conn:
            r = conn.execute(select(inbox_cursors.c.offset).where(inbox_cursors.c.source == source)).first()
        return None if r is None or r[0] is None else orjson.loads(r[0])
