"""Scores with reasons, recommendations, and what the engine knows: models, alerts, dead letters.

Scores come from the merchant's live models in the in-process engine (the key's merchant, or
the one an admin names): ``score`` is the probability, ``reasons`` the features that moved it
most (exact parts of the log-odds, :mod:`ecomops.ops.explain`). A merchant the engine has not
seen yet is scored by an untrained model (0.5, ``examples_learned: 0``): a key never reaches
another merchant's model, whatever ids the request names.
"""

from __future__ import annotations

import time
from typing import Any, Literal, Optional

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from ..core.events import Click, View, event_from_dict
from ..ops.explain import explain
from ..ops.recommend import recommend
from .auth import Tenant, authenticate
from .errors import ApiError

router = APIRouter(tags=["models"])

Id = Field(min_length=1, max_length=128)
Ts = Field(None, ge=0, le=32503680000.0, description="event time (Unix s); default: the latest event time seen")


class PropensityRequest(BaseModel):
    merchant_id: Optional[str] = Field(None, max_length=128, description="admin keys only; default: the key's")
    buyer_id: str = Id
    product_id: str = Id
    category: Optional[str] = Field(None, max_length=512)
    kind: Literal["view", "click"] = "view"
    position: Optional[int] = Field(None, ge=0, le=10_000)
    ts: Optional[float] = Ts
    top: int = Field(5, ge=0, le=20, description="how many reasons")


class OrderLineIn(BaseModel):
    product_id: str = Id
    quantity: int = Field(gt=0, le=10_000_000)
    unit_price: float = Field(ge=0, le=1e12)
    category: Optional[str] = Field(None, max_length=512)


class RiskRequest(BaseModel):
    merchant_id: Optional[str] = Field(None, max_length=128, description="admin keys only; default: the key's")
    order_id: str = Field("order", min_length=1, max_length=128)
    buyer_id: str = Id
    lines: list[OrderLineIn] = Field(min_length=1, max_length=1000)
    currency: str = Field("CNY", min_length=3, max_length=3)
    account_id: Optional[str] = Field(None, min_length=1, max_length=128)
    device_id: Optional[str] = Field(None, min_length=1, max_length=128)
    ip: Optional[str] = Field(None, max_length=512)
    channel: Optional[str] = Field(None, max_length=512)
    account_created_ts: Optional[float] = Field(None, ge=0, le=32503680000.0)
    country: Optional[str] = Field(None, max_length=512)
    ts: Optional[float] = Ts
    top: int = Field(5, ge=0, le=20, description="how many reasons")


def _tasks(request: Request, merchant_id: str) -> tuple[dict, Any]:
    rt = request.app.state.runtime
    hasher = rt.hasher
    if hasher is None:
        raise ApiError(503, "engine_unavailable", "the engine is restarting; retry in a moment")
    tasks = rt.tasks(merchant_id)
    return (tasks if tasks is not None else rt.new_tasks()), hasher


def _now(task, ts: float | None) -> float:
    if ts is not None:
        return float(ts)
    return task.now if task.now > 0 else time.time()


def _scored(merchant_id: str, name: str, task, s, ts: float) -> dict:
    return {"merchant_id": merchant_id, "model": name, "score": s.score, "logit": s.logit, "reasons": s.reasons,
            "examples_learned": task.n_learned, "as_of_ts": ts}


@router.post("/v1/predict/propensity", summary="Purchase propensity of a buyer for a product, with reasons")
async def predict_propensity(body: PropensityRequest, request: Request, tenant: Tenant = Depends(authenticate)):
    m = tenant.merchant(body.merchant_id)
    tasks, hasher = _tasks(request, m)
    task = tasks["propensity"]
    ts = _now(task, body.ts)
    cls = View if body.kind == "view" else Click
    extra = {"position": body.position} if body.kind == "click" else {}
    ev = cls(event_id="predict", merchant_id=m, ts=ts, buyer_id=body.buyer_id, product_id=body.product_id,
             category=body.category, **extra)
    return _scored(m, "propensity", task, explain(task.model, hasher, task.features(ev), body.top), ts)


@router.post("/v1/predict/risk", summary="Fake-order (brushing) risk of an order, with reasons")
async def predict_risk(body: RiskRequest, request: Request, tenant: Tenant = Depends(authenticate)):
    m = tenant.merchant(body.merchant_id)
    tasks, hasher = _tasks(request, m)
    task = tasks["risk"]
    ts = _now(task, body.ts)
    d = body.model_dump(exclude={"merchant_id", "top", "ts"}, exclude_none=True)
    d.update(type="order", event_id=body.order_id, merchant_id=m, ts=ts)
    ev = event_from_dict(d)  # the stream's own validation (ValidationError -> 422)
    return _scored(m, "risk", task, explain(task.model, hasher, task.features(ev), body.top), ts)


@router.get("/v1/recommendations", summary="Products to recommend to a business buyer, best first")
async def recommendations(request: Request, buyer_id: str = Query(..., min_length=1, max_length=128),
                          k: int = Query(10, ge=1, le=100), merchant_id: Optional[str] = Query(None, max_length=128),
                          tenant: Tenant = Depends(authenticate)):
    m = tenant.merchant(merchant_id)
    tasks, hasher = _tasks(request, m)
    task = tasks["propensity"]
    ts = _now(task, None)
    return {"merchant_id": m, "buyer_id": buyer_id, "as_of_ts": ts,
            "items": recommend(task, hasher, buyer_id, ts, k=k)}


@router.get("/v1/models", summary="Each model of the merchant (admin: every merchant) with live metrics")
def models(request: Request, merchant_id: Optional[str] = Query(None, max_length=128),
           tenant: Tenant = Depends(authenticate)):
    scope = tenant.scope(merchant_id)
    rt = request.app.state.runtime
    digests = scope.digests()  # checkpointed models of this scope
    merchants = sorted({mm for mm, _ in digests} | ({scope.merchant_id} if not scope.is_admin else set()))
    out = []
    with rt.lock():  # a consistent view: no chunk is being learned meanwhile
        for mm in merchants:
            tasks = rt.tasks(mm) or {}
            for name in ("propensity", "risk"):
                t = tasks.get(name)
                if t is None and (mm, name) not in digests:
                    continue
                out.append({
                    "merchant_id": mm, "model": name,
                    "examples_learned": t.n_learned if t else 0,
                    "pending_labels": len(t.labels) if t else 0,
                    "metrics": t.evaluation.summary() if t else {},
                    "drift_adaptations": t.policy.n_actions if t else 0,
                    "checkpoint_digest": digests.get((mm, name)),
                })
    return {"models": out}


@router.get("/v1/alerts", summary="Alerts: drift alarms and high fake-order risk, oldest first")
def alerts(kind: Optional[Literal["drift", "risk"]] = None, after_id: int = Query(0, ge=0),
           limit: int = Query(100, ge=1, le=1000), merchant_id: Optional[str] = Query(None, max_length=128),
           tenant: Tenant = Depends(authenticate)):
    rows = tenant.scope(merchant_id).alerts(limit=limit, after_id=after_id, kind=kind)
    return {"alerts": [{"id": a.id, "merchant_id": a.merchant_id, "kind": a.kind, "model": a.model, "ref": a.ref,
                        "score": a.score, "position": a.position, "event_ts": a.event_ts,
                        "created_at": a.created_at} for a in rows],
            "next_after_id": rows[-1].id if rows else after_id}


@router.get("/v1/deadletters", summary="Rejected input with the reason and the raw payload, oldest first")
def deadletters(code: Optional[str] = Query(None, max_length=64), after_id: int = Query(0, ge=0),
                limit: int = Query(100, ge=1, le=1000), merchant_id: Optional[str] = Query(None, max_length=128),
                tenant: Tenant = Depends(authenticate)):
    rows = tenant.scope(merchant_id).dead_letters(limit=limit, after_id=after_id, code=code)
    return {"dead_letters": [{"id": d.id, "merchant_id": d.merchant_id, "source": d.source, "event_id": d.event_id,
                              "code": d.code, "reason": d.reason,
                              "raw": d.raw[:8192].decode("utf-8", "backslashreplace"), "created_at": d.created_at}
                             for d in rows],
            "next_after_id": rows[-1].id if rows else after_id}


@router.get("/v1/knowledge", summary="The merchant's current knowledge-base documents")
def knowledge(merchant_id: Optional[str] = Query(None, max_length=128), tenant: Tenant = Depends(authenticate)):
    docs = tenant.scope(merchant_id).kb_documents(current_only=True)
    return {"documents": [{"merchant_id": d.merchant_id, "doc_id": d.doc_id, "version": d.version, "title": d.title,
                           "kind": d.kind, "source": d.source, "created_at": d.created_at, "text": d.text[:2000]}
                          for d in docs]}
