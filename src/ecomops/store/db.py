"""The store: SQLite embedded by default, PostgreSQL by URL.

>>> import tempfile, pathlib
>>> store = Store.open(pathlib.Path(tempfile.mkdtemp()))
>>> store.commit_checkpoint("main", "sim", offset=9, records_read=10, events_applied=9,
...     dead_letter_total=1, state=b"", components={("m1", "risk"): (b"w", "d1")},
...     new_dead_letters=[DeadLetterRow("m1", "sim", 3, "e3", "missing_field", "no ts", b"{}")])
>>> store.checkpoint("main").events_applied
9
>>> [r.reason for r in store.scoped("m1").dead_letters()]
['no ts']
>>> store.scoped("m2").dead_letters()
[]
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import orjson
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import Connection, Engine

from ..core.config import database_url
from ..core.errors import StateError
from .schema import SCHEMA_VERSION, checkpoints, dead_letters, metadata, model_state

ALL_MERCHANTS = "*"  # the admin scope: sees every merchant


@dataclass(frozen=True)
class Checkpoint:
    job: str
    source: str
    offset: Any
    records_read: int
    events_applied: int
    dead_letters: int
    state: bytes | None
    updated_at: float


@dataclass(frozen=True)
class DeadLetterRow:
    merchant_id: str
    source: str
    offset: Any
    event_id: str | None
    code: str
    reason: str
    raw: bytes
    id: int | None = None
    created_at: float | None = None


class Store:
    """Owns the database connection; everything merchant-specific is read via :meth:`scoped`."""

    def __init__(self, engine: Engine):
        self.engine = engine
        metadata.create_all(engine)

    @classmethod
    def open(cls, state_dir: Path | str, url: str | None = None) -> "Store":
        state_dir = Path(state_dir)
        url = database_url(state_dir, url)
        if url.startswith("sqlite"):
            state_dir.mkdir(parents=True, exist_ok=True)
        try:
            engine = create_engine(url, future=True)
        except Exception as exc:  # bad URL, missing driver
            raise StateError(f"cannot open database {url!r}: {exc}") from None
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        try:
            return cls(engine)
        except Exception as exc:
            raise StateError(
                f"cannot open database {url!r}: {exc.__class__.__name__}: {exc}. "
                "Check the URL, that the server runs, and that the state directory is writable."
            ) from None

    def close(self) -> None:
        self.engine.dispose()

    # -- checkpoint: the one transaction that makes crashes harmless ---------------------------
    def checkpoint(self, job: str = "main") -> Checkpoint | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(checkpoints).where(checkpoints.c.job == job)).first()
        if row is None:
            return None
        if row.schema_version != SCHEMA_VERSION:
            raise StateError(f"state was written by schema v{row.schema_version}, this is v{SCHEMA_VERSION}")
        return Checkpoint(
            job=row.job,
            source=row.source,
            offset=orjson.loads(row.offset) if row.offset is not None else None,
            records_read=row.records_read,
            events_applied=row.events_applied,
            dead_letters=row.dead_letters,
            state=row.state,
            updated_at=row.updated_at,
        )

    def commit_checkpoint(
        self,
        job: str,
        source: str,
        *,
        offset: Any,
        records_read: int,
        events_applied: int,
        dead_letter_total: int,
        state: bytes,
        components: dict[tuple[str, str], tuple[bytes, str]],
        new_dead_letters: Iterable[DeadLetterRow],
    ) -> None:
        """Write offset, counters, changed merchant components and new dead letters atomically."""
        now = time.time()
        with self.engine.begin() as conn:
            _upsert(
                conn,
                checkpoints,
                ["job"],
                dict(
                    job=job,
                    source=source,
                    offset=orjson.dumps(offset).decode() if offset is not None else None,
                    records_read=records_read,
                    events_applied=events_applied,
                    dead_letters=dead_letter_total,
                    state=state,
                    schema_version=SCHEMA_VERSION,
                    updated_at=now,
                ),
            )
            for (merchant_id, component), (blob, digest) in components.items():
                _upsert(
                    conn,
                    model_state,
                    ["merchant_id", "component"],
                    dict(merchant_id=merchant_id, component=component, state=blob, digest=digest, updated_at=now),
                )
            rows = [
                dict(
                    merchant_id=d.merchant_id or "",
                    job=job,
                    source=d.source,
                    offset=orjson.dumps(d.offset).decode() if d.offset is not None else None,
                    event_id=d.event_id,
                    code=d.code,
                    reason=d.reason,
                    raw=d.raw,
                    created_at=now,
                )
                for d in new_dead_letters
            ]
            if rows:
                conn.execute(dead_letters.insert(), rows)

    def scoped(self, merchant_id: str) -> "MerchantScope":
        """The only way to read merchant data; ``ALL_MERCHANTS`` is the admin view."""
        if not merchant_id:
            raise StateError("a merchant id is required to read merchant data")
        return MerchantScope(self, merchant_id)

    def merchants(self) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(model_state.c.merchant_id).distinct().order_by(model_state.c.merchant_id))
            return [r[0] for r in rows]


class MerchantScope:
    """Reads restricted to one merchant (or all, for admins). Nothing else filters by tenant."""

    def __init__(self, store: Store, merchant_id: str):
        self._store = store
        self.merchant_id = merchant_id

    @property
    def is_admin(self) -> bool:
        return self.merchant_id == ALL_MERCHANTS

    def _where(self, table):
        return table.c.merchant_id == self.merchant_id if not self.is_admin else True

    def components(self, component: str | None = None) -> dict[tuple[str, str], tuple[bytes, str]]:
        q = select(model_state.c.merchant_id, model_state.c.component, model_state.c.state, model_state.c.digest)
        q = q.where(self._where(model_state))
        if component is not None:
            q = q.where(model_state.c.component == component)
        with self._store.engine.connect() as conn:
            return {(r[0], r[1]): (r[2], r[3]) for r in conn.execute(q.order_by(model_state.c.merchant_id))}

    def digests(self) -> dict[tuple[str, str], str]:
        q = select(model_state.c.merchant_id, model_state.c.component, model_state.c.digest).where(
            self._where(model_state)
        )
        with self._store.engine.connect() as conn:
            return {(r[0], r[1]): r[2] for r in conn.execute(q)}

    def dead_letters(self, limit: int = 100, after_id: int = 0, code: str | None = None) -> list[DeadLetterRow]:
        q = select(dead_letters).where(self._where(dead_letters)).where(dead_letters.c.id > after_id)
        if code:
            q = q.where(dead_letters.c.code == code)
        with self._store.engine.connect() as conn:
            rows = conn.execute(q.order_by(dead_letters.c.id).limit(limit)).all()
        return [
            DeadLetterRow(
                merchant_id=r.merchant_id,
                source=r.source,
                offset=orjson.loads(r.offset) if r.offset is not None else None,
                event_id=r.event_id,
                code=r.code,
                reason=r.reason,
                raw=r.raw,
                id=r.id,
                created_at=r.created_at,
            )
            for r in rows
        ]

    def count_dead_letters(self) -> dict[str, int]:
        q = (
            select(dead_letters.c.code, func.count())
            .where(self._where(dead_letters))
            .group_by(dead_letters.c.code)
        )
        with self._store.engine.connect() as conn:
            return {r[0]: r[1] for r in conn.execute(q)}


def _upsert(conn: Connection, table, keys: list[str], values: dict) -> None:
    dialect = conn.dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:  # portable fallback
        conn.execute(table.delete().where(*[table.c[k] == values[k] for k in keys]))
        conn.execute(table.insert().values(**values))
        return
    stmt = insert(table).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_={k: v for k, v in values.items() if k not in keys})
    conn.execute(stmt)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers (state, API) never block the engine
    cur.execute("PRAGMA synchronous=FULL")  # a checkpoint that returned survives power loss
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()
