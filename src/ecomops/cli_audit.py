"""``ecomops audit FILE.jsonl``: listing compliance audit with a YAML rule pack.

Each input line is a listing ``{"listing_id", "merchant_id", "title", "description", "category",
"attributes": {}, "certifications": [], "price", "currency"}``; each output line (``--json``) is
``{"listing_id", "verdict", "reasons": [{"code", "message", "citation"}]}``. Malformed lines are
reported on stderr with their line number and skipped; the run goes on and exits 1 at the end.
The auditor's learned state (category price statistics, reviewers' feedback) lives in
``--state DIR/audit_state.json`` and carries over between runs.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .core.errors import EcomopsError

__all__ = ["register", "audit_cmd", "STATE_FILE"]

STATE_FILE = "audit_state.json"
console = Console(stderr=True)
out = Console()


def register(app: typer.Typer) -> None:
    """Add ``audit`` to the main app."""
    app.command("audit")(audit_cmd)


def _fail(msg: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {escape(str(msg))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def audit_cmd(
    file: Path = typer.Argument(..., help="Listings, one JSON object per line (.jsonl)."),
    rules: Optional[Path] = typer.Option(None, "--rules", help="Rule pack YAML (default: the China pack shipped with ecomops)."),
    state: Path = typer.Option(Path("state"), help="State directory: learned price statistics and reviewers' feedback."),
    show: int = typer.Option(50, help="Without --json: table rows to print (flagged listings first)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object per listing per line on stdout."),
) -> None:
    """Audit listings for compliance: CCC certification, absolute claims (广告法), required attributes,
    wrong category, price anomalies. Verdict pass / review / reject with cited reasons."""
    from .ops.audit import Auditor, load_pack
    from .ops.audit.auditor import STATE_VERSION

    try:
        pack = load_pack(rules)
    except EcomopsError as exc:
        _fail(exc)
    if not file.is_file():
        _fail(f"listings file {file} not found")
    state_path = state / STATE_FILE
    auditor = Auditor(pack)
    if state_path.exists():
        try:
            auditor = Auditor.from_state(json.loads(state_path.read_text(encoding="utf-8")), pack)
        except (ValueError, EcomopsError) as exc:
            _fail(f"cannot load audit state {state_path}: {exc} (version {STATE_VERSION} expected; "
                  "delete the file to start afresh)")
    counts: Counter = Counter()
    errors = 0
    rows = []
    try:
        fh = file.open("r", encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        _fail(f"cannot read {file}: {exc}")
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                listing = json.loads(line)
                verdict = auditor.audit(listing)
            except (ValueError, EcomopsError) as exc:  # json.JSONDecodeError is a ValueError
                errors += 1
                console.print(f"[yellow]line {lineno}:[/] {escape(str(exc))} (skipped)", highlight=False, soft_wrap=True)
                continue
            counts[verdict.verdict] += 1
            for r in verdict.reasons:
                counts["code:" + r.code] += 1
            if json_out:
                sys.stdout.write(json.dumps(verdict.to_dict(), ensure_ascii=False) + "\n")
            elif verdict.verdict != "pass" or len(rows) < show:
                rows.append(verdict)
    try:
        state.mkdir(parents=True, exist_ok=True)
        tmp = state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(auditor.state_dict(), ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, state_path)
    except OSError as exc:
        _fail(f"cannot write audit state {state_path}: {exc}")
    if not json_out:
        rows.sort(key=lambda v: {"reject": 0, "review": 1, "pass": 2}[v.verdict])
        t = Table(title=f"audit of {escape(str(file))} with the {escape(pack.name)} rule pack "
                        f"(first {min(show, len(rows))} rows, flagged first)")
        for c in ("listing", "verdict", "reasons"):
            t.add_column(c)
        colour = {"reject": "red", "review": "yellow", "pass": "green"}
        for v in rows[:show]:
            t.add_row(escape(v.listing_id), f"[{colour[v.verdict]}]{v.verdict}[/]",
                      escape("\n".join(f"{r.code}: {r.message}" for r in v.reasons)) or "-")
        out.print(t)
        total = counts["pass"] + counts["review"] + counts["reject"]
        out.print(f"{total:,} listings: {counts['pass']:,} pass, {counts['review']:,} review, "
                  f"{counts['reject']:,} reject; {errors:,} malformed line(s) skipped")
        by_code = ", ".join(f"{k[5:]} {n:,}" for k, n in sorted(counts.items()) if k.startswith("code:"))
        if by_code:
            out.print(f"reasons: {by_code}")
    if errors:
        console.print(f"[yellow]{errors} malformed line(s) skipped[/]")
        raise typer.Exit(1)
