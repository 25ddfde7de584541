"""The engine: stream -> validate -> deduplicate -> featurize -> score and learn -> checkpoint.

Every ``checkpoint_every`` records (a whole number of chunks) it writes, in ONE database
transaction, the stream offset, the counters, every changed per-merchant model, the dead
letters found since the last checkpoint and the alerts raised since (drift alarms, orders
whose fake-order risk reaches ``EngineConfig.risk_alert_threshold``). After a crash (even
``kill -9``) a restart loads that checkpoint and replays from the offset: the replayed chunks
are identical, so the final models equal those of a run that never stopped: no event lost, none
learned twice, no alert raised twice.

With ``EngineConfig.transfer`` each merchant also has a product catalogue (listing titles coded
by a text encoder, once per product and chunk; see :mod:`ecomops.ops.coldstart`), checkpointed
in the same transaction as component ``catalog``, so a resumed run never re-encodes a title.

A ``document`` event (a policy, regulation or FAQ update) goes straight into its merchant's
knowledge base, tagged with its event id so that a replay writes no second version
(:mod:`ecomops.engine_docs`); an unusable one is a dead letter (``kb_document``).

>>> import tempfile
>>> from ecomops.store import Store
>>> from ecomops.stream import open_source
>>> state = tempfile.mkdtemp()
>>> eng = Engine(Store.open(state), open_source("sim", events=3000, seed=1))
>>> summary = eng.run()
>>> summary.records_read
3000
"""

from __future__ import annotations

import hashlib
import os
import pickle
import signal
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .core.config import EngineConfig
from .core.errors import StateError
from .core.events import DocumentUpdate, Event
from .engine_dedup import Deduplicator
from .engine_docs import DocumentWriter
from .learn.online.evaluate import ProgressiveValidation
from .learn.online.hashing import FeatureHasher
from .ops.coldstart import ProductCatalog, title_codes
from .ops.recommend import PurchasePropensity
from .ops.risk import FakeOrderRisk
from .ops.task import FlushResult, OnlineTask
from .store import AlertRow, DeadLetterRow, Store
from .stream.intake import DeadLetter, parse

TASKS: dict[str, type[OnlineTask]] = {"propensity": PurchasePropensity, "risk": FakeOrderRisk}
STATE_VERSION = 1


@dataclass
class Progress:
    records_read: int
    events_applied: int
    dead_letters: int
    elapsed_s: float
    metrics: dict[str, dict]


@dataclass
class RunSummary:
    records_read: int
    events_applied: int
    dead_letters: int
    elapsed_s: float
    records_this_run: int
    events_per_s: float
    models: dict[str, dict]
    alarms: list[dict]
    series: dict[str, list[dict]]
    dead_letter_codes: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False


class Engine:
    """Runs one job (a source read into a state store) with per-merchant online models."""

    def __init__(
        self,
        store: Store,
        source,
        cfg: EngineConfig | None = None,
        job: str = "main",
        tasks: Iterable[str] = ("propensity", "risk"),
    ):
        self.store = store
        self.source = source
        self.cfg = cfg or EngineConfig()
        self.job = job
        self.task_names = tuple(tasks)
        self.hasher = FeatureHasher(n_bits=self.cfg.n_bits, seed=self.cfg.seed)
        self.merchants: dict[str, dict[str, OnlineTask]] = {}
        # transfer on: the text encoder (loaded once per process) and each merchant's catalogue
        self.text = title_codes(self.cfg.encoder) if self.cfg.transfer else None
        self.catalogs: dict[str, ProductCatalog] = {}
        # `document` events go to their merchant's knowledge base (the encoder loads on the first)
        self.documents = DocumentWriter(store, self.cfg.encoder if self.cfg.kb_encoder is None else self.cfg.kb_encoder)
        self.on_result: Callable[[str, str, FlushResult], None] | None = None  # (merchant, task, result)
        self.dirty: set[str] = set()
        self.dedup = Deduplicator(self.cfg.dedup_window)
        self.global_eval = {
            t: ProgressiveValidation(window=self.cfg.rolling_window, every=self.cfg.eval_every) for t in self.task_names
        }
        self.alarms: list[dict] = []
        self.offset = None
        self.records_read = 0
        self.events_applied = 0
        self.dead_letter_total = 0
        self._new_dead: list[DeadLetterRow] = []
        self._new_alerts: list[AlertRow] = []
        self._stop = False
        self._load()

    # -- state -----------------------------------------------------------------------------------
    def _load(self) -> None:
        ck = self.store.checkpoint(self.job)
        if ck is None:
            return
        if ck.source != self.source.name:
            raise StateError(
                f"this state directory follows source {ck.source!r}, not {self.source.name!r}: "
                "use the same --source to resume, or a new --state directory"
            )
        self.offset = ck.offset
        self.records_read = ck.records_read
        self.events_applied = ck.events_applied
        self.dead_letter_total = ck.dead_letters
        g = pickle.loads(ck.state)
        if g["version"] != STATE_VERSION or tuple(g["tasks"]) != self.task_names:
            raise StateError("state was written by an incompatible engine configuration; use a new --state")
        self._check_transfer(g.get("transfer"))
        self.dedup.load_state_dict(g["dedup"])
        for t, s in g["global_eval"].items():
            self.global_eval[t].load_state_dict(s)
        self.alarms = g["alarms"]
        # The engine is the one admin reader: it restores every merchant's learners.
        for (merchant_id, component), (blob, _digest) in self.store.scoped("*").components().items():
            if component in self.task_names:
                self._tasks(merchant_id, mark=False)[component].load_state_dict(pickle.loads(blob))
            elif component == "catalog" and self.text is not None:
                self._tasks(merchant_id, mark=False)
                self.catalogs[merchant_id].load_state_dict(pickle.loads(blob))

    def _transfer_key(self) -> str | None:
        return None if self.text is None else self.text.fingerprint

    def _check_transfer(self, theirs: str | None) -> None:
        """Features differ with and without transfer: a run must not switch halfway."""
        mine = self._transfer_key()
        if mine == theirs:
            return
        if theirs is None:
            msg = "this state was written with --no-transfer: resume it without --transfer"
        elif mine is None:
            msg = "this state was written with --transfer: resume it with --transfer"
        else:
            msg = "this state was written with another text encoder (--encoder): resume with that one"
        raise StateError(msg + ", or use a new --state directory")

    def _tasks(self, merchant_id: str, mark: bool = True) -> dict[str, OnlineTask]:
        tasks = self.merchants.get(merchant_id)
        if tasks is None:
            catalog = None
            if self.text is not None:
                catalog = ProductCatalog(text_features=self.cfg.extra.get("transfer_text_features", True))
                self.catalogs[merchant_id] = catalog
            tasks = {name: TASKS[name](self.cfg, catalog=catalog) for name in self.task_names}
            self.merchants[merchant_id] = tasks
        if mark:
            self.dirty.add(merchant_id)
        return tasks

    def checkpoint(self) -> None:
        components = {}
        for m in sorted(self.dirty):
            for name, task in self.merchants[m].items():
                blob = pickle.dumps(task.state_dict(), protocol=pickle.HIGHEST_PROTOCOL)
                components[(m, name)] = (blob, task.model.digest())
            if m in self.catalogs:
                cat = self.catalogs[m]
                components[(m, "catalog")] = (pickle.dumps(cat.state_dict(), protocol=pickle.HIGHEST_PROTOCOL),
                                              cat.digest())
        g = {
            "version": STATE_VERSION,
            "tasks": list(self.task_names),
            "dedup": self.dedup.state_dict(),
            "global_eval": {t: e.state_dict() for t, e in self.global_eval.items()},
            "alarms": self.alarms,
            "transfer": self._transfer_key(),
        }
        self.store.commit_checkpoint(
            self.job,
            self.source.name,
            offset=self.offset,
            records_read=self.records_read,
            events_applied=self.events_applied,
            dead_letter_total=self.dead_letter_total,
            state=pickle.dumps(g, protocol=pickle.HIGHEST_PROTOCOL),
            components=components,
            new_dead_letters=self._new_dead,
            new_alerts=self._new_alerts,
        )
        self._new_dead = []
        self._new_alerts = []
        self.dirty.clear()
        # only now may the source forget what it delivered (Redis: XACK)
        if self.offset is not None:
            self.source.commit(self.offset)

    # -- processing ------------------------------------------------------------------------------
    def _dead(self, d: DeadLetter) -> None:
        self.dead_letter_total += 1
        self._new_dead.append(
            DeadLetterRow(d.merchant_id or "", d.source, d.offset, d.event_id, d.code, d.reason, d.raw)
        )

    def _reject(self, rec, ev: Event, code: str, reason: str) -> None:
        """A valid event the engine still must not apply: kept as a dead letter with the reason."""
        self._dead(DeadLetter(self.source.name, rec.offset, ev.merchant_id, code, reason, _raw(rec), ev.event_id))

    def _apply(self, ev: Event) -> None:
        tasks = self._tasks(ev.merchant_id)
        if self.text is not None:  # before the tasks: a view's features name the product's category
            self.catalogs[ev.merchant_id].observe(ev)
        for task in tasks.values():
            task.observe(ev)
        self.events_applied += 1

    def _document(self, rec, ev: DocumentUpdate) -> None:
        """Into the merchant's knowledge base at once; written once even when replayed (engine_docs)."""
        bad = self.documents.apply(ev)
        if bad is None:
            self.events_applied += 1
        else:
            self._reject(rec, ev, *bad)

    def _flush(self) -> None:
        pos = self.records_read
        if self.text is not None:  # the chunk's new titles, every merchant's, in one encoder pass
            self.text.fill(self.catalogs[m] for m in sorted(self.dirty))
        for m in sorted(self.dirty):
            for name, task in self.merchants[m].items():
                res = task.flush(self.hasher, pos)
                if self.on_result is not None:
                    self.on_result(m, name, res)
                if len(res.labels):
                    self.global_eval[name].update_many(res.labels, res.probs, pos)
                for a in res.alarms:
                    self.alarms.append({"merchant_id": m, "model": name, "position": a})
                    self._new_alerts.append(AlertRow(m, "drift", name, pos))
                if name == "risk":
                    thr = self.cfg.risk_alert_threshold
                    self._new_alerts.extend(AlertRow(m, "risk", name, pos, str(key), prob, ts)
                                            for key, prob, ts in res.scored_items if prob >= thr)

    def metrics(self) -> dict[str, dict]:
        out = {}
        for name, ev in self.global_eval.items():
            out[name] = ev.summary()
            out[name]["drift_alarms"] = sum(1 for a in self.alarms if a["model"] == name)
        return out

    def request_stop(self, *_args) -> None:
        """Finish the current chunk, checkpoint, and return (SIGINT / SIGTERM)."""
        self._stop = True

    def run(
        self,
        max_records: int | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        handle_signals: bool = False,
        final_checkpoint: bool = True,
    ) -> RunSummary:
        """Read the source to its end (or ``max_records``), learning chunk by chunk and checkpointing
        on the configured triggers; ``final_checkpoint=False`` leaves the last save to the caller
        (the service saves on its own clock: its inbox already keeps every accepted event)."""
        cfg = self.cfg
        start_records = self.records_read
        t0 = time.perf_counter()
        old_handlers = []
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                old_handlers.append((sig, signal.signal(sig, self.request_stop)))
        last_ckpt = last_progress = time.perf_counter()
        # Fault injection for the crash tests: a real SIGKILL at a chosen record, mid-chunk.
        crash_at = int(os.environ.get("ECOMOPS_CRASH_AFTER_RECORDS", "0") or 0)
        try:
            for rec in self.source.read(after=self.offset):
                parsed = parse(rec)
                if isinstance(parsed, DeadLetter):
                    self._dead(parsed)
                elif not self.dedup.check_and_add(parsed.merchant_id, parsed.event_id):
                    self._reject(rec, parsed, "duplicate", f"duplicate event_id {parsed.event_id!r}: already applied, ignored")
                elif parsed.merchant_id not in self.merchants and len(self.merchants) >= cfg.max_merchants:
                    self._reject(
                        rec,
                        parsed,
                        "merchant_limit",
                        f"merchant {parsed.merchant_id!r} would exceed max_merchants={cfg.max_merchants}; "
                        "raise it (--max-merchants) if this merchant is real",
                    )
                elif isinstance(parsed, DocumentUpdate):
                    self._document(rec, parsed)
                else:
                    self._apply(parsed)
                self.offset = rec.offset
                self.records_read += 1
                if self.records_read == crash_at:
                    os.kill(os.getpid(), signal.SIGKILL)
                if self.records_read % cfg.chunk_size == 0:
                    self._flush()
                    # Checkpoints fall on chunk boundaries only; when exactly does not change any
                    # result, so a time trigger keeps them cheap without costing determinism.
                    now = time.perf_counter()
                    if (
                        self.records_read % cfg.checkpoint_every == 0
                        or now - last_ckpt >= cfg.checkpoint_seconds
                        or self._stop
                    ):
                        self.checkpoint()
                        last_ckpt = time.perf_counter()
                    if on_progress is not None and now - last_progress >= 0.25:
                        on_progress(self._progress(t0))
                        last_progress = now
                    if self._stop:
                        break
                if max_records is not None and self.records_read - start_records >= max_records:
                    break
            self._flush()
            if final_checkpoint or self._stop:
                self.checkpoint()
        finally:
            for sig, h in old_handlers:
                signal.signal(sig, h)
        elapsed = time.perf_counter() - t0
        if on_progress is not None:
            on_progress(self._progress(t0))
        return self.summary(elapsed, self.records_read - start_records, interrupted=self._stop)

    def _progress(self, t0: float) -> Progress:
        return Progress(
            self.records_read, self.events_applied, self.dead_letter_total, time.perf_counter() - t0, self.metrics()
        )

    def summary(self, elapsed: float = 0.0, records_this_run: int = 0, interrupted: bool = False) -> RunSummary:
        return RunSummary(
            records_read=self.records_read,
            events_applied=self.events_applied,
            dead_letters=self.dead_letter_total,
            elapsed_s=elapsed,
            records_this_run=records_this_run,
            events_per_s=records_this_run / elapsed if elapsed > 0 else 0.0,
            models=self.metrics(),
            alarms=list(self.alarms),
            series={name: ev.series() for name, ev in self.global_eval.items()},
            dead_letter_codes=self.store.scoped("*").count_dead_letters(),
            interrupted=interrupted,
        )


def load_summary(store: Store, job: str = "main") -> RunSummary:
    """What a job has learned so far, read back from its checkpoint (no source needed)."""
    ck = store.checkpoint(job)
    if ck is None:
        raise StateError("no checkpoint yet: run `ecomops run` first")
    g = pickle.loads(ck.state)
    models, series = {}, {}
    for name, st in g["global_eval"].items():
        ev = ProgressiveValidation()
        ev.load_state_dict(st)
        models[name] = {**ev.summary(), "drift_alarms": sum(1 for a in g["alarms"] if a["model"] == name)}
        series[name] = ev.series()
    return RunSummary(
        records_read=ck.records_read,
        events_applied=ck.events_applied,
        dead_letters=ck.dead_letters,
        elapsed_s=0.0,
        records_this_run=0,
        events_per_s=0.0,
        models=models,
        alarms=list(g["alarms"]),
        series=series,
        dead_letter_codes=store.scoped("*").count_dead_letters(),
    )


def _raw(rec) -> bytes:
    p = rec.payload
    if isinstance(p, (bytes, bytearray)):
        return bytes(p)
    import orjson

    return orjson.dumps(p, default=str)


def model_digest(store: Store, merchant_id: str = "*") -> str:
    """One hash over every model's parameters (per merchant and component, in sorted order)."""
    h = hashlib.sha256()
    for (m, comp), d in sorted(store.scoped(merchant_id).digests().items()):
        h.update(f"{m}\x00{comp}\x00{d}\n".encode())
    return h.hexdigest()
