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
from sqlalchemy import and_, bindparam, create_engine, event, func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from ..core.config import database_url
from ..core.errors import StateError
from .schema import SCHEMA_VERSION, alerts, checkpoints, dead_letters, kb_chunks, kb_documents, metadata, model_state

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


@dataclass(frozen=True)
class AlertRow:
    """Something an operator should look at: a drift alarm or a high fake-order risk score."""

    merchant_id: str
    kind: str  # drift, risk
    model: str
    position: int  # records read when it was raised
    ref: str | None = None  # risk: the order event's id
    score: float | None = None
    event_ts: float | None = None
    id: int | None = None
    created_at: float | None = None


@dataclass(frozen=True)
class KbChunk:
    """One searchable piece of a knowledge-base document version."""

    chunk_no: int
    text: str
    vector: bytes | None = None  # float32 bytes
    encoder: str | None = None  # fingerprint of the encoder that made ``vector``
    doc_id: str = ""  # filled in on read
    version: int = 0  # filled in on read
    merchant_id: str = ""  # filled in on read


@dataclass(frozen=True)
class KbDocument:
    """A knowledge-base document. ``version`` is assigned by :meth:`MerchantScope.kb_put`."""

    doc_id: str
    title: str
    text: str
    kind: str = "document"
    source: str = ""
    chunks: tuple[KbChunk, ...] = ()
    version: int = 0
    created_at: float = 0.0
    superseded: bool = False
    merchant_id: str = ""


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
        new_alerts: Iterable[AlertRow] = (),
    ) -> None:
        """Write offset, counters, changed merchant components, new dead letters and alerts atomically."""
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
            rows = [dict(merchant_id=a.merchant_id, kind=a.kind, model=a.model, ref=a.ref, score=a.score,
                         position=a.position, event_ts=a.event_ts, created_at=now) for a in new_alerts]
            if rows:
                conn.execute(alerts.insert(), rows)

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

    def put_component(self, component: str, blob: bytes) -> str:
        """Save one component of this merchant outside a checkpoint (e.g. a service's intent model);
        returns its digest. The admin view writes nothing."""
        if self.is_admin:
            raise StateError("the all-merchants view is read-only: write as one merchant")
        import hashlib

        digest = hashlib.sha256(blob).hexdigest()[:16]
        with self._store.engine.begin() as conn:
            _upsert(conn, model_state, ["merchant_id", "component"],
                    dict(merchant_id=self.merchant_id, component=component, state=blob, digest=digest,
                         updated_at=time.time()))
        return digest

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

    def alerts(self, limit: int = 100, after_id: int = 0, kind: str | None = None) -> list[AlertRow]:
        """This scope's alerts, oldest first, after ``after_id`` (paging)."""
        q = select(alerts).where(self._where(alerts)).where(alerts.c.id > after_id)
        if kind:
            q = q.where(alerts.c.kind == kind)
        with self._store.engine.connect() as conn:
            rows = conn.execute(q.order_by(alerts.c.id).limit(limit)).all()
        return [AlertRow(r.merchant_id, r.kind, r.model, r.position, r.ref, r.score, r.event_ts, r.id, r.created_at)
                for r in rows]

    # -- knowledge base ------------------------------------------------------------------------
    def kb_put(self, docs: Iterable[KbDocument], retire_source: str | None = None) -> list[tuple[str, int]]:
        """Store new versions of ``docs`` (with their chunks) in ONE transaction.

        Each doc gets version = latest + 1 for its doc_id, and every older version is marked
        superseded. With ``retire_source``, current docs from that source that are not in
        ``docs`` are superseded too (a file re-added without some of its rows). Returns
        ``[(doc_id, version), ...]`` in input order. The admin scope cannot write.
        """
        if self.is_admin:
            raise StateError("the admin scope (all merchants) cannot write knowledge-base documents; "
                             "write through store.scoped(merchant_id)")
        docs = list(docs)
        m = self.merchant_id
        now = time.time()
        out: list[tuple[str, int]] = []
        d = kb_documents.c
        try:
            with self._store.engine.begin() as conn:
                for doc in docs:
                    if not doc.doc_id:
                        raise StateError("a knowledge-base document needs a doc_id")
                    latest = conn.execute(
                        select(func.max(d.version)).where(d.merchant_id == m, d.doc_id == doc.doc_id)
                    ).scalar()
                    version = (latest or 0) + 1
                    if latest:
                        conn.execute(
                            kb_documents.update()
                            .where(d.merchant_id == m, d.doc_id == doc.doc_id, d.superseded == 0)
                            .values(superseded=1)
                        )
                    conn.execute(
                        kb_documents.insert(),
                        dict(merchant_id=m, doc_id=doc.doc_id, version=version, source=doc.source or "",
                             title=doc.title or "", text=doc.text, kind=doc.kind or "document",
                             created_at=now, superseded=0),
                    )
                    if doc.chunks:
                        conn.execute(
                            kb_chunks.insert(),
                            [dict(merchant_id=m, doc_id=doc.doc_id, version=version, chunk_no=c.chunk_no,
                                  text=c.text, vector=c.vector, encoder=c.encoder) for c in doc.chunks],
                        )
                    out.append((doc.doc_id, version))
                if retire_source is not None:
                    keep = {doc.doc_id for doc in docs}
                    stale = conn.execute(
                        select(d.doc_id).where(d.merchant_id == m, d.source == retire_source, d.superseded == 0)
                    ).scalars().all()
                    gone = [x for x in stale if x not in keep]
                    for i in range(0, len(gone), 500):
                        conn.execute(
                            kb_documents.update()
                            .where(d.merchant_id == m, d.doc_id.in_(gone[i:i + 500]), d.superseded == 0)
                            .values(superseded=1)
                        )
        except IntegrityError as exc:  # two writers raced for the same version
            raise StateError(f"knowledge base of merchant {m!r} changed during the write; retry ({exc.orig})") from None
        return out

    def kb_revision(self) -> tuple[int, int]:
        """Changes whenever this scope's knowledge base changes (rows only grow, flags only rise)."""
        d = kb_documents.c
        q = select(func.count(), func.coalesce(func.sum(d.superseded), 0)).where(self._where(kb_documents))
        with self._store.engine.connect() as conn:
            n, s = conn.execute(q).one()
        return int(n), int(s)

    def kb_documents(self, current_only: bool = True, doc_id: str | None = None) -> list[KbDocument]:
        """Documents (without chunks), ordered by merchant, doc_id, version."""
        d = kb_documents.c
        q = select(kb_documents).where(self._where(kb_documents))
        if current_only:
            q = q.where(d.superseded == 0)
        if doc_id is not None:
            q = q.where(d.doc_id == doc_id)
        with self._store.engine.connect() as conn:
            rows = conn.execute(q.order_by(d.merchant_id, d.doc_id, d.version)).all()
        return [
            KbDocument(doc_id=r.doc_id, title=r.title, text=r.text, kind=r.kind, source=r.source,
                       version=r.version, created_at=r.created_at, superseded=bool(r.superseded),
                       merchant_id=r.merchant_id)
            for r in rows
        ]

    def kb_chunks(self, current_only: bool = True) -> list[KbChunk]:
        """Chunks, ordered by merchant, doc_id, version, chunk_no; current versions only by default."""
        c, d = kb_chunks.c, kb_documents.c
        q = select(kb_chunks).where(self._where(kb_chunks))
        if current_only:
            q = q.join(
                kb_documents,
                and_(d.merchant_id == c.merchant_id, d.doc_id == c.doc_id, d.version == c.version),
            ).where(d.superseded == 0)
        with self._store.engine.connect() as conn:
            rows = conn.execute(q.order_by(c.merchant_id, c.doc_id, c.version, c.chunk_no)).all()
        return [
            KbChunk(chunk_no=r.chunk_no, text=r.text, vector=r.vector, encoder=r.encoder, doc_id=r.doc_id,
                    version=r.version, merchant_id=r.merchant_id)
            for r in rows
        ]

    def kb_set_vectors(self, rows: Iterable[tuple[str, int, int, bytes, str]]) -> int:
        """Replace chunk vectors ``(doc_id, version, chunk_no, vector, encoder_fingerprint)`` of this
        merchant (after the retriever changed, so a search does not re-encode them); returns how many."""
        if self.is_admin:
            raise StateError("the all-merchants view is read-only: write as one merchant")
        c = kb_chunks.c
        stmt = (update(kb_chunks)
                .where(c.merchant_id == self.merchant_id, c.doc_id == bindparam("d"), c.version == bindparam("v"),
                       c.chunk_no == bindparam("n"))
                .values(vector=bindparam("vec"), encoder=bindparam("fp")))
        params = [{"d": d, "v": v, "n": n, "vec": vec, "fp": fp} for d, v, n, vec, fp in rows]
        if not params:
            return 0
        with self._store.engine.begin() as conn:
            conn.execute(stmt, params)
        return len(params)


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
