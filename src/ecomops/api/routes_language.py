"""Listing audit and customer service, per merchant.

``POST /v1/audit``: a listing -> verdict (pass / review / reject) with cited reasons
(:class:`ecomops.ops.audit.Auditor`, the shipped China rule pack). Each merchant has its own
auditor: its learned price statistics and reviewers' feedback come from that merchant's
listings only; they are saved as the merchant's ``audit_state`` component (at most every few
seconds, and at shutdown).

``POST /v1/ask``: a customer's question -> the same JSON as ``ecomops ask --json`` (answer,
citations, intent, confidence, escalate, reason, ...), answered from the merchant's own
knowledge base (documents arrive as ``document`` events on ``POST /v1/events``).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Optional

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from .auth import Tenant, authenticate

router = APIRouter(tags=["language"])

AUDIT_COMPONENT = "audit_state"
SAVE_EVERY_S = 5.0


class ListingIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    merchant_id: Optional[str] = Field(None, max_length=128, description="admin keys only; default: the key's")
    listing_id: str = Field(min_length=1, max_length=128)
    title: str = Field(min_length=1, max_length=512)
    category: str = Field(min_length=1, max_length=512)
    description: str = Field("", max_length=20_000)
    attributes: dict[str, str] = Field(default_factory=dict, max_length=200)
    certifications: list[str] = Field(default_factory=list, max_length=100)
    price: float = Field(ge=0, le=1e12)
    currency: str = Field("CNY", min_length=3, max_length=3)


class AskIn(BaseModel):
    merchant_id: Optional[str] = Field(None, max_length=128, description="admin keys only; default: the key's")
    question: str = Field(min_length=1, max_length=4000)


class Language:
    """Per-merchant auditors and service agents of one server (created on first use)."""

    def __init__(self, runtime):
        self.runtime = runtime
        self._lock = threading.Lock()
        self._auditors: dict[str, list[Any]] = {}  # merchant -> [auditor, lock, last_save, dirty]
        self._agents: dict[str, Any] = {}
        self._pack = None

    def auditor(self, merchant_id: str) -> list[Any]:
        with self._lock:
            slot = self._auditors.get(merchant_id)
            if slot is None:
                from ..ops.audit import Auditor, load_pack

                if self._pack is None:
                    self._pack = load_pack()
                scope = self.runtime.store.scoped(merchant_id)
                row = scope.components(AUDIT_COMPONENT).get((merchant_id, AUDIT_COMPONENT))
                auditor = Auditor.from_state(json.loads(row[0]), self._pack) if row else Auditor(self._pack)
                slot = self._auditors[merchant_id] = [auditor, threading.Lock(), time.monotonic(), False]
            return slot

    def save(self, merchant_id: str, slot: list[Any], force: bool = False) -> None:
        if slot[3] and (force or time.monotonic() - slot[2] >= SAVE_EVERY_S):
            blob = json.dumps(slot[0].state_dict(), ensure_ascii=False).encode()
            self.runtime.store.scoped(merchant_id).put_component(AUDIT_COMPONENT, blob)
            slot[2], slot[3] = time.monotonic(), False

    def save_all(self) -> None:
        for m, slot in list(self._auditors.items()):
            with slot[1]:
                self.save(m, slot, force=True)

    def agent(self, merchant_id: str):
        with self._lock:
            a = self._agents.get(merchant_id)
            if a is None:
                from ..ops.service import ServiceAgent

                cfg = self.runtime.cfg
                a = self._agents[merchant_id] = ServiceAgent(self.runtime.store, merchant_id, llm=cfg.llm,
                                                             encoder=cfg.kb_encoder)
            return a


@router.post("/v1/audit", summary="Audit a listing: verdict and the regulation behind each reason")
def audit(body: ListingIn, request: Request, tenant: Tenant = Depends(authenticate)):
    m = tenant.merchant(body.merchant_id)
    lang: Language = request.app.state.language
    listing = body.model_dump(exclude_none=True)
    listing["merchant_id"] = m
    slot = lang.auditor(m)
    with slot[1]:
        verdict = slot[0].audit(listing)
        slot[3] = True
        lang.save(m, slot)
    out = verdict.to_dict()
    if out["verdict"] != "pass":  # the reviewers' queue (routes_review)
        out["queue_id"] = request.app.state.reviews.add(m, listing, out)
    return {"merchant_id": m, **out}


@router.post("/v1/ask", summary="Answer a customer's question from the merchant's knowledge base")
def ask(body: AskIn, request: Request, tenant: Tenant = Depends(authenticate)):
    m = tenant.merchant(body.merchant_id)
    answer = request.app.state.language.agent(m).ask(body.question)
    return answer.to_dict()
