"""``ecomops kb ...``: the per-merchant knowledge base (add documents, search them).

Registered on the main app by :func:`register` (called from ``ecomops.cli``); torch and
transformers load only when a command needs the dense encoder (``--encoder none`` skips them).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .core.errors import EcomopsError

__all__ = ["kb_app", "register"]

kb_app = typer.Typer(
    help="Knowledge base per merchant: versioned policies, regulations, product specs, FAQ and past "
    "answers (md, txt, csv, jsonl), searched with BM25 plus dense vectors (reciprocal rank fusion).",
    no_args_is_help=True,
)

console = Console(stderr=True)
out = Console()

_STATE_HELP = "State directory (its SQLite database holds the knowledge base)."
_DB_HELP = "Database URL (e.g. postgresql://user@host/db); default SQLite in --state."
_ENCODER_HELP = "Dense encoder: `default` (bundled MiniLM), a local model dir, or `none` (BM25 only)."


def register(app: typer.Typer) -> None:
    """Add ``kb`` to the main app."""
    app.add_typer(kb_app, name="kb")


def _fail(msg: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {escape(str(msg))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _emit_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def _kb(state: Path, db: Optional[str], merchant: str, encoder: str):
    from .knowledge import KnowledgeBase
    from .store import Store

    if not merchant.strip():
        _fail("--merchant is required and must not be empty")
    try:
        return KnowledgeBase(Store.open(state, db), merchant.strip(), encoder=encoder)
    except EcomopsError as exc:
        _fail(str(exc))


def _warn_bm25_only(kb, encoder: str) -> None:
    if encoder.lower() != "none" and not kb.dense:
        console.print(f"[yellow]warning:[/] {escape(kb.dense_off_reason or 'dense retrieval off')}")


@kb_app.command("add")
def kb_add(
    path: Path = typer.Argument(..., help="FILE.md / .txt (one document), FILE.csv / .jsonl (question,answer "
                                "rows: one document per answer; or a text column)."),
    merchant: str = typer.Option(..., help="The merchant (tenant) whose knowledge base this is."),
    kind: Optional[str] = typer.Option(None, help="Document kind: policy, regulation, product, faq, answer, document."),
    state: Path = typer.Option(Path("state"), help=_STATE_HELP),
    db: Optional[str] = typer.Option(None, help=_DB_HELP),
    encoder: str = typer.Option("default", help=_ENCODER_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Add a file's documents; adding a file again under the same name makes new versions of them."""
    kb = _kb(state, db, merchant, encoder)
    try:
        added = kb.add_file(path, kind=kind)
    except EcomopsError as exc:
        _fail(str(exc))
    _warn_bm25_only(kb, encoder)
    summary = {
        "merchant": kb.merchant_id,
        "source": path.name,
        "documents": [{"doc_id": d, "version": v} for d, v in added],
        "dense": kb.dense,
    }
    if json_out:
        _emit_json(summary)
        return
    new = sum(1 for _, v in added if v == 1)
    out.print(f"added {len(added)} document(s) from {escape(path.name)} for merchant {escape(kb.merchant_id)}: "
              f"{new} new, {len(added) - new} new version(s)")


@kb_app.command("search")
def kb_search(
    query: str = typer.Argument(..., help="What to look for."),
    merchant: str = typer.Option(..., help="The merchant (tenant) whose knowledge base to search."),
    k: int = typer.Option(5, "--k", "-k", help="How many documents to return."),
    state: Path = typer.Option(Path("state"), help=_STATE_HELP),
    db: Optional[str] = typer.Option(None, help=_DB_HELP),
    encoder: str = typer.Option("default", help=_ENCODER_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print JSON: a list of hits."),
) -> None:
    """Search the current versions of a merchant's documents (superseded versions are never returned)."""
    if k < 1:
        _fail(f"--k must be at least 1, not {k}")
    kb = _kb(state, db, merchant, encoder)
    try:
        hits = kb.search(query, k=k)
    except EcomopsError as exc:
        _fail(str(exc))
    _warn_bm25_only(kb, encoder)
    if json_out:
        _emit_json([h.to_dict() for h in hits])
        return
    if not hits:
        out.print(f"no documents match for merchant {escape(kb.merchant_id)}")
        return
    t = Table(title=f"{escape(query)} ({'BM25 + dense' if kb.dense else 'BM25 only'})")
    for c in ("#", "doc_id", "v", "title", "text", "score"):
        t.add_column(c, overflow="fold")
    for i, h in enumerate(hits, start=1):
        text = h.text if len(h.text) <= 160 else h.text[:157] + "..."
        t.add_row(str(i), escape(h.doc_id), str(h.version), escape(h.title), escape(text), f"{h.score:.4f}")
    out.print(t)


def _read_pairs(path: Path) -> tuple[list[tuple[str, str]], list[str] | None]:
    """CSV or JSONL rows with ``question`` and ``doc_id`` (and optionally ``group``, e.g. the intent)."""
    import csv

    rows: list[dict] = []
    try:
        with open(path, encoding="utf-8", newline="") as f:
            if path.suffix.lower() == ".jsonl":
                for n, line in enumerate(f, start=1):
                    if line.strip():
                        try:
                            rows.append(json.loads(line))
                        except ValueError as exc:
                            _fail(f"{path}:{n}: not JSON ({exc})")
            else:
                rows = list(csv.DictReader(f))
    except OSError as exc:
        _fail(f"cannot read {path}: {exc}")
    for n, r in enumerate(rows, start=1):
        if not isinstance(r, dict) or not str(r.get("question") or "").strip() or not str(r.get("doc_id") or "").strip():
            _fail(f"{path}: row {n} needs non-empty 'question' and 'doc_id' fields")
    pairs = [(str(r["question"]), str(r["doc_id"])) for r in rows]
    groups = [str(r.get("group") or "") for r in rows] if any(r.get("group") for r in rows) else None
    return pairs, groups


@kb_app.command("tune")
def kb_tune(
    merchant: str = typer.Option(..., help="The merchant (tenant) whose retriever to tune."),
    pairs: Optional[Path] = typer.Option(None, help="CSV/JSONL of question,doc_id[,group] pairs. Default: every "
                                         "current document with a title (FAQ questions, accepted past answers)."),
    epochs: int = typer.Option(2, min=1, help="Passes over the pairs."),
    state: Path = typer.Option(Path("state"), help=_STATE_HELP),
    db: Optional[str] = typer.Option(None, help=_DB_HELP),
    encoder: str = typer.Option("default", help="The base encoder: `default` (bundled MiniLM) or a local model dir."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Teach this merchant's retriever which document answers which question (a LoRA adapter on the
    encoder, kept only if it retrieves held-out questions at least as well as the current one; the
    merchant's search and `ecomops ask` use it from then on)."""
    from .knowledge.tuning import tune_retriever

    if encoder.lower() == "none":
        _fail("retrieval tuning needs a dense encoder: drop --encoder none")
    kb = _kb(state, db, merchant, encoder)
    p, g = _read_pairs(pairs) if pairs else (None, None)
    try:
        report = tune_retriever(kb, p, g, epochs=epochs, progress=not json_out)
    except EcomopsError as exc:
        _fail(str(exc))
    if json_out:
        _emit_json(report)
        return
    b, a = report.get("held_out_recall_at_5_before"), report.get("held_out_recall_at_5_after")
    check = f"held-out recall@5 {b} -> {a}" if b is not None else "too few pairs to hold some out"
    verdict = f"kept as version {report['version']}" if report["kept"] else "NOT kept (it retrieved worse)"
    out.print(f"merchant {escape(kb.merchant_id)}: tuned on {report['trained_on']} pairs, {check}; {verdict}")
