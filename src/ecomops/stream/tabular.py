"""Row readers for text and columnar files, each row tagged with where reading can restart.

:class:`CsvRows` streams a CSV file line by line (bounded memory) and records the byte where
every row starts, so a resumed replay seeks straight there instead of rescanning. Rows that
are not UTF-8, have the wrong number of fields, or that the csv module cannot parse come back
with ``error`` set; the stream goes on. :func:`parquet_rows` does the same for Parquet, where
the restart point is the row group. :func:`jsonl_lines` splits JSON-lines files.

>>> import tempfile, os
>>> p = os.path.join(tempfile.mkdtemp(), "t.csv")
>>> _ = open(p, "wb").write(b"a,b\\n1,2\\n3\\n")
>>> rows = CsvRows(p)
>>> [(r.index, r.pos, r.values, r.error) for r in rows.rows()]
[(1, 4, {'a': '1', 'b': '2'}, None), (2, 8, None, ('bad_row', 'it has 1 field(s), the header has 2'))]
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from ..core.errors import SourceError

CSV_LINE_LIMIT = 4 * 1024 * 1024  # one physical line; longer ones are cut and reported
RAW_KEEP = 64 * 1024  # bytes of an oversized line kept for the dead letter
NOT_UTF8_HINT = "the file must be UTF-8 (convert it, e.g. `iconv -f latin1 -t utf-8`)"
csv.field_size_limit(CSV_LINE_LIMIT)


@dataclass(slots=True)
class RawRow:
    """One row: ``index`` 1-based (data rows for CSV/Parquet, physical lines for JSONL); ``pos``
    is the restart point (byte offset of the row's start, or the Parquet row group)."""

    index: int
    pos: int
    values: dict[str, Any] | None
    raw: list[bytes] | None  # the row's physical lines; None for Parquet (serialised on demand)
    error: tuple[str, str] | None = None
    unterminated: bool = False  # the file's last line, with no trailing newline


class _LineFeed:
    """Feeds decoded lines to csv.reader while tracking bytes consumed and per-row trouble.

    csv.reader pulls exactly the lines of one record before yielding it (no read-ahead), so
    ``pos`` after a row is exactly where the next row starts.
    """

    __slots__ = ("_f", "pos", "raw", "bad_utf8", "oversized", "unterminated")

    def __init__(self, f: BinaryIO):
        self._f = f
        self.pos = 0
        self.start_row()

    def start_row(self) -> None:
        self.raw: list[bytes] = []
        self.bad_utf8 = self.oversized = self.unterminated = False

    def __iter__(self) -> "_LineFeed":
        return self

    def __next__(self) -> str:
        line = self._f.readline(CSV_LINE_LIMIT)
        if not line:
            raise StopIteration
        self.pos += len(line)
        if line[-1:] != b"\n":
            if len(line) >= CSV_LINE_LIMIT:
                self.oversized = True
                self.pos += _skip_rest_of_line(self._f, CSV_LINE_LIMIT)
                line = line[:RAW_KEEP] + b"\n"  # end the record here; the row is reported anyway
            else:
                self.unterminated = True
        self.raw.append(line)
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError:
            self.bad_utf8 = True
            return line.decode("utf-8", "surrogateescape")


def _skip_rest_of_line(f: BinaryIO, chunk: int) -> int:
    skipped = 0
    while True:
        more = f.readline(chunk)
        skipped += len(more)
        if not more or more.endswith(b"\n"):
            return skipped


class CsvRows:
    """A CSV file with a header row; :meth:`rows` streams the data rows from any restart point."""

    def __init__(self, path: str | Path, delimiter: str = ","):
        self.path = Path(path)
        self._delimiter = delimiter
        with open(self.path, "rb") as f:
            feed = _LineFeed(f)
            try:
                header = next(csv.reader(feed, delimiter=delimiter))
            except StopIteration:
                header = []
            except csv.Error as exc:
                raise SourceError(f"{self.path}: cannot read the CSV header: {exc}") from None
            if feed.bad_utf8:
                raise SourceError(f"{self.path}: the header is not valid UTF-8; {NOT_UTF8_HINT}")
            self.data_start = feed.pos
        if header:
            header[0] = header[0].lstrip("\ufeff")  # Excel's byte-order mark
        self.header = [h.strip() for h in header]

    def rows(self, start_index: int = 1, start_pos: int | None = None) -> Iterator[RawRow]:
        """Rows from ``start_pos`` (a byte offset a previous row reported), numbered from ``start_index``."""
        header, n_fields = self.header, len(self.header)
        if not header:
            return
        with open(self.path, "rb") as f:
            pos = self.data_start if start_pos is None else start_pos
            f.seek(pos)
            feed = _LineFeed(f)
            feed.pos = pos
            reader = csv.reader(feed, delimiter=self._delimiter)
            index = start_index
            while True:
                feed.start_row()
                start = feed.pos
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    error = _feed_error(feed) or ("bad_row", f"unparseable CSV: {exc}")
                    yield RawRow(index, start, None, feed.raw, error, feed.unterminated)
                    index += 1
                    continue
                if not fields or (len(fields) == 1 and not fields[0].strip() and n_fields > 1):
                    continue  # blank line: not a row
                error = _feed_error(feed)
                if error is None and len(fields) != n_fields:
                    error = ("bad_row", f"it has {len(fields)} field(s), the header has {n_fields}")
                values = None if error else dict(zip(header, fields))
                yield RawRow(index, start, values, feed.raw, error, feed.unterminated)
                index += 1


def _feed_error(feed: _LineFeed) -> tuple[str, str] | None:
    if feed.bad_utf8:
        return ("encoding", f"invalid UTF-8; {NOT_UTF8_HINT}")
    if feed.oversized:
        return ("oversized", f"a line is longer than {CSV_LINE_LIMIT} bytes (only its start is kept)")
    return None


def parquet_columns(path: str | Path) -> list[str]:
    return list(_open_parquet(path).schema_arrow.names)


def _open_parquet(path: str | Path):
    import pyarrow.parquet as pq  # heavy import: only when a Parquet file is read

    try:
        return pq.ParquetFile(str(path))
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError variants for non-Parquet input
        raise SourceError(f"{path} is not a readable Parquet file: {exc}") from None


def parquet_rows(path: str | Path, start_index: int = 1, batch_size: int = 8192) -> Iterator[RawRow]:
    """Rows from the 1-based ``start_index``; whole row groups before it are never read."""
    pf = _open_parquet(path)
    first_row = 0
    for group in range(pf.num_row_groups):
        n = pf.metadata.row_group(group).num_rows
        if first_row + n >= start_index:
            index = first_row + 1
            for batch in pf.iter_batches(batch_size=batch_size, row_groups=[group]):
                for values in batch.to_pylist():
                    if index >= start_index:
                        yield RawRow(index, group, values, None)
                    index += 1
        first_row += n


def jsonl_lines(f: BinaryIO, start_pos: int, start_line: int, limit: int) -> Iterator[tuple[int, int, bytes, bool, bool]]:
    """``(line_no, start_byte, body, terminated, oversized)`` for each non-blank line.

    ``body`` has its line ending removed. A line longer than ``limit`` is cut to its first
    ``RAW_KEEP`` bytes, flagged ``oversized``, and the rest of it is skipped (bounded memory).
    """
    f.seek(start_pos)
    pos, line_no = start_pos, start_line
    while True:
        line = f.readline(limit)
        if not line:
            return
        start, n = pos, line_no
        pos += len(line)
        line_no += 1
        terminated = line[-1:] == b"\n"
        oversized = not terminated and len(line) >= limit
        if oversized:
            pos += _skip_rest_of_line(f, limit)
            body = line[:RAW_KEEP]
            terminated = True
        else:
            body = line.rstrip(b"\r\n") if terminated else line
            if start == 0 and body.startswith(b"\xef\xbb\xbf"):
                body = body[3:]
            if not body.strip():
                continue
        yield n, start, body, terminated, oversized
