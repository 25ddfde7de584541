"""``ecomops keys create|list|revoke`` and ``ecomops serve``: the HTTP service and its API keys.

Registered on the main app by :func:`register` (called from ``ecomops.cli``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .core.errors import EcomopsError

__all__ = ["register"]

console = Console(stderr=True)
out = Console()
keys_app = typer.Typer(help="API keys of the HTTP service (one merchant each, or admin). Stored hashed.",
                       no_args_is_help=True)

_STATE_HELP = "State directory of the service (its SQLite database holds the keys)."
_DB_HELP = "Database URL (e.g. postgresql://user@host/db); default SQLite in --state."


def _fail(msg: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {escape(str(msg))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _store(state: Path, db: Optional[str]):
    from .store import Store

    try:
        return Store.open(state, db)
    except EcomopsError as exc:
        _fail(str(exc))


@keys_app.command("create")
def create(
    merchant: str = typer.Option(..., help="The merchant this key acts for."),
    admin: bool = typer.Option(False, "--admin", help="An admin key: sees and acts for every merchant."),
    rate_limit: Optional[float] = typer.Option(None, help="Requests per second for this key (default: the server's --rate-limit)."),
    label: str = typer.Option("", help="A note to recognise the key by (e.g. who uses it)."),
    state: Path = typer.Option(Path("state"), help=_STATE_HELP),
    db: Optional[str] = typer.Option(None, help=_DB_HELP),
    json_out: bool = typer.Option(False, "--json", help='Print {"key": ..., "merchant_id": ...}.'),
) -> None:
    """Create an API key and print it ONCE (only its hash is stored). Clients send `Authorization: Bearer KEY`."""
    from .store.keys import create_key

    try:
        key, info = create_key(_store(state, db), merchant, admin=admin, rate_limit=rate_limit, label=label)
    except EcomopsError as exc:
        _fail(str(exc))
    if json_out:
        sys.stdout.write(json.dumps({"key": key, "merchant_id": info.merchant_id, "key_id": info.key_id,
                                     "admin": info.admin}) + "\n")
        return
    sys.stdout.write(key + "\n")
    console.print(f"key {info.key_id} for merchant {escape(info.merchant_id)}{' (admin)' if admin else ''}: "
                  "store it now, it is not shown again")


@keys_app.command("list")
def list_cmd(
    merchant: Optional[str] = typer.Option(None, help="Only this merchant's keys."),
    state: Path = typer.Option(Path("state"), help=_STATE_HELP),
    db: Optional[str] = typer.Option(None, help=_DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print JSON lines (never the key itself)."),
) -> None:
    """List keys: id, merchant, admin, created, revoked (the keys themselves cannot be shown)."""
    from .store.keys import list_keys

    rows = list_keys(_store(state, db), merchant)
    if json_out:
        for k in rows:
            sys.stdout.write(json.dumps(k.to_dict()) + "\n")
        return
    t = Table(title="API keys")
    for c in ("key id", "merchant", "admin", "rate limit", "label", "revoked"):
        t.add_column(c)
    for k in rows:
        t.add_row(k.key_id, escape(k.merchant_id), "yes" if k.admin else "", str(k.rate_limit or ""), escape(k.label),
                  "revoked" if k.revoked else "")
    out.print(t)


@keys_app.command("revoke")
def revoke(
    key_id: str = typer.Argument(..., help="The key id (from `ecomops keys list`) or the key."),
    state: Path = typer.Option(Path("state"), help=_STATE_HELP),
    db: Optional[str] = typer.Option(None, help=_DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Revoke a key: a running server refuses it within 2 seconds."""
    from .store.keys import revoke_key

    ok = revoke_key(_store(state, db), key_id)
    if json_out:
        sys.stdout.write(json.dumps({"revoked": ok, "key_id": key_id}) + "\n")
    elif ok:
        out.print(f"revoked {escape(key_id)}")
    if not ok:
        _fail(f"no live key {key_id!r}", 1)


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, help="TCP port."),
    state: Path = typer.Option(Path("state"), help="State directory: database (models, inbox, keys, knowledge)."),
    db: Optional[str] = typer.Option(None, help=_DB_HELP),
    source: List[str] = typer.Option(
        [], help="Also stream events from here into the engine (repeatable): `sim` or `sim?events=N&seed=S` (the "
        "simulator), `file:PATH` (.jsonl/.csv/.parquet), `redis://HOST:PORT/STREAM`. Default: none, events arrive "
        "over HTTP (POST /v1/events) only."),
    rate_limit: float = typer.Option(1000.0, help="Requests per second per key (a key may carry its own)."),
    burst: float = typer.Option(2000.0, help="Requests a key may send at once above its rate."),
    max_body_mb: float = typer.Option(16.0, help="Largest request body in MiB (413 above)."),
    flush_interval: float = typer.Option(1.0, help="Seconds: the longest an accepted event waits to be learned."),
    checkpoint_interval: float = typer.Option(30.0, help="Seconds between saves of models + offset under a steady "
                                              "stream (sooner when it pauses or a client waits). Events are durable "
                                              "in the inbox anyway; a crash re-learns what came after the last save."),
    kb_encoder: str = typer.Option("default", help="Knowledge-base dense encoder: `default` (bundled MiniLM), a local model dir, or `none` (BM25 only)."),
    llm: Optional[str] = typer.Option(None, help="Language model of /v1/ask: `extractive` (default), an OpenAI-compatible URL, or a local model dir."),
    risk_alert_threshold: float = typer.Option(0.9, help="An order scored at or above this fake-order risk raises an alert."),
    max_merchants: int = typer.Option(256, help="Most merchants (each with its own models)."),
    log_level: str = typer.Option("info", help="Server log level: debug, info, warning, error."),
) -> None:
    """Run the HTTP service: ingest, scores with reasons, recommendations, audit, ask, alerts, models.

    The engine runs in this process on the state directory (embedded SQLite by default). Create keys
    first with `ecomops keys create --merchant M --state DIR`. OpenAPI at /openapi.json, a readable
    list at /docs. One server per state directory. Ctrl-C / SIGTERM: the engine checkpoints and stops.
    """
    try:
        import uvicorn

        from .api import ServiceConfig, create_app
    except ImportError as exc:
        _fail(f"the service needs the api extra: pip install 'ecomops[api]' ({exc})")
    from .core.config import EngineConfig

    try:
        cfg = ServiceConfig(state=state, db=db, sources=list(source), rate_limit=rate_limit, burst=burst,
                            max_body_bytes=int(max_body_mb * 1024 * 1024), flush_interval=flush_interval,
                            checkpoint_interval=checkpoint_interval, kb_encoder=kb_encoder, llm=llm,
                            engine=EngineConfig(max_merchants=max_merchants, risk_alert_threshold=risk_alert_threshold))
        lock = _lock_state(state) if db is None else None
        app = create_app(cfg)
    except EcomopsError as exc:
        _fail(str(exc))
    console.print(f"ecomops serving on http://{host}:{port}  (state {escape(str(state))}; docs at /docs)")
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=log_level == "debug")
    finally:
        if lock is not None:
            lock.close()


def _lock_state(state: Path):
    """One server per state directory: a second one would fight over the inbox and checkpoints."""
    import fcntl

    state.mkdir(parents=True, exist_ok=True)
    fh = open(state / "serve.lock", "w")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        _fail(f"another `ecomops serve` is running on {state}")
    return fh


def register(app: typer.Typer) -> None:
    """Add ``keys`` and ``serve`` to the main app."""
    app.add_typer(keys_app, name="keys")
    app.command("serve")(serve)
