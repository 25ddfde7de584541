"""API keys: one merchant each (or admin), stored as a SHA-256 hash of the key, shown once.

A key reads ``eco_<key_id>_<secret>``: ``key_id`` (10 hex characters, public) finds the row,
the secret is 32 random bytes (256 bits), so a plain SHA-256 of the whole key is as good as a
slow password hash would be, and cheap enough to check on every request. Nothing in the store
can give a key back.

>>> import tempfile
>>> from ecomops.store import Store
>>> store = Store.open(tempfile.mkdtemp())
>>> key, info = create_key(store, "m1")
>>> verify_key(store, key).merchant_id, verify_key(store, key + "x")
('m1', None)
>>> revoke_key(store, info.key_id), verify_key(store, key)
(True, None)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select

from ..core.errors import StateError
from .db import ALL_MERCHANTS, Store
from .schema import api_keys

__all__ = ["ApiKey", "create_key", "list_keys", "revoke_key", "verify_key", "KEY_PREFIX"]

KEY_PREFIX = "eco_"
_KEY_RX = re.compile(r"^eco_([0-9a-f]{10})_([A-Za-z0-9_-]{20,100})$")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    merchant_id: str
    admin: bool
    rate_limit: float | None
    label: str
    created_at: float
    revoked_at: float | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def to_dict(self) -> dict:
        return {"key_id": self.key_id, "merchant_id": self.merchant_id, "admin": self.admin,
                "rate_limit": self.rate_limit, "label": self.label, "created_at": self.created_at,
                "revoked": self.revoked, "revoked_at": self.revoked_at}


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _row(r) -> ApiKey:
    return ApiKey(r.key_id, r.merchant_id, bool(r.admin), r.rate_limit, r.label or "", r.created_at, r.revoked_at)


def create_key(store: Store, merchant_id: str, admin: bool = False, rate_limit: float | None = None,
               label: str = "") -> tuple[str, ApiKey]:
    """A new key for ``merchant_id``; returns ``(key, info)``. The key itself is not stored."""
    merchant_id = (merchant_id or "").strip()
    if not merchant_id or merchant_id == ALL_MERCHANTS or len(merchant_id) > 128:
        raise StateError("a key belongs to one merchant: give --merchant ID (1-128 characters, not '*'); "
                         "add --admin for a key that sees every merchant")
    if rate_limit is not None and not rate_limit > 0:
        raise StateError(f"rate limit must be a positive number of requests per second, got {rate_limit}")
    key_id = secrets.token_hex(5)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    info = ApiKey(key_id, merchant_id, bool(admin), rate_limit, label, time.time())
    with store.engine.begin() as conn:
        conn.execute(api_keys.insert(), dict(key_id=key_id, merchant_id=merchant_id, secret_hash=_hash(key),
                                             admin=int(admin), rate_limit=rate_limit, label=label,
                                             created_at=info.created_at, revoked_at=None))
    return key, info


def verify_key(store: Store, key: str) -> ApiKey | None:
    """The key's record when ``key`` is valid and not revoked, else None (constant-time compare)."""
    m = _KEY_RX.match(key or "")
    if m is None:
        return None
    with store.engine.connect() as conn:
        r = conn.execute(select(api_keys).where(api_keys.c.key_id == m.group(1))).first()
    if r is None or r.revoked_at is not None or not hmac.compare_digest(r.secret_hash, _hash(key)):
        return None
    return _row(r)


def list_keys(store: Store, merchant_id: str | None = None) -> list[ApiKey]:
    q = select(api_keys).order_by(api_keys.c.created_at)
    if merchant_id:
        q = q.where(api_keys.c.merchant_id == merchant_id)
    with store.engine.connect() as conn:
        return [_row(r) for r in conn.execute(q)]


def revoke_key(store: Store, key_id: str) -> bool:
    """Revoke by key id (or by the whole key); False when no such live key."""
    m = _KEY_RX.match(key_id or "")
    kid = m.group(1) if m else (key_id or "")
    with store.engine.begin() as conn:
        res = conn.execute(api_keys.update().where(api_keys.c.key_id == kid, api_keys.c.revoked_at.is_(None))
                           .values(revoked_at=time.time()))
    return res.rowcount > 0
