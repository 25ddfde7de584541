"""The FastAPI application: routers, auth, limits, error handling, health, metrics, docs.

``create_app(ServiceConfig(...))`` opens the store and the in-process engine (a state directory
that cannot be served fails here, before the port opens); the engine thread and the
forwarders start with the app and stop with it (the engine checkpoints on the way out).

The web dashboard can be served by the same app: when ``ecomops/web/static/index.html``
exists, ``/static`` serves that folder and ``/`` that page; otherwise ``/`` lists the API.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from .auth import KeyCache, RateLimiter, Tenant, authenticate
from .errors import BodyLimit, JSONBody, install_handlers
from .metrics import Metrics, MetricsMiddleware
from .routes_events import router as events_router
from .routes_language import Language
from .routes_language import router as language_router
from .routes_models import router as models_router
from .routes_review import History, Reviews
from .routes_review import router as review_router
from .runtime import Runtime, ServiceConfig

__all__ = ["create_app"]

log = logging.getLogger("ecomops.api")
WEB_DIR = Path(__file__).resolve().parent.parent / "web" / "static"
DOCS_HTML = Path(__file__).with_name("docs.html")

DESCRIPTION = """The ecomops service: events in, per-merchant online models, scores with reasons.

Authenticate with `Authorization: Bearer KEY` (`ecomops keys create --merchant M`). A merchant key
reads and writes its own merchant only; an admin key (`--admin`) sees every merchant. Errors are
`{"error": {"code", "message"}}`.
"""


def create_app(cfg: ServiceConfig, runtime: Runtime | None = None) -> FastAPI:
    rt = runtime if runtime is not None else Runtime(cfg)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        rt.start()
        try:
            yield
        finally:
            app.state.language.save_all()
            rt.close()

    app = FastAPI(title="ecomops", version="0.1.0", description=DESCRIPTION, lifespan=lifespan,
                  default_response_class=JSONBody, docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.state.runtime = rt
    app.state.keys = KeyCache(rt.store)
    app.state.limiter = RateLimiter(cfg.rate_limit, cfg.burst)
    app.state.metrics = metrics = Metrics()
    app.state.language = Language(rt)
    app.state.reviews = Reviews(rt)
    app.state.history = History()
    install_handlers(app)
    app.add_middleware(BodyLimit, limit=cfg.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # outermost: counts 413s too
    app.include_router(events_router)
    app.include_router(review_router)  # before models: /v1/models/history
    app.include_router(models_router)
    app.include_router(language_router)

    @app.get("/healthz", tags=["service"], summary="Liveness: 200 while the engine runs, 503 otherwise")
    def healthz():
        ok = rt.engine_ok
        body = {"status": "ok" if ok else "degraded", "engine": "running" if ok else "restarting"}
        return JSONBody(body, status_code=200 if ok else 503)

    @app.get("/v1/me", tags=["service"], summary="Who this key is")
    def me(tenant: Tenant = Depends(authenticate)):
        k = tenant.key
        return {"key_id": k.key_id, "merchant_id": k.merchant_id, "admin": k.admin}

    @app.get("/v1/engine", tags=["service"], summary="Engine counters (admin)")
    def engine_status(tenant: Tenant = Depends(authenticate)):
        tenant.require_admin()
        eng = rt.engine
        return {
            "running": rt.engine_ok,
            "records_read": eng.records_read if eng else None,
            "events_applied": eng.events_applied if eng else None,
            "dead_letters": eng.dead_letter_total if eng else None,
            "merchants": sorted(eng.merchants) if eng else [],
            "inbox_backlog": rt.backlog(),
            "checkpointed_offset": rt.applied,
            "forwarders": [{"source": f.spec, "forwarded": f.forwarded, "done": f.done, "error": f.error}
                           for f in rt.forwarders],
        }

    @app.get("/metrics", tags=["service"], response_class=PlainTextResponse,
             summary="Prometheus metrics (admin key; service-wide numbers only)")
    def prometheus(tenant: Tenant = Depends(authenticate)):
        tenant.require_admin()
        eng = rt.engine
        gauges = {
            "engine_up": ("1 while the engine thread runs.", 1.0 if rt.engine_ok else 0.0),
            "inbox_backlog": ("Accepted events the engine has not learned yet.", float(rt.backlog())),
            "engine_checkpoints": ("Checkpoints since start.", float(rt.checkpoints)),
            "engine_records_read": ("Records the engine has read (all time).", float(eng.records_read if eng else 0)),
            "engine_events_applied": ("Events applied (all time).", float(eng.events_applied if eng else 0)),
            "engine_dead_letters": ("Dead letters (all time).", float(eng.dead_letter_total if eng else 0)),
            "engine_merchants": ("Merchants with models.", float(len(eng.merchants) if eng else 0)),
        }
        return PlainTextResponse(metrics.render(gauges), media_type="text/plain; version=0.0.4")

    @app.get("/docs", include_in_schema=False)
    def docs():
        return HTMLResponse(DOCS_HTML.read_text(encoding="utf-8"))

    if (WEB_DIR / "index.html").exists():
        from fastapi.staticfiles import StaticFiles

        app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

        @app.get("/", include_in_schema=False)
        def index_page():
            return HTMLResponse((WEB_DIR / "index.html").read_text(encoding="utf-8"))
    else:
        @app.get("/", include_in_schema=False)
        def index(request: Request):
            return {"service": "ecomops", "docs": "/docs", "openapi": "/openapi.json", "health": "/healthz"}

    return app
