"""Documents from files (md, txt, csv, jsonl) and from stream events.

* ``.md`` / ``.markdown`` / ``.txt``: one document per file; ``doc_id`` is the file stem; the title
  is the first ``# `` heading (markdown) or the stem.
* ``.csv`` / ``.jsonl`` with ``question`` and ``answer``: one document per answer (kind ``faq``),
  titled by its question; ``doc_id`` is ``STEM:ID`` with the row's ``id``, else its row number
  (1 = first data row). Optional ``kind`` per row.
* ``.csv`` / ``.jsonl`` with ``text``: one document per row, optional ``title``, ``id``, ``kind``.

Bad rows raise :class:`ConfigError` naming the file and line.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "faq.csv"
>>> _ = p.write_text("question,answer\\nHow long to return?,Within 7 days.\\n")
>>> [(d.doc_id, d.title, d.kind) for d in load_file(p)]
[('faq:1', 'How long to return?', 'faq')]
>>> documents_from_event({"doc_id": "returns", "text": "14 days."})[0].title
'returns'
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..core.errors import ConfigError, ValidationError

__all__ = ["Document", "load_file", "documents_from_event", "SUPPORTED"]

SUPPORTED = (".md", ".markdown", ".txt", ".csv", ".jsonl")
KINDS_HINT = "policy, regulation, product, faq, answer, document"


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    text: str
    kind: str = "document"
    source: str = ""


def load_file(path: str | Path, kind: str | None = None) -> list[Document]:
    """Documents in ``path``; ``kind`` overrides the default kind (not a per-row ``kind``)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise ConfigError(f"{path}: unsupported file type {suffix or '(none)'}; use one of {', '.join(SUPPORTED)}")
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc})") from None
    if suffix in (".md", ".markdown", ".txt"):
        text = raw.strip()
        if not text:
            raise ConfigError(f"{path}: the file is empty")
        title = path.stem
        if suffix != ".txt":
            title = next((ln[2:].strip() for ln in text.splitlines() if ln.startswith("# ")), path.stem)
        return [Document(path.stem, title, text, kind or "document", path.name)]
    records = _csv_records(path, raw) if suffix == ".csv" else _jsonl_records(path, raw)
    docs: list[Document] = []
    seen: dict[str, int] = {}
    for row_no, line, rec in records:
        doc = _row_document(path, line, row_no, rec, kind)
        if doc.doc_id in seen:
            raise ConfigError(f"{path}:{line}: id {doc.doc_id.split(':', 1)[1]!r} repeats line {seen[doc.doc_id]}")
        seen[doc.doc_id] = line
        docs.append(doc)
    if not docs:
        raise ConfigError(f"{path}: no rows")
    return docs


def _row_document(path: Path, line: int, row_no: int, rec: dict, kind: str | None) -> Document:
    def field(name: str) -> str:
        v = rec.get(name)
        if v is None:
            return ""
        if not isinstance(v, (str, int, float)):
            raise ConfigError(f"{path}:{line}: field {name!r} must be text, not {type(v).__name__}")
        return str(v).strip()

    rid = field("id") or str(row_no)
    doc_id = f"{path.stem}:{rid}"
    row_kind = field("kind")
    if "answer" in rec or "question" in rec:
        question, answer = field("question"), field("answer")
        if not question or not answer:
            missing = "question" if not question else "answer"
            raise ConfigError(f"{path}:{line}: empty {missing!r}; every row needs a question and an answer")
        return Document(doc_id, question, answer, row_kind or kind or "faq", path.name)
    if "text" in rec:
        text = field("text")
        if not text:
            raise ConfigError(f"{path}:{line}: empty 'text'")
        return Document(doc_id, field("title") or doc_id, text, row_kind or kind or "document", path.name)
    raise ConfigError(
        f"{path}:{line}: no 'question' and 'answer' (FAQ rows) or 'text' field; found {sorted(rec)}"
    )


def _csv_records(path: Path, raw: str) -> Iterator[tuple[int, int, dict]]:
    reader = csv.DictReader(io.StringIO(raw, newline=""))
    cols = set(reader.fieldnames or [])
    if not ({"question", "answer"} <= cols or "text" in cols):
        raise ConfigError(
            f"{path}:1: the header needs columns 'question' and 'answer' (FAQ) or 'text'; it has "
            f"{sorted(c for c in cols if c)}"
        )
    row_no = 0
    try:
        for rec in reader:
            line = reader.line_num  # the record's last physical line (quoted fields may span lines)
            row_no += 1
            if None in rec:
                raise ConfigError(f"{path}:{line}: more fields than the header has columns")
            yield row_no, line, {k: v for k, v in rec.items() if k}
    except csv.Error as exc:
        raise ConfigError(f"{path}:{reader.line_num}: bad CSV ({exc})") from None


def _jsonl_records(path: Path, raw: str) -> Iterator[tuple[int, int, dict]]:
    row_no = 0
    for line, text in enumerate(raw.splitlines(), start=1):
        if not text.strip():
            continue
        try:
            rec = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{line}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(rec, dict):
            raise ConfigError(f"{path}:{line}: expected a JSON object, got {type(rec).__name__}")
        row_no += 1
        yield row_no, line, rec


def documents_from_event(payload: dict[str, Any]) -> list[Document]:
    """``{"doc_id", "text", "title"?, "kind"?, "source"?}`` (or ``{"documents": [...]}``) -> documents.

    Raises :class:`ValidationError` (code ``kb_document``) with the precise problem.
    """
    if not isinstance(payload, dict):
        raise ValidationError(f"a knowledge-base event must be an object, not {type(payload).__name__}", "kb_document")
    items = payload.get("documents", [payload])
    if not isinstance(items, list) or not items:
        raise ValidationError("'documents' must be a non-empty list", "kb_document")
    docs = []
    for i, item in enumerate(items):
        where = f"documents[{i}]" if "documents" in payload else "event"
        if not isinstance(item, dict):
            raise ValidationError(f"{where} must be an object", "kb_document")
        for name in ("doc_id", "text"):
            v = item.get(name)
            if not isinstance(v, str) or not v.strip():
                raise ValidationError(f"{where}: '{name}' must be a non-empty string", "kb_document")
        for name in ("title", "kind", "source"):
            if item.get(name) is not None and not isinstance(item[name], str):
                raise ValidationError(f"{where}: '{name}' must be a string", "kb_document")
        docs.append(Document(
            doc_id=item["doc_id"].strip(),
            title=(item.get("title") or item["doc_id"]).strip(),
            text=item["text"].strip(),
            kind=(item.get("kind") or "document").strip(),
            source=(item.get("source") or "event").strip(),
        ))
    return docs
