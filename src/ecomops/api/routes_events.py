"""Ingest: ``POST /v1/events`` (one JSON event or an array) and ``POST /v1/events/ndjson``.

Accepted events are committed to the durable inbox before the 202 (see :mod:`.runtime`); the
engine validates, deduplicates and learns them. The response already names the events that
will become dead letters (``errors``: index, code, reason), using the engine's own validator.

Tenancy: with a merchant key, an event without ``merchant_id`` is that merchant's; an event
naming another merchant fails the whole request with 403 and nothing is stored; an NDJSON line
that is not JSON becomes the key merchant's dead letter (``malformed``) and the rest goes on.
An admin key may send events of any merchant.

``?wait=true``: answer once the engine has learned and checkpointed the events (``applied``),
or after ``wait_s`` seconds (``applied: false``; they are still safe in the inbox).
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from ..store.inbox import InboxRow
from ..stream.base import Record
from ..stream.intake import DeadLetter, parse
from .auth import Tenant, authenticate
from .errors import ApiError

router = APIRouter(tags=["events"])

MAX_ERRORS = 100
_EVENT_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"oneOf": [
            {"type": "object", "description": "one event: {type, event_id, merchant_id?, ts, ...}"},
            {"type": "array", "items": {"type": "object"}, "description": "a batch of events"},
        ]}}},
    }
}
_NDJSON_DOC = {
    "requestBody": {"required": True, "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}
}


def _prepare(obj: Any, tenant: Tenant, index: int, rows: list[InboxRow], errors: list[dict],
             counts: dict[str, int]) -> None:
    owner = None if tenant.admin else tenant.merchant_id
    if isinstance(obj, dict):
        mid = obj.get("merchant_id")
        if mid is None:
            obj["merchant_id"] = tenant.merchant_id
        elif owner is not None and mid != owner:
            raise ApiError(403, "forbidden", f"event {index}: this key sends events of merchant {owner!r} only; "
                           "nothing was stored", details={"index": index})
        m = obj["merchant_id"]
        if isinstance(m, str):
            counts[m] = counts.get(m, 0) + 1
    payload = orjson.dumps(obj)
    rows.append(InboxRow(payload, owner, None, "api"))
    verdict = parse(Record(index, payload, source="api", tenant=owner))
    if isinstance(verdict, DeadLetter):
        errors.append({"index": index, "code": verdict.code, "reason": verdict.reason})


async def _store(request: Request, rows: list[InboxRow], errors: list[dict], wait: bool, wait_s: float,
                 counts: dict[str, int]) -> dict:
    rt = request.app.state.runtime
    last = await run_in_threadpool(rt.append, rows)
    for m, n in counts.items():  # the dashboard's throughput (routes_review.History)
        request.app.state.history.count(m, n)
    request.app.state.metrics.inc("events_accepted_total", len(rows))
    out: dict[str, Any] = {"accepted": len(rows), "invalid": len(errors), "errors": errors[:MAX_ERRORS]}
    if wait:
        out["applied"] = await run_in_threadpool(rt.wait_applied, last, wait_s)
    return out


@router.post("/v1/events", status_code=202, openapi_extra=_EVENT_DOC,
             summary="Send one event (a JSON object) or a batch (a JSON array)")
async def post_events(request: Request, tenant: Tenant = Depends(authenticate),
                      wait: bool = Query(False, description="answer once the events are learned and checkpointed"),
                      wait_s: float = Query(30.0, gt=0, le=120)):
    body = await request.body()
    if not body.strip():
        raise ApiError(400, "empty_body", "send one JSON event or a JSON array of events")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}; for one event per line use "
                       "POST /v1/events/ndjson") from None
    items = data if isinstance(data, list) else [data]
    if not items:
        raise ApiError(400, "empty_batch", "the array holds no events")
    rows: list[InboxRow] = []
    errors: list[dict] = []
    counts: dict[str, int] = {}
    for i, obj in enumerate(items):
        _prepare(obj, tenant, i, rows, errors, counts)
    return await _store(request, rows, errors, wait, wait_s, counts)


@router.post("/v1/events/ndjson", status_code=202, openapi_extra=_NDJSON_DOC,
             summary="Send events as newline-delimited JSON (one event per line)")
async def post_ndjson(request: Request, tenant: Tenant = Depends(authenticate),
                      wait: bool = Query(False, description="answer once the events are learned and checkpointed"),
                      wait_s: float = Query(30.0, gt=0, le=120)):
    body = await request.body()
    owner = None if tenant.admin else tenant.merchant_id
    rows: list[InboxRow] = []
    errors: list[dict] = []
    counts: dict[str, int] = {}
    index = 0
    for lineno, line in enumerate(body.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            reason = f"line {lineno}: malformed JSON: {exc}"
            rows.append(InboxRow(line, owner, ("malformed", reason), "api"))
            errors.append({"index": index, "code": "malformed", "reason": reason})
        else:
            _prepare(obj, tenant, index, rows, errors, counts)
        index += 1
    if not rows:
        raise ApiError(400, "empty_body", "send one JSON event per line")
    return await _store(request, rows, errors, wait, wait_s, counts)
