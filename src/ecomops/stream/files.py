"""Replay of event files: JSON lines, CSV and Parquet (with a column mapping).

- **JSON lines** (``.jsonl``, ``.ndjson``, ``.json``): one JSON event per line. The bytes are
  passed through undecoded; the engine validates them (:func:`ecomops.stream.intake.parse`).
  Blank lines are skipped. A line that is not UTF-8, one longer than the payload limit, and a
  last line without newline that is not valid JSON (a file cut off mid-write) become error
  records, and the stream goes on.
- **CSV** (``.csv``; ``.tsv`` tab-separated) and **Parquet** (``.parquet``, ``.pq``): each row
  goes through a mapping (:mod:`.mapping`) to event dicts. Without a mapping, the columns must
  already be event fields (empty cells are left out; cells holding JSON, e.g. ``lines``, are
  parsed). A JSON-lines file may have a mapping too: each line is then a row object.

Files are streamed (bounded memory) and replayed in file order, deterministically.

**Offset** of a file record: ``[row, sub, pos]``, all ints. ``row`` is the 1-based line
number (JSON lines) or data-row number (CSV/Parquet, header excluded) where the unit of rows
that made the record starts; ``sub`` is the record's index among the records made from that
unit (an order and its feedback: 0 and 1); ``pos`` is where that unit starts: its byte offset
(JSONL/CSV) or its row group (Parquet). Offsets compare in stream order as lists. Resuming
seeks to ``pos``: nothing before is read again. Files must only grow while being replayed.

>>> import tempfile, os
>>> p = os.path.join(tempfile.mkdtemp(), "e.jsonl")
>>> _ = open(p, "wb").write(b'{"a": 1}\\n\\n{"b": 2}\\n{"c"')
>>> src = FileSource(p)
>>> [(r.offset, r.payload, r.error and r.error[0]) for r in src.read()]
[([1, 0, 0], b'{"a": 1}', None), ([3, 0, 10], b'{"b": 2}', None), ([4, 0, 19], b'{"c"', 'truncated')]
>>> [r.offset for r in src.read(after=[3, 0, 10])]
[[4, 0, 19]]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Iterator

import orjson

from ..core.errors import SourceError
from ..core.events import MAX_PAYLOAD_BYTES
from .base import Offset, Record
from .mapping import IDENTITY, Mapping, MappingError, resolve_mapping
from .tabular import CsvRows, RawRow, jsonl_lines, parquet_columns, parquet_rows

FORMATS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".csv": "csv", ".tsv": "csv",
    ".parquet": "parquet", ".pq": "parquet",
}
# A line may hold a maximal payload plus "\r\n"; anything longer is reported as oversized.
JSONL_LINE_LIMIT = MAX_PAYLOAD_BYTES + 3
TRUNCATED_HINT = "the file looks truncated (cut off while being written or copied)"


class FileSource:
    """Replays one file; see the module docstring for formats and the offset layout.

    ``mapping``: a built-in name, spec dict, JSON spec path, ``module:attr`` or callable
    (see :func:`ecomops.stream.mapping.resolve_mapping`); ``mapping_options`` go to a built-in.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        format: str | None = None,
        mapping: Any = None,
        mapping_options: dict[str, Any] | None = None,
        delimiter: str | None = None,
    ):
        self.path = Path(path)
        if not self.path.exists():
            raise SourceError(f"file not found: {self.path} (working directory {Path.cwd()}); give the path of an "
                              "existing .jsonl/.csv/.parquet file, e.g. file:events.jsonl")
        if not self.path.is_file():
            raise SourceError(f"{self.path} is not a regular file; give a .jsonl, .csv or .parquet file")
        suffix = self.path.suffix.lower()
        self.format = format or FORMATS.get(suffix)
        if self.format not in ("jsonl", "csv", "parquet"):
            hint = " (decompress it first)" if suffix in (".gz", ".zst", ".bz2", ".xz", ".zip") else ""
            raise SourceError(f"cannot tell the format of {self.path.name}{hint}: use a .jsonl, .ndjson, .json, .csv, "
                              ".tsv or .parquet file, or pass format=jsonl|csv|parquet")
        self.mapping: Mapping | None = resolve_mapping(mapping, **(mapping_options or {}))
        self.name = f"file:{self.path.resolve()}"
        if self.mapping is not None:
            self.name += f"?mapping={self.mapping.name}"
        elif self.format != "jsonl":
            self.mapping = IDENTITY
        self.delimiter = delimiter or ("\t" if suffix == ".tsv" else ",")
        self._csv: CsvRows | None = None
        if self.format == "csv":
            self._csv = CsvRows(self.path, self.delimiter)
            self._check_columns(self._csv.header)
        elif self.format == "parquet":
            self._check_columns(parquet_columns(self.path))

    def _check_columns(self, header: list[str]) -> None:
        if self.mapping is None or not self.mapping.columns:
            return
        missing = [c for c in self.mapping.columns if c not in header]
        if missing:
            raise SourceError(f"{self.path.name}: mapping {self.mapping.name!r} needs column(s) {missing}, "
                              f"the file has {header[:20]}; is it the right file or mapping?")

    # -- reading ---------------------------------------------------------------------------------
    def read(self, after: Offset | None = None) -> Iterator[Record]:
        row, sub, pos = self._parse_after(after)
        if self.format == "jsonl" and self.mapping is None:
            return self._read_jsonl(row, sub, pos)
        if self.format == "jsonl":
            rows: Iterable[RawRow] = self._jsonl_rows(row, pos)
        elif self.format == "csv":
            assert self._csv is not None
            rows = self._csv.rows(row, pos if after is not None else None)
        else:
            rows = parquet_rows(self.path, row)
        return self._records(rows, row, sub)

    def commit(self, offset: Offset) -> None:
        """Nothing to release: a file is replayed from the engine's checkpointed offset."""

    def close(self) -> None:
        pass

    def _parse_after(self, after: Offset | None) -> tuple[int, int, int]:
        if after is None:
            return 1, -1, 0
        ok = (isinstance(after, (list, tuple)) and len(after) == 3
              and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in after) and after[0] >= 1)
        if ok and self._csv is not None and after[2] < self._csv.data_start:
            ok = False
        if not ok:
            raise SourceError(f"offset {after!r} is not a position in {self.name}: file offsets are [row, sub, pos] "
                              "lists of ints; resume with the same --source, or use a new --state directory")
        if self.format != "parquet" and after[2] > self.path.stat().st_size:
            raise SourceError(f"offset {after!r} lies beyond the end of {self.path} ({self.path.stat().st_size} bytes): "
                              "the file was replaced or truncated since the checkpoint; use a new --state directory")
        return after[0], after[1], after[2]

    def _read_jsonl(self, first: int, skip_sub: int, pos: int) -> Iterator[Record]:
        with open(self.path, "rb") as f:
            for n, start, body, terminated, oversized in jsonl_lines(f, pos, first, JSONL_LINE_LIMIT):
                if n == first and skip_sub >= 0:
                    continue
                error = _line_error(n, body, terminated, oversized)
                yield Record([n, 0, start], body, error, self.name)

    def _jsonl_rows(self, first: int, pos: int) -> Iterator[RawRow]:
        with open(self.path, "rb") as f:
            for n, start, body, terminated, oversized in jsonl_lines(f, pos, first, JSONL_LINE_LIMIT):
                error = _line_error(n, body, terminated, oversized, check_json=False)
                values = None
                if error is None:
                    try:
                        values = orjson.loads(body)
                    except orjson.JSONDecodeError as exc:
                        error = ("malformed", f"not JSON: {exc}")
                    else:
                        if not isinstance(values, dict):
                            error, values = ("bad_row", f"expected a JSON object, got {type(values).__name__}"), None
                yield RawRow(n, start, values, [body], error, not terminated)

    def _records(self, rows: Iterable[RawRow], first: int, skip_sub: int) -> Iterator[Record]:
        mapping = self.mapping
        assert mapping is not None
        key, cap = mapping.group_by, max(1, mapping.max_group_rows)
        unit: list[RawRow] = []
        for row in rows:
            if unit and (row.error is not None or len(unit) >= cap or row.values.get(key) != unit[0].values.get(key)):
                yield from self._unit_records(unit, first, skip_sub)
                unit = []
            if row.error is not None:
                yield from self._unit_records([row], first, skip_sub)
            elif key is None:
                yield from self._unit_records([row], first, skip_sub)
            else:
                unit.append(row)
        if unit:
            yield from self._unit_records(unit, first, skip_sub)

    def _unit_records(self, unit: list[RawRow], first: int, skip_sub: int) -> Iterator[Record]:
        head = unit[0]
        truncated = unit[-1].unterminated
        if head.error is not None:
            outs: list = [MappingError(*head.error)]
        else:
            outs = self.mapping.apply([r.values for r in unit])  # type: ignore[union-attr]
        if truncated and any(isinstance(o, MappingError) for o in outs):
            # A cut-off last row often still parses (here: its last field came out empty),
            # so the whole row is suspect: one dead letter, none of its events.
            bad = next(o for o in outs if isinstance(o, MappingError))
            outs = [MappingError("truncated", f"last row has no trailing newline and {bad.reason}: {TRUNCATED_HINT}")]
        unit_word = "line" if self.format == "jsonl" else "row"
        where = f"{unit_word} {head.index}" if len(unit) == 1 else f"{unit_word}s {head.index}-{unit[-1].index}"
        raw = None
        for sub, out in enumerate(outs):
            if head.index == first and sub <= skip_sub:
                continue
            offset = [head.index, sub, head.pos]
            if isinstance(out, MappingError):
                if raw is None:
                    raw = _unit_raw(unit)
                yield Record(offset, raw, (out.code, f"{where}: {out.reason}"), self.name)
            else:
                yield Record(offset, out, None, self.name)


def _line_error(n: int, body: bytes, terminated: bool, oversized: bool, check_json: bool = True) -> tuple[str, str] | None:
    if oversized:
        return ("oversized", f"line {n} is longer than {MAX_PAYLOAD_BYTES} bytes (only its start is kept)")
    if not body.isascii():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            return ("encoding", f"line {n}: invalid UTF-8 at byte {exc.start}: {exc.reason}")
    if not terminated:
        try:
            orjson.loads(body)
        except orjson.JSONDecodeError:
            return ("truncated", f"line {n} is the last, has no trailing newline and is not valid JSON: {TRUNCATED_HINT}")
    return None


def _unit_raw(unit: list[RawRow]) -> bytes:
    if unit[0].raw is not None:
        return b"".join(line for r in unit for line in (r.raw or ())).rstrip(b"\r\n")
    try:
        return orjson.dumps([r.values for r in unit] if len(unit) > 1 else unit[0].values,
                            default=str, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return repr([r.values for r in unit]).encode("utf-8", "backslashreplace")
