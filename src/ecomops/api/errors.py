"""Errors as JSON, never a stack trace; the request-size limit.

Every error body is ``{"error": {"code": str, "message": str}}`` (validation errors add
``"details"``: the field and what is wrong with it). Unexpected exceptions are logged with their
trace on the server (logger ``ecomops.api``) and answered 500 with an id to find that log line.
"""

from __future__ import annotations

import logging
import math
import uuid
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ..core.errors import EcomopsError, ValidationError

__all__ = ["ApiError", "JSONBody", "error_body", "install_handlers", "BodyLimit"]

log = logging.getLogger("ecomops.api")


def _default(obj: Any):
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


class JSONBody(Response):
    """orjson: fast, numpy-aware, NaN/inf written as null (plain JSON has no NaN)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_default, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None,
                 details: Any = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.details = status, code, message, headers, details


def error_body(code: str, message: str, details: Any = None) -> dict:
    err: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        err["details"] = details
    return {"error": err}


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _validation_details(exc: RequestValidationError) -> list[dict]:
    out = []
    for e in exc.errors()[:20]:
        loc = [str(x) for x in e.get("loc", ()) if x != "body"]
        out.append({"field": ".".join(loc) or "body", "problem": str(e.get("msg", "invalid"))})
    return out


_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type", 429: "rate_limited"}


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_req: Request, exc: ApiError):
        return JSONBody(error_body(exc.code, exc.message, exc.details), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(req: Request, exc: RequestValidationError):
        details = _validation_details(exc)
        first = details[0] if details else {"field": "body", "problem": "invalid"}
        msg = f"invalid request: {first['field']}: {first['problem']}"
        ctype = req.headers.get("content-type", "")
        if req.method == "POST" and first["field"] == "body" and "json" not in ctype:
            msg = f"the body must be JSON sent with 'Content-Type: application/json' (got {ctype or 'none'!r})"
        return JSONBody(error_body("validation", msg, details), status_code=422)

    @app.exception_handler(ValidationError)
    async def _invalid_event(_req: Request, exc: ValidationError):
        return JSONBody(error_body("validation", exc.reason, {"code": exc.code}), status_code=422)

    @app.exception_handler(EcomopsError)
    async def _ecomops(_req: Request, exc: EcomopsError):
        return JSONBody(error_body("bad_request", str(exc)), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException):
        code = _STATUS_CODES.get(exc.status_code, "error")
        msg = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return JSONBody(error_body(code, msg), status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _internal(req: Request, exc: Exception):
        ref = uuid.uuid4().hex[:12]
        log.error("internal error %s on %s %s", ref, req.method, req.url.path, exc_info=exc)
        return JSONBody(error_body("internal", f"internal error (reference {ref}); the server log has the details"),
                        status_code=500)


class BodyLimit:
    """Pure ASGI middleware: 413 for a body over ``limit`` bytes (declared or streamed)."""

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = int(limit)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = None
        for k, v in scope.get("headers") or ():
            if k == b"content-length":
                try:
                    declared = int(v)
                except ValueError:
                    return await self._reject(send, 400, "bad_request", "Content-Length is not a number")
        if declared is not None and declared > self.limit:
            return await self._too_large(send)
        if declared == 0 or scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE") and declared is None:
            return await self.app(scope, receive, send)
        body = bytearray()
        more = True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
            if len(body) > self.limit:
                return await self._too_large(send)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _too_large(self, send):
        return await self._reject(send, 413, "too_large", f"request body is larger than {self.limit} bytes; "
                                  "send smaller batches")

    @staticmethod
    async def _reject(send, status: int, code: str, message: str):
        body = orjson.dumps(error_body(code, message))
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
