"""Users' own text data for transfer learning: CSV, JSONL, or a Blitzer-style review folder.

Three layouts are read into one :class:`TextDataset` (texts, optional labels, and where each row
came from, so that every message can name the file and the line):

* ``FILE.csv`` (or ``.tsv``): a header row, then one row per text. The delimiter is taken from
  the header line (``,`` ``;`` or tab); fields holding the delimiter, quotes or newlines are
  quoted the usual way (``"a, b"`` and ``""`` for a quote). UTF-8, with or without a BOM (as
  Excel writes it); files that are not UTF-8 are read as Windows-1252.
* ``FILE.jsonl`` (or ``.ndjson``): one JSON object per line; blank lines are skipped.
* a folder in the layout of Blitzer et al. (2007), "Biographies, Bollywood, Boom-boxes and
  Blenders": ``positive.review`` (label ``"1"``) and/or ``negative.review`` (label ``"0"``),
  each a sequence of pseudo-XML ``<review>`` blocks. Only ``<title>`` and ``<review_text>``
  become text: ``<rating>`` gives the label away and ``<product_name>`` names the domain.

Labels are kept as the strings found in the file (``"pos"``/``"neg"``, ``"0"``/``"1"``, ...;
JSON numbers become their decimal text, ``1.0`` -> ``"1"``). A file without the label column is
a set of unlabelled texts. **A row whose label is empty (an empty CSV field, JSON ``null`` or
``""``, or a missing key) is unlabelled**: its label is ``None``. Where labels are required
(training data), an unlabelled row or a single class is an error.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "reviews.csv"
>>> _ = p.write_text('text,label\\n"Great pump, works",pos\\nbroke in a week,neg\\nno label yet,\\n')
>>> ds = read_dataset(p)
>>> ds.texts[0], ds.labels, ds.lines
('Great pump, works', ['pos', 'neg', None], [2, 3, 4])
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ...core.errors import EcomopsError

__all__ = [
    "DataError",
    "TextDataset",
    "read_dataset",
    "read_blitzer_domain",
    "read_blitzer_unlabeled",
    "split_labeled",
    "BLITZER_FILES",
    "SUPPORTED",
]

#: Blitzer file name -> label.
BLITZER_FILES = {"positive.review": "1", "negative.review": "0"}
SUPPORTED = ".csv, .tsv, .jsonl, .ndjson, or a folder with positive.review / negative.review"


class DataError(EcomopsError):
    """A data file cannot be used; the message names the file and, where it applies, the line."""


@dataclass
class TextDataset:
    """Texts with optional labels.

    ``labels`` is ``None`` when the file has no label column at all; otherwise one entry per
    text, ``None`` for an unlabelled row. ``lines[i]`` is the 1-based line in its file where row
    ``i`` starts (for a Blitzer folder, the line of its ``<review>`` tag; ``files[i]`` then names
    which ``.review`` file).
    """

    texts: list[str]
    labels: list[str | None] | None
    origin: str
    lines: list[int]
    files: list[str] | None = field(default=None, repr=False)
    columns: list[str] | None = field(default=None, repr=False)  # CSV header / JSON keys seen

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def has_labels(self) -> bool:
        return self.labels is not None and any(lab is not None for lab in self.labels)

    @property
    def classes(self) -> list[str]:
        """The distinct labels, sorted."""
        return sorted({lab for lab in (self.labels or []) if lab is not None})

    def labeled_indices(self) -> list[int]:
        return [i for i, lab in enumerate(self.labels or []) if lab is not None]

    def where(self, i: int) -> str:
        """``"FILE:LINE"`` of row ``i``, for messages."""
        f = self.files[i] if self.files else self.origin
        return f"{f}:{self.lines[i]}"

    def subset(self, idx: Iterable[int]) -> "TextDataset":
        idx = list(idx)
        return TextDataset(
            texts=[self.texts[i] for i in idx],
            labels=None if self.labels is None else [self.labels[i] for i in idx],
            origin=self.origin,
            lines=[self.lines[i] for i in idx],
            files=None if self.files is None else [self.files[i] for i in idx],
            columns=self.columns,
        )


# -- entry point -------------------------------------------------------------------------------


def read_dataset(
    path: str | os.PathLike,
    text_col: str = "text",
    label_col: str = "label",
    require_labels: bool = False,
) -> TextDataset:
    """Read a CSV/TSV file, a JSONL file, or a Blitzer folder (see the module docstring).

    ``require_labels``: every row must have a label and there must be at least two classes
    (training data); otherwise labels are optional and unlabelled rows get ``None``.
    Raises :class:`DataError` with the file and line for anything it cannot use.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"{p}: no such file or folder (expected {SUPPORTED})")
    if p.is_dir():
        ds = read_blitzer_domain(p)
        if not ds.has_labels:  # only unlabeled.review was there
            ds.labels = None
    else:
        suffix = p.suffix.lower()
        if suffix in (".csv", ".tsv"):
            ds = _read_csv(p, text_col, label_col, delimiter="\t" if suffix == ".tsv" else None)
        elif suffix in (".jsonl", ".ndjson"):
            ds = _read_jsonl(p, text_col, label_col)
        else:
            raise DataError(f"{p}: unsupported file type {p.suffix or '(no extension)'!r}; use {SUPPORTED}")
    if not ds.texts:
        raise DataError(f"{p}: no rows (an empty file, or only a header)")
    if require_labels:
        _check_trainable(ds, label_col, p.is_dir())
    return ds


def _check_trainable(ds: TextDataset, label_col: str, folder: bool) -> None:
    if ds.labels is None:
        if folder:
            raise DataError(f"{ds.origin}: no labels; training data needs positive.review and negative.review")
        raise _missing_column(Path(ds.origin), "label", label_col, ds.columns or [], "--label-col")
    for i, lab in enumerate(ds.labels):
        if lab is None:
            raise DataError(
                f"{ds.where(i)}: empty label in column {label_col!r} (line {ds.lines[i]}); "
                "training data needs a label on every row"
            )
    classes = ds.classes
    if len(classes) < 2:
        raise DataError(
            f"{ds.origin}: every row has the label {classes[0]!r}; need at least two classes to train"
            + (" (a Blitzer folder needs both positive.review and negative.review)" if folder else "")
        )


# -- CSV ---------------------------------------------------------------------------------------


def _decode(raw: bytes) -> str:
    """UTF-8 (a BOM is dropped); anything else is read as Windows-1252, never an exception."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _sniff_delimiter(text: str) -> str:
    """The delimiter of the header line: the most frequent of ``,`` ``;`` tab outside quotes."""
    first = text.split("\n", 1)[0]
    first = re.sub(r'"[^"]*"', "", first)
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _find_column(header: list[str], name: str) -> int | None:
    if name in header:
        return header.index(name)
    low = [h.lower() for h in header]
    return low.index(name.lower()) if name.lower() in low else None


def _missing_column(p: Path, kind: str, name: str, found: Sequence[str], option: str) -> DataError:
    cols = ", ".join(repr(c) for c in found) or "(none)"
    return DataError(f"{p}: no {kind} column {name!r} (columns found: {cols}); pick one with {option}")


def _clean_label(value) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    s = str(value).strip()
    return s or None


def _read_csv(p: Path, text_col: str, label_col: str, delimiter: str | None) -> TextDataset:
    text = _decode(p.read_bytes())
    delim = delimiter or _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, quotechar='"', doublequote=True, strict=True)
    header: list[str] | None = None
    texts: list[str] = []
    labels: list[str | None] = []
    lines: list[int] = []
    ti = li = None
    prev = 0
    while True:
        start = prev + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise DataError(f"{p}: line {start}: malformed CSV ({e}); quote fields that hold "
                            f"{delim!r}, quotes or newlines with \"...\"") from None
        prev = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip() and (header is None or len(header) > 1)):
            continue  # a blank line
        if header is None:
            header = [h.strip().lstrip("\ufeff") for h in row]
            ti = _find_column(header, text_col)
            if ti is None:
                raise _missing_column(p, "text", text_col, header, "--text-col")
            li = _find_column(header, label_col)
            continue
        if len(row) != len(header):
            extra_empty = len(row) > len(header) and not any(f.strip() for f in row[len(header):])
            if not extra_empty:
                raise DataError(
                    f"{p}: line {start} has {len(row)} fields but the header has {len(header)} "
                    f"({', '.join(header)}); a text holding {delim!r} must be quoted: \"...\""
                )
        t = row[ti].strip()
        if not t:
            raise DataError(f"{p}: line {start}: empty text in column {header[ti]!r}")
        texts.append(t)
        labels.append(_clean_label(row[li]) if li is not None else None)
        lines.append(start)
    if header is None:
        raise DataError(f"{p}: empty file (expected a header row with a {text_col!r} column)")
    return TextDataset(texts, labels if li is not None else None, str(p), lines, columns=header)


# -- JSONL -------------------------------------------------------------------------------------


def _read_jsonl(p: Path, text_col: str, label_col: str) -> TextDataset:
    texts: list[str] = []
    labels: list[str | None] = []
    lines: list[int] = []
    seen_label = False
    keys: dict[str, None] = {}
    for n, line in enumerate(_decode(p.read_bytes()).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{p}: line {n}: invalid JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(obj, dict):
            raise DataError(f"{p}: line {n}: expected a JSON object {{...}}, got {type(obj).__name__}")
        if text_col not in obj:
            raise DataError(
                f"{p}: line {n}: no {text_col!r} field (fields found: "
                f"{', '.join(repr(k) for k in obj) or '(none)'}); pick the text field with --text-col"
            )
        t = obj[text_col]
        if t is None:
            t = ""
        if not isinstance(t, str):
            raise DataError(f"{p}: line {n}: field {text_col!r} is a {type(t).__name__}, expected a string")
        t = t.strip()
        if not t:
            raise DataError(f"{p}: line {n}: empty text in field {text_col!r}")
        keys.update(dict.fromkeys(obj))
        if label_col in obj:
            seen_label = True
        texts.append(t)
        labels.append(_clean_label(obj.get(label_col)))
        lines.append(n)
    return TextDataset(texts, labels if seen_label else None, str(p), lines, columns=list(keys))


# -- Blitzer review folders --------------------------------------------------------------------

_OPEN = re.compile(r"^\s*<([A-Za-z_][\w.-]*)>\s*(.*?)\s*$")
_TEXT_FIELDS = ("title", "review_text")


def read_blitzer_domain(folder: str | os.PathLike) -> TextDataset:
    """``positive.review`` (label ``"1"``) then ``negative.review`` (label ``"0"``) of one domain.

    Text is ``title + ". " + review_text`` with HTML entities unescaped; ``<rating>``,
    ``<product_name>`` and the other fields are never used. A folder with only
    ``unlabeled.review`` gives its rows with label ``None`` (see :func:`read_blitzer_unlabeled`).
    """
    d = Path(folder).expanduser()
    if not d.is_dir():
        raise DataError(f"{d}: not a folder (a Blitzer domain folder holds positive.review / negative.review)")
    present = [name for name in BLITZER_FILES if (d / name).is_file()]
    if not present:
        if (d / "unlabeled.review").is_file():
            return read_blitzer_unlabeled(d)
        found = sorted(x.name for x in d.iterdir())[:10]
        raise DataError(
            f"{d}: no .review files (expected positive.review and/or negative.review; found: "
            f"{', '.join(found) or 'nothing'})"
        )
    texts: list[str] = []
    labels: list[str | None] = []
    lines: list[int] = []
    files: list[str] = []
    for name in present:
        path = d / name
        for line, text in _parse_review_file(path):
            texts.append(text)
            labels.append(BLITZER_FILES[name])
            lines.append(line)
            files.append(str(path))
    return TextDataset(texts, labels, str(d), lines, files)


def read_blitzer_unlabeled(folder: str | os.PathLike) -> TextDataset:
    """The ``unlabeled.review`` of a Blitzer domain folder: texts only (labels ``None``).

    Kept apart from :func:`read_blitzer_domain` on purpose: the unlabelled pool is a separate
    adaptation set, never to be mixed with (or evaluated as) labelled rows.
    """
    path = Path(folder).expanduser() / "unlabeled.review"
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    rows = _parse_review_file(path)
    return TextDataset([t for _, t in rows], [None] * len(rows), str(Path(folder)), [n for n, _ in rows],
                       [str(path)] * len(rows))


def _parse_review_file(path: Path) -> list[tuple[int, str]]:
    """``(line of <review>, text)`` per review block; :class:`DataError` names review number and line."""
    content = _decode(path.read_bytes())
    out: list[tuple[int, str]] = []
    review_start: int | None = None
    fields: dict[str, str] = {}
    cur: str | None = None  # field being read
    cur_start = 0
    buf: list[str] = []
    number = 0  # 1-based number of the review being read

    def where(n: int) -> str:
        return f"{path}: line {n}: review #{number} (opened on line {review_start})"

    for n, raw in enumerate(content.splitlines(), start=1):
        s = raw.strip()
        if cur is not None:  # inside a field: everything up to </cur> is its content
            if s == f"</{cur}>":
                fields[cur] = "\n".join(buf)
                cur = None
            elif s == "</review>" or s == "<review>":
                raise DataError(f"{where(n)}: <{cur}> opened on line {cur_start} is not closed before {s}")
            elif s.endswith(f"</{cur}>"):
                buf.append(raw.rstrip()[: -len(f"</{cur}>")])
                fields[cur] = "\n".join(buf)
                cur = None
            else:
                buf.append(raw)
            continue
        if not s:
            continue
        if s == "<review>":
            if review_start is not None:
                raise DataError(f"{where(n)}: not closed with </review> before the next <review>")
            number += 1
            review_start, fields = n, {}
            continue
        if s == "</review>":
            if review_start is None:
                raise DataError(f"{path}: line {n}: </review> without an opening <review> (after review #{number})")
            if "review_text" not in fields:
                raise DataError(f"{where(n)}: no <review_text> field")
            title = _clean_text(fields.get("title", ""))
            body = _clean_text(fields["review_text"])
            text = f"{title}. {body}" if title and body else (title or body)
            if not text:
                raise DataError(f"{where(n)}: empty text (both <title> and <review_text> are empty)")
            out.append((review_start, text))
            review_start = None
            continue
        if s in ("<reviews>", "</reviews>") or s.startswith("<?xml"):
            continue
        m = _OPEN.match(raw)
        if review_start is None:
            if m or s.startswith("</"):
                continue  # wrapper tags of other exports; only <review> blocks matter
            raise DataError(f"{path}: line {n}: text outside a <review> block (expected Blitzer pseudo-XML)")
        if not m:
            if s.startswith("</"):
                raise DataError(f"{where(n)}: unexpected closing tag {s}")
            raise DataError(f"{where(n)}: text outside a field tag: {s[:40]!r}")
        tag, rest = m.group(1), m.group(2)
        close = f"</{tag}>"
        if rest.endswith(close):  # <tag>value</tag> on one line
            fields[tag] = rest[: -len(close)]
        else:
            cur, cur_start, buf = tag, n, ([rest] if rest else [])
    if cur is not None:
        raise DataError(f"{path}: review #{number} (opened on line {review_start}): <{cur}> opened on line "
                        f"{cur_start} is never closed")
    if review_start is not None:
        raise DataError(f"{path}: review #{number} opened on line {review_start} is never closed with </review>")
    if not out:
        raise DataError(f"{path}: no <review> blocks (expected Blitzer pseudo-XML: <review> <title> ... "
                        "<review_text> ... </review>)")
    return out


_ENTITY = re.compile(r"&(?:[A-Za-z]{2,8}|#\d{1,7}|#x[0-9A-Fa-f]{1,6});")


def _clean_text(s: str) -> str:
    """HTML entities unescaped; twice where the export escaped them twice (``&amp;quot;``)."""
    s = html.unescape(s)
    if _ENTITY.search(s):
        s = html.unescape(s)
    return s.replace("\ufeff", "").strip()


# -- few-shot labels ---------------------------------------------------------------------------


def split_labeled(ds: TextDataset, k: int, seed: int = 0) -> tuple[list[int], list[int]]:
    """``k`` labelled rows chosen class-stratified at random, and every other row.

    Deterministic by ``seed`` and nested: the rows for ``k`` are the first ``k`` of the order
    for any larger ``k`` (so the 20-shot set is inside the 50-shot set). The order keeps every
    prefix as close as possible to the class proportions of the labelled rows and covers each
    class once before any class twice. Returns ``(labeled_idx in that order, rest_idx sorted)``;
    unlabelled rows are always in the rest.
    """
    k = int(k)
    if k < 0:
        raise DataError(f"the number of labelled target rows must be >= 0, not {k}")
    if k == 0:
        return [], list(range(len(ds)))
    labeled = ds.labeled_indices()
    if k > len(labeled):
        raise DataError(
            f"{ds.origin}: asked for {k} labelled target rows but it has only {len(labeled)} labelled rows"
        )
    order = _stratified_order(ds, seed)[:k]
    chosen = set(order)
    return order, [i for i in range(len(ds)) if i not in chosen]


def _stratified_order(ds: TextDataset, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    classes = ds.classes
    pools = {c: [i for i, lab in enumerate(ds.labels or []) if lab == c] for c in classes}
    for c in classes:
        pools[c] = [pools[c][j] for j in rng.permutation(len(pools[c]))]
    tie = {c: r for c, r in zip(classes, rng.permutation(len(classes)))}
    taken = {c: 0 for c in classes}
    total = sum(len(v) for v in pools.values())
    order: list[int] = []
    for _ in range(total):
        # the class furthest below its share; ties by a seeded class order
        c = min((c for c in classes if taken[c] < len(pools[c])),
                key=lambda c: (taken[c] / len(pools[c]), tie[c]))
        order.append(pools[c][taken[c]])
        taken[c] += 1
    return order
