"""Layer 6: the HTTP service (FastAPI) over the in-process engine. ``ecomops serve`` runs it.

Needs the ``api`` extra (``pip install 'ecomops[api]'``: FastAPI, uvicorn).
"""

from .runtime import ServiceConfig

__all__ = ["ServiceConfig", "create_app"]


def create_app(cfg: ServiceConfig, runtime=None):
    from .app import create_app as _create

    return _create(cfg, runtime)
