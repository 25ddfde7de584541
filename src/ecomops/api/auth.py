"""Who is calling: ``Authorization: Bearer KEY`` -> a :class:`Tenant`, rate-limited per key.

A merchant key acts for its merchant only: every read goes through ``store.scoped(its
merchant)``, and naming another merchant (in a query, a body or an event) is refused with 403
whether that merchant exists or not, so a refusal reveals nothing. An admin key sees every
merchant (``store.scoped("*")``) and may name any.

Verified keys are cached for ``KEY_TTL`` seconds (a revoked key stops working within that
time). Rate limit: a token bucket per key, ``rate`` requests/s with ``burst`` capacity (a key
created with ``--rate-limit R`` gets R/s and a burst of R); over it: 429 with ``Retry-After``.
"""

from __future__ import annotations

import math
import threading
import time

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ..store import ALL_MERCHANTS, MerchantScope, Store
from ..store.keys import ApiKey, verify_key
from .errors import ApiError

__all__ = ["Tenant", "KeyCache", "RateLimiter", "authenticate", "KEY_TTL"]

KEY_TTL = 2.0


class Tenant:
    """The caller: one merchant's key, or an admin key."""

    def __init__(self, key: ApiKey, store: Store):
        self.key = key
        self._store = store

    @property
    def admin(self) -> bool:
        return self.key.admin

    @property
    def merchant_id(self) -> str:
        return self.key.merchant_id

    def _check(self, merchant_id: str | None) -> None:
        if merchant_id is not None and not self.admin and merchant_id != self.key.merchant_id:
            raise ApiError(403, "forbidden", f"this key acts for merchant {self.key.merchant_id!r} only")

    def scope(self, merchant_id: str | None = None) -> MerchantScope:
        """For listings: the key's merchant; an admin: every merchant, or the one named."""
        self._check(merchant_id)
        if self.admin:
            return self._store.scoped(merchant_id or ALL_MERCHANTS)
        return self._store.scoped(self.key.merchant_id)

    def merchant(self, merchant_id: str | None = None) -> str:
        """For one-merchant actions: the key's merchant; an admin may name another."""
        self._check(merchant_id)
        return merchant_id if (self.admin and merchant_id) else self.key.merchant_id

    def require_admin(self) -> None:
        if not self.admin:
            raise ApiError(403, "forbidden", "this needs an admin key (ecomops keys create --admin)")


class KeyCache:
    def __init__(self, store: Store, ttl: float = KEY_TTL):
        self.store = store
        self.ttl = ttl
        self._d: dict[str, tuple[ApiKey | None, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bool, ApiKey | None]:
        hit = self._d.get(key)
        if hit is not None and hit[1] > time.monotonic():
            return True, hit[0]
        return False, None

    def put(self, key: str, info: ApiKey | None) -> None:
        with self._lock:
            if len(self._d) > 10_000:  # bad keys must not grow it without bound
                self._d.clear()
            self._d[key] = (info, time.monotonic() + self.ttl)

    def verify(self, key: str) -> ApiKey | None:
        info = verify_key(self.store, key)
        self.put(key, info)
        return info


class RateLimiter:
    def __init__(self, rate: float, burst: float):
        self.rate = float(rate)
        self.burst = float(burst)
        self._b: dict[str, list[float]] = {}  # key_id -> [tokens, last]
        self._lock = threading.Lock()

    def take(self, key: ApiKey) -> float:
        """0 when allowed; else the seconds to wait."""
        rate = key.rate_limit or self.rate
        burst = max(key.rate_limit, 1.0) if key.rate_limit else self.burst
        now = time.monotonic()
        with self._lock:
            b = self._b.get(key.key_id)
            if b is None:
                b = self._b[key.key_id] = [burst, now]
            b[0] = min(burst, b[0] + (now - b[1]) * rate)
            b[1] = now
            if b[0] >= 1.0:
                b[0] -= 1.0
                return 0.0
            return (1.0 - b[0]) / rate


def _bearer(request: Request) -> str:
    h = request.headers.get("authorization")
    if not h:
        raise ApiError(401, "unauthorized", "send the API key as 'Authorization: Bearer KEY' "
                       "(create one with `ecomops keys create --merchant M`)", {"WWW-Authenticate": "Bearer"})
    scheme, _, token = h.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "the Authorization header must read 'Bearer KEY'",
                       {"WWW-Authenticate": "Bearer"})
    return token.strip()


async def authenticate(request: Request) -> Tenant:
    """FastAPI dependency: the caller's :class:`Tenant` (401 / 429 otherwise)."""
    app = request.app.state
    token = _bearer(request)
    cached, info = app.keys.get(token)
    if not cached:
        info = await run_in_threadpool(app.keys.verify, token)
    if info is None:
        raise ApiError(401, "unauthorized", "unknown or revoked API key", {"WWW-Authenticate": "Bearer"})
    wait = app.limiter.take(info)
    if wait > 0:
        app.metrics.inc("rate_limited_total")
        raise ApiError(429, "rate_limited", f"rate limit of this key exceeded; retry in {wait:.2f} s",
                       {"Retry-After": str(max(1, math.ceil(wait)))})
    return Tenant(info, app.runtime.store)
