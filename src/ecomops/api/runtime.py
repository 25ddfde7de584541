"""The service's engine, in-process: the durable inbox as its stream, one background thread.

Flow of an event::

    POST /v1/events --> inbox table (committed, then 202) --> InboxSource --> Engine (thread)
    --source sim|file:|redis:// --> Forwarder (thread) --^        checkpoint: models + offset,
                                                                   then inbox rows <= offset deleted

* **Durable before 202.** The ingest endpoints commit the events to the ``inbox`` table before
  answering; a forwarder commits its records together with its own cursor. After ``kill -9`` the
  engine resumes from its checkpoint offset (an inbox id), so nothing accepted is lost, and
  nothing is learned twice (offset and models are checkpointed in one transaction; a client's
  retry of the same ``event_id`` is a ``duplicate`` dead letter).
* **Fresh models.** :class:`InboxSource` ends its read once the inbox has been drained and at
  least ``flush_interval`` seconds have passed; ``Engine.run`` then learns the partial chunk and
  checkpoints, and the runner starts the next read when new rows arrive. Under a steady stream
  the engine's own triggers apply (every 30 s / 200k records). So, unlike ``ecomops run``, chunk
  boundaries depend on arrival timing: every event is still applied exactly once, but a replay is
  not bit-identical to an uninterrupted run.
* **Live reads.** Predictions read the engine's in-memory models of one merchant
  (:meth:`Runtime.tasks`) without a lock: scoring only reads, model updates are numba kernels that
  hold the GIL, so a score sees the model before or after a chunk's update, never half of it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..core.config import EngineConfig
from ..engine import Engine
from ..ops.task import OnlineTask
from ..store import Store
from ..store.inbox import Inbox, InboxRow
from ..stream.base import Offset, Record
from ..stream.intake import raw_bytes

__all__ = ["ServiceConfig", "Runtime", "InboxSource", "INBOX_SOURCE"]

log = logging.getLogger("ecomops.api")
INBOX_SOURCE = "api-inbox"


@dataclass
class ServiceConfig:
    """Settings of ``ecomops serve`` (see its ``--help``)."""

    state: Path = Path("state")
    db: str | None = None
    sources: list[str] = field(default_factory=list)  # forwarded into the inbox
    rate_limit: float = 1000.0  # requests/s per key (a key may carry its own)
    burst: float = 2000.0
    max_body_bytes: int = 16 * 1024 * 1024
    flush_interval: float = 1.0  # s: learn what arrived at most this late
    # s: under a steady stream, save models + offset this often; sooner when the stream pauses for
    # `quiet` s or a client waits (?wait=true). Accepted events are durable in the inbox either way:
    # a crash only re-learns what came after the last save. A save pauses scoring for a few hundred
    # ms on 2 cores (pickling holds the GIL), so saving every second put that into the p99.
    checkpoint_interval: float = 30.0
    quiet: float = 1.0
    max_backlog: int = 200_000  # forwarders pause while this many inbox rows wait for the engine
    kb_encoder: str = "default"  # dense encoder of the knowledge base (document events, /v1/ask)
    llm: str | None = None  # /v1/ask's language model (None: the offline extractive one)
    engine: EngineConfig = field(default_factory=EngineConfig)

    def __post_init__(self) -> None:
        self.state = Path(self.state)
        if self.engine.kb_encoder is None:
            self.engine.kb_encoder = self.kb_encoder


class InboxSource:
    """The inbox as an engine source: offset = inbox id. See the module docstring for when a read ends."""

    name = INBOX_SOURCE

    def __init__(self, inbox: Inbox, stop: threading.Event, flush_interval: float = 1.0, page: int = 4096):
        self.inbox = inbox
        self.stop = stop
        self.flush_interval = float(flush_interval)
        self.page = page
        self.wake = threading.Event()

    def read(self, after: Offset | None = None) -> Iterator[Record]:
        pos = int(after or 0)
        t0 = time.monotonic()
        while not self.stop.is_set():
            rows = self.inbox.read(pos, self.page)
            if rows:
                for r in rows:
                    err = (r.error_code, r.error_reason or "") if r.error_code else None
                    yield Record(r.id, r.payload, err, r.origin, r.tenant)
                pos = rows[-1].id
                continue
            if time.monotonic() - t0 >= self.flush_interval:
                return
            self.wake.wait(0.02)
            self.wake.clear()

    def commit(self, offset: Offset) -> None:
        self.inbox.release(int(offset))

    def close(self) -> None:
        pass


class ServiceEngine(Engine):
    """The engine, telling the runtime after each checkpoint how far it has applied.

    ``lock`` is held while a chunk is learned: readers of metrics and pending labels (``/v1/models``)
    take it for a consistent view; scoring does not need it (see the module docstring).
    """

    runtime: "Runtime"
    lock = threading.Lock()

    def _flush(self) -> None:
        with self.lock:
            super()._flush()

    def checkpoint(self) -> None:
        super().checkpoint()
        self.runtime._checkpointed(int(self.offset or 0))


class Runtime:
    """Everything the API needs at run time: the store, the inbox, the engine thread, forwarders."""

    def __init__(self, cfg: ServiceConfig):
        self.cfg = cfg
        self.store = Store.open(cfg.state, cfg.db)
        self.inbox = Inbox(self.store)
        self._stop = threading.Event()
        self.source = InboxSource(self.inbox, self._stop, cfg.flush_interval)
        self._cond = threading.Condition()
        self.applied = 0  # inbox id covered by the latest checkpoint
        self.last_appended = 0
        self.checkpoints = 0
        self._waiters = 0  # clients in wait_applied: save as soon as the engine has their events
        self._last_save = self._last_append = time.monotonic()
        self.engine_error: str | None = None
        self.engine = self._new_engine()  # raises StateError at start-up, before serving
        self.applied = int(self.engine.offset or 0)
        self.last_appended = max(self.inbox.last_id(), self.applied)
        self._thread = threading.Thread(target=self._loop, name="ecomops-engine", daemon=True)
        self.forwarders = [Forwarder(spec, self) for spec in cfg.sources]
        self.ingested = 0  # events accepted by this process (metrics)

    # -- life cycle ------------------------------------------------------------------------------
    def _new_engine(self) -> ServiceEngine:
        eng = ServiceEngine(self.store, self.source, self.cfg.engine)
        eng.runtime = self
        eng.lock = threading.Lock()
        return eng

    def start(self) -> None:
        self._thread.start()
        for f in self.forwarders:
            f.start()
        if str(self.cfg.kb_encoder).lower() not in ("none", "off", ""):
            # the encoder loads in seconds: on a side thread now, not inside the first /v1/ask
            threading.Thread(target=self._warm_encoder, name="ecomops-warm-encoder", daemon=True).start()

    def _warm_encoder(self) -> None:
        from ..knowledge.dense import load_encoder

        try:
            load_encoder(self.cfg.kb_encoder)
        except Exception:  # noqa: BLE001 - /v1/ask reports the same problem to its caller
            log.warning("could not preload the knowledge-base encoder %r", self.cfg.kb_encoder, exc_info=True)

    def close(self) -> None:
        for f in self.forwarders:
            f.stop.set()
        for f in self.forwarders:
            f.join(timeout=10)
        self._stop.set()
        self.source.wake.set()
        eng = self.engine
        if eng is not None:
            eng.request_stop()
        if self._thread.is_alive():
            self._thread.join(timeout=60)
        if eng is not None and self.engine is eng and not self._thread.is_alive() and int(eng.offset or 0) > self.applied:
            eng.checkpoint()  # learned but not yet saved (the service saves on its own clock)
        self.store.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.engine is None:
                    self.engine = self._new_engine()
                    self.engine_error = None
                if self.last_appended > int(self.engine.offset or 0):
                    self.engine.run(final_checkpoint=False)
                    self._maybe_checkpoint()
                else:
                    self._maybe_checkpoint()
                    self.source.wake.wait(0.25 if not self._waiters else 0.02)
                    self.source.wake.clear()
            except Exception as exc:  # noqa: BLE001 - keep serving; rebuild the engine from its checkpoint
                log.exception("engine failed; restarting it from the last checkpoint")
                self.engine_error = f"{type(exc).__name__}"
                self.engine = None
                self._stop.wait(1.0)

    def _maybe_checkpoint(self) -> None:
        """Save what was learned since the last save, when it is time (see ServiceConfig)."""
        eng = self.engine
        learned = int(eng.offset or 0) if eng is not None else 0
        if eng is None or learned <= self.applied:
            return
        now = time.monotonic()
        caught_up = learned >= self.last_appended
        if (self._waiters or now - self._last_save >= self.cfg.checkpoint_interval
                or (caught_up and now - self._last_append >= self.cfg.quiet)):
            eng.checkpoint()
            self._last_save = time.monotonic()

    @property
    def engine_ok(self) -> bool:
        return self.engine is not None and self.engine_error is None and self._thread.is_alive()

    # -- intake ----------------------------------------------------------------------------------
    def append(self, rows: list[InboxRow], cursor: tuple[str, Any] | None = None) -> int:
        """Commit rows to the inbox (durable when this returns); the last id, 0 when none."""
        ids = self.inbox.append(rows, cursor)
        if ids is None:
            return 0
        with self._cond:
            self.last_appended = max(self.last_appended, ids[1])
            self._last_append = time.monotonic()
        self.ingested += len(rows)
        self.source.wake.set()
        return ids[1]

    def _checkpointed(self, offset: int) -> None:
        with self._cond:
            self.applied = max(self.applied, offset)
            self.checkpoints += 1
            self._cond.notify_all()

    def wait_applied(self, upto: int, timeout: float) -> bool:
        """Block until a checkpoint covers inbox id ``upto`` (or ``timeout`` s); True when it does."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._waiters += 1
            self.source.wake.set()
            try:
                while self.applied < upto:
                    left = deadline - time.monotonic()
                    if left <= 0 or self._stop.is_set():
                        return False
                    self._cond.wait(min(left, 0.5))
            finally:
                self._waiters -= 1
        return True

    def backlog(self) -> int:
        """Inbox rows the engine has not learned yet (saved or not)."""
        eng = self.engine
        learned = max(int(eng.offset or 0), self.applied) if eng is not None else self.applied
        return max(self.last_appended - learned, 0)

    # -- live models (one merchant) ----------------------------------------------------------------
    def tasks(self, merchant_id: str) -> dict[str, OnlineTask] | None:
        eng = self.engine
        return None if eng is None else eng.merchants.get(merchant_id)

    def new_tasks(self) -> dict[str, OnlineTask]:
        """Untrained tasks: what a merchant without events is scored with."""
        from ..engine import TASKS

        return {name: TASKS[name](self.cfg.engine) for name in ("propensity", "risk")}

    def lock(self):
        """The engine's learning lock (a no-op lock while the engine restarts)."""
        eng = self.engine
        return eng.lock if eng is not None else threading.Lock()

    @property
    def hasher(self):
        return self.engine.hasher if self.engine is not None else None


class Forwarder(threading.Thread):
    """Copies one configured source into the inbox, its cursor committed with the rows."""

    batch = 1000

    def __init__(self, spec: str, runtime: Runtime):
        super().__init__(name=f"ecomops-forward-{spec[:40]}", daemon=True)
        from ..stream import open_source

        self.spec = spec
        self.runtime = runtime
        self.src = open_source(spec)
        self.stop = threading.Event()
        self.done = False
        self.forwarded = 0
        self.error: str | None = None

    def _reader(self, q: queue.Queue, after: Any) -> None:
        try:
            for rec in self.src.read(after=after):
                while not self.stop.is_set():
                    try:
                        q.put(rec, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if self.stop.is_set():
                    return
        except Exception as exc:  # noqa: BLE001
            log.exception("source %s failed", self.spec)
            self.error = f"{type(exc).__name__}: {exc}"
        q.put(None)

    def run(self) -> None:
        name = self.src.name
        q: queue.Queue = queue.Queue(maxsize=10 * self.batch)
        threading.Thread(target=self._reader, args=(q, self.runtime.inbox.cursor(name)), daemon=True).start()
        batch: list[Record] = []
        ended = False
        while not ended:
            try:
                rec = q.get(timeout=0.1)
            except queue.Empty:
                rec = False
            if rec is None:
                ended = True
            elif rec is not False:
                batch.append(rec)
            if batch and (len(batch) >= self.batch or rec is False or ended or self.stop.is_set()):
                while self.runtime.backlog() > self.runtime.cfg.max_backlog and not self.stop.is_set():
                    time.sleep(0.05)
                rows = [InboxRow(raw_bytes(r.payload), None, r.error, name) for r in batch]
                self.runtime.append(rows, cursor=(name, batch[-1].offset))
                self.src.commit(batch[-1].offset)
                self.forwarded += len(batch)
                batch = []
            if self.stop.is_set() and not batch:
                break
        self.done = True
        self.src.close()
