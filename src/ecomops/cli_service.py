"""``ecomops ask`` and ``ecomops feedback``: the customer-service agent from the command line.

Registered on the main app by :func:`register` (called from ``ecomops.cli``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

from .core.errors import EcomopsError

__all__ = ["register", "ask", "feedback"]

console = Console(stderr=True)
out = Console()

_STATE_HELP = "State directory (its SQLite database holds the knowledge base and the intent model)."
_DB_HELP = "Database URL (e.g. postgresql://user@host/db); default SQLite in --state."
_ENCODER_HELP = "Dense encoder: `default` (bundled MiniLM), a local model dir, or `none` (BM25 only)."
_LLM_HELP = "Language model: `extractive` (offline default), an OpenAI-compatible base URL, or a local model dir."


def _fail(msg: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {escape(str(msg))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _emit_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def _agent(state: Path, db: Optional[str], merchant: str, encoder: str, llm: Optional[str],
           threshold: float = 0.35):
    from .ops.service import ServiceAgent
    from .store import Store

    if not merchant.strip():
        _fail("--merchant is required and must not be empty")
    try:
        return ServiceAgent(Store.open(state, db), merchant.strip(), llm=llm, encoder=encoder,
                            confidence_threshold=threshold)
    except EcomopsError as exc:
        _fail(str(exc))


def ask(
    question: str = typer.Argument(..., help="The customer's question."),
    merchant: str = typer.Option(..., help="The merchant (tenant) answering; only its documents are used."),
    state: Path = typer.Option(Path("state"), help=_STATE_HELP),
    db: Optional[str] = typer.Option(None, help=_DB_HELP),
    llm: Optional[str] = typer.Option(None, help=_LLM_HELP),
    encoder: str = typer.Option("default", help=_ENCODER_HELP),
    threshold: float = typer.Option(0.35, help="Hand off to a person below this confidence."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON: answer, citations, intent, confidence, escalate."),
) -> None:
    """Answer a customer's question from the merchant's knowledge base, with citations (or hand it off)."""
    agent = _agent(state, db, merchant, encoder, llm, threshold)
    try:
        a = agent.ask(question)
    except EcomopsError as exc:
        _fail(str(exc))
    if json_out:
        _emit_json(a.to_dict())
        return
    out.print(escape(a.answer))
    for i, c in enumerate(a.citations, start=1):
        out.print(f"  [{i}] {escape(c['doc_id'])} v{c['version']}")
    out.print(f"intent {escape(a.intent)}  confidence {a.confidence:.2f}"
              + (f"  [yellow]hand off to a person:[/] {escape(a.reason)}" if a.escalate else ""))


def feedback(
    merchant: str = typer.Option(..., help="The merchant (tenant)."),
    question: str = typer.Option(..., help="The customer's question."),
    answer: str = typer.Option("", help="The answer that was given."),
    accept: bool = typer.Option(False, "--accept", help="The answer was right."),
    correct: Optional[str] = typer.Option(None, "--correct", help="The right answer (stored as a past answer)."),
    intent: Optional[str] = typer.Option(None, "--intent", help="The right intent (trains the classifier)."),
    state: Path = typer.Option(Path("state"), help=_STATE_HELP),
    db: Optional[str] = typer.Option(None, help=_DB_HELP),
    encoder: str = typer.Option("default", help=_ENCODER_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Feed back an answer: accepted or corrected answers join the knowledge base, intents train the model."""
    if not accept and not correct and not intent:
        _fail("give --accept, --correct TEXT or --intent INTENT")
    agent = _agent(state, db, merchant, encoder, "extractive")
    try:
        res = agent.feedback(question, answer, accepted=accept, corrected_answer=correct, corrected_intent=intent)
    except EcomopsError as exc:
        _fail(str(exc))
    if json_out:
        _emit_json(res)
        return
    pa = res["past_answer"]
    out.print(f"feedback stored for merchant {escape(res['merchant'])}"
              + (f": past answer {escape(pa['doc_id'])} v{pa['version']}" if pa else "")
              + (f", intent {escape(res['intent'])}" if res["intent"] else ""))


def register(app: typer.Typer) -> None:
    """Add ``ask`` and ``feedback`` to the main app."""
    app.command("ask")(ask)
    app.command("feedback")(feedback)
