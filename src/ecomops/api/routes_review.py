"""What the dashboard needs: the audit queue, answer feedback, and live metric history.

``POST /v1/audit`` puts every listing with verdict ``review`` or ``reject`` in the merchant's
audit queue (the ``audit_queue`` component of the store: saved on every change, the newest
``QUEUE_MAX`` items kept, decided ones dropped first). ``GET /v1/audit/queue`` lists it;
``POST /v1/audit/queue/{id}/decision`` records a reviewer's ``approve`` (the listing is fine:
every reason the auditor gave is overturned) or ``reject`` (the reasons are upheld). The
decision goes to the merchant's :class:`~ecomops.ops.audit.Auditor` (``learn_feedback``: a
rule overturned often enough is suppressed) and into the stream as a ``feedback`` event
(``model: "audit"``, ``target_id``: the listing, ``label`` 1.0 = rejected).

``POST /v1/ask/feedback``: an agent accepts or corrects an answer of ``/v1/ask``
(:meth:`ecomops.ops.service.ServiceAgent.feedback`: the final answer becomes a ``past_answer``
document of the merchant's knowledge base, the intent is learned).

``GET /v1/models/history``: per model, rolling AUC / log loss sampled by this server over time
(in memory, ``HISTORY_MAX`` points per model, at most one point per ``SAMPLE_S`` seconds per
merchant, a new point only when the model learned something), the drift alarms, and the
events accepted so far, for the dashboard's charts and throughput.

Every read and write goes through the key's scope: a merchant key sees and decides its own
queue only; an item of another merchant is 404, as if it did not exist.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from typing import Any, Literal, Optional

import orjson
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from ..store import ALL_MERCHANTS
from ..store.inbox import InboxRow
from .auth import Tenant, authenticate
from .errors import ApiError

router = APIRouter(tags=["review"])

QUEUE_COMPONENT = "audit_queue"
QUEUE_MAX = 1000
HISTORY_MAX = 600
SAMPLE_S = 0.5
MODELS = ("propensity", "risk")


class Reviews:
    """Per-merchant audit queues of one server (loaded from the store on first use)."""

    def __init__(self, runtime):
        self.runtime = runtime
        self._lock = threading.Lock()
        self._queues: dict[str, dict[str, Any]] = {}

    def _load(self, merchant_id: str) -> dict[str, Any]:
        q = self._queues.get(merchant_id)
        if q is None:
            row = self.runtime.store.scoped(merchant_id).components(QUEUE_COMPONENT).get((merchant_id, QUEUE_COMPONENT))
            q = json.loads(row[0]) if row else {"next_id": 1, "items": []}
            self._queues[merchant_id] = q
        return q

    def _save(self, merchant_id: str, q: dict[str, Any]) -> None:
        items = q["items"]
        while len(items) > QUEUE_MAX:  # drop the oldest decided item first, else the oldest
            i = next((i for i, it in enumerate(items) if it["status"] != "pending"), 0)
            items.pop(i)
        self.runtime.store.scoped(merchant_id).put_component(QUEUE_COMPONENT, orjson.dumps(q))

    def add(self, merchant_id: str, listing: dict, verdict: dict) -> int:
        """Queue a flagged listing; a listing audited again while pending keeps its item (updated)."""
        with self._lock:
            q = self._load(merchant_id)
            fields = {"verdict": verdict["verdict"], "reasons": verdict["reasons"], "title": listing.get("title", ""),
                      "category": listing.get("category", ""), "price": listing.get("price"),
                      "currency": listing.get("currency", ""), "created_at": time.time()}
            it = next((it for it in q["items"] if it["listing_id"] == verdict["listing_id"]
                       and it["status"] == "pending"), None)
            if it is None:
                it = {"id": q["next_id"], "merchant_id": merchant_id, "listing_id": verdict["listing_id"],
                      "status": "pending", "decision": None, "decided_at": None, "key_id": None}
                q["next_id"] += 1
                q["items"].append(it)
            it.update(fields)
            self._save(merchant_id, q)
            return it["id"]

    def items(self, merchant_ids: list[str], status: str | None) -> list[dict]:
        with self._lock:
            out = [dict(it) for m in merchant_ids for it in self._load(m)["items"]
                   if status is None or it["status"] == status]
        return sorted(out, key=lambda it: (it["created_at"], it["merchant_id"], it["id"]))

    def decide(self, merchant_id: str, item_id: int, decision: str, key_id: str) -> dict:
        with self._lock:
            q = self._load(merchant_id)
            it = next((it for it in q["items"] if it["id"] == item_id), None)
            if it is None:
                raise ApiError(404, "not_found", f"no audit queue item {item_id}")
            if it["status"] != "pending":
                raise ApiError(409, "already_decided", f"item {item_id} was already {it['status']}")
            it.update(status="approved" if decision == "approve" else "rejected", decision=decision,
                      decided_at=time.time(), key_id=key_id)
            self._save(merchant_id, q)
            return dict(it)

    def merchants(self, tenant: Tenant, merchant_id: str | None) -> list[str]:
        if not tenant.admin or merchant_id:
            return [tenant.merchant(merchant_id)]
        known = {m for m, _ in self.runtime.store.scoped(ALL_MERCHANTS).components(QUEUE_COMPONENT)}
        return sorted(known | set(self._queues))


class History:
    """Rolling metrics of each (merchant, model), sampled over time (in memory)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._points: dict[tuple[str, str], deque] = {}
        self._sampled: dict[str, float] = {}
        self.accepted: dict[str, int] = {}  # events accepted per merchant by this process

    def count(self, merchant_id: str, n: int) -> None:
        with self._lock:
            self.accepted[merchant_id] = self.accepted.get(merchant_id, 0) + n

    def sample(self, rt, merchant_id: str) -> None:
        now = time.time()
        with self._lock:
            if now - self._sampled.get(merchant_id, 0.0) < SAMPLE_S:
                return
            self._sampled[merchant_id] = now
        with rt.lock():
            tasks = rt.tasks(merchant_id) or {}
            rows = [(name, tasks[name].n_learned, tasks[name].evaluation.summary()) for name in MODELS
                    if name in tasks]
        with self._lock:
            for name, n, s in rows:
                pts = self._points.setdefault((merchant_id, name), deque(maxlen=HISTORY_MAX))
                if pts and pts[-1]["n"] == n:
                    continue
                pts.append({"t": round(now, 3), "n": n, "auc": _num(s.get("auc")), "logloss": _num(s.get("logloss"))})

    def points(self, merchant_id: str, model: str) -> list[dict]:
        with self._lock:
            return list(self._points.get((merchant_id, model), ()))


def _num(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if x == x and abs(x) != float("inf") else None


class DecisionIn(BaseModel):
    decision: Literal["approve", "reject"]
    comment: Optional[str] = Field(None, max_length=2000)
    merchant_id: Optional[str] = Field(None, max_length=128, description="admin keys only; default: the key's")


class AnswerFeedbackIn(BaseModel):
    merchant_id: Optional[str] = Field(None, max_length=128, description="admin keys only; default: the key's")
    question: str = Field(min_length=1, max_length=4000)
    answer: str = Field("", max_length=20_000)
    accepted: bool
    corrected_answer: Optional[str] = Field(None, max_length=20_000)
    corrected_intent: Optional[str] = Field(None, max_length=128)


@router.get("/v1/audit/queue", summary="Listings the auditor flagged (review / reject), oldest first")
def audit_queue(request: Request, status: Optional[Literal["pending", "approved", "rejected"]] = "pending",
                limit: int = Query(200, ge=1, le=1000), merchant_id: Optional[str] = Query(None, max_length=128),
                tenant: Tenant = Depends(authenticate)):
    reviews: Reviews = request.app.state.reviews
    items = reviews.items(reviews.merchants(tenant, merchant_id), status)
    return {"items": items[-limit:], "total": len(items)}


@router.post("/v1/audit/queue/{item_id}/decision",
             summary="A reviewer's decision on a flagged listing (approve / reject); becomes feedback")
def audit_decision(item_id: int, body: DecisionIn, request: Request, tenant: Tenant = Depends(authenticate)):
    m = tenant.merchant(body.merchant_id)
    item = request.app.state.reviews.decide(m, item_id, body.decision, tenant.key.key_id)
    # The auditor learns: approve = its reasons were wrong (overturned); reject = upheld.
    lang = request.app.state.language
    slot = lang.auditor(m)
    learned = []
    with slot[1]:
        for code in sorted({r["code"] for r in item["reasons"]}):
            try:
                if slot[0].learn_feedback(item["listing_id"], code, correct=body.decision == "reject"):
                    learned.append(code)
            except ValueError:
                continue
        slot[3] = True
        lang.save(m, slot, force=True)
    rt = request.app.state.runtime
    fb = {"type": "feedback", "event_id": f"audit-decision-{m}-{item_id}", "merchant_id": m, "ts": time.time(),
          "target_id": item["listing_id"], "model": "audit", "verdict": body.decision,
          "label": 1.0 if body.decision == "reject" else 0.0}
    if body.comment:
        fb["comment"] = body.comment
    rt.append([InboxRow(orjson.dumps(fb), None if tenant.admin else m, None, "api")])
    return {"item": item, "auditor_learned": learned, "feedback_event_id": fb["event_id"]}


@router.post("/v1/ask/feedback", summary="Accept or correct an answer of /v1/ask; it becomes knowledge")
def ask_feedback(body: AnswerFeedbackIn, request: Request, tenant: Tenant = Depends(authenticate)):
    m = tenant.merchant(body.merchant_id)
    agent = request.app.state.language.agent(m)
    out = agent.feedback(body.question, body.answer, body.accepted, corrected_answer=body.corrected_answer,
                         corrected_intent=body.corrected_intent)
    return {"merchant_id": m, **{k: v for k, v in out.items() if k != "merchant"}}


@router.get("/v1/models/history", summary="Rolling AUC / log loss of each model over time, drift alarms, intake")
def models_history(request: Request, merchant_id: Optional[str] = Query(None, max_length=128),
                   tenant: Tenant = Depends(authenticate)):
    scope = tenant.scope(merchant_id)
    rt = request.app.state.runtime
    hist: History = request.app.state.history
    if scope.is_admin:
        eng = rt.engine
        merchants = sorted(eng.merchants) if eng is not None else []
    else:
        merchants = [scope.merchant_id]
    for m in merchants:
        hist.sample(rt, m)
    drift: dict[tuple[str, str], list[dict]] = {}
    for a in scope.alerts(limit=1000, kind="drift"):
        drift.setdefault((a.merchant_id, a.model), []).append({"id": a.id, "position": a.position,
                                                              "created_at": a.created_at})
    models = []
    for m in merchants:
        for name in MODELS:
            pts = hist.points(m, name)
            if pts:
                models.append({"merchant_id": m, "model": name, "points": pts, "drift": drift.get((m, name), [])})
    eng = rt.engine
    with hist._lock:
        accepted = sum(hist.accepted.get(m, 0) for m in merchants)
    return {"t": time.time(), "models": models, "events_accepted": accepted,
            "events_applied": (eng.events_applied if (eng is not None and scope.is_admin) else None)}
