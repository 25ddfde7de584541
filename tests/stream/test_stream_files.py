"""File replay: JSON lines, CSV and Parquet; bad input becomes error records; exact resume."""

from __future__ import annotations

import orjson
import pytest

from ecomops.core.errors import SourceError
from ecomops.core.events import MAX_PAYLOAD_BYTES, Order
from ecomops.stream import DeadLetter, FileSource, Mapping, open_source, parse
from stream_events import view


def _assert_resume_exact(src, records):
    """Resuming after any record yields exactly the records after it, and offsets increase."""
    offsets = [r.offset for r in records]
    assert offsets == sorted(offsets) and len({orjson.dumps(o) for o in offsets}) == len(offsets)
    for k, rec in enumerate(records):
        # through JSON, as the engine's checkpoint stores it
        after = orjson.loads(orjson.dumps(rec.offset))
        assert list(src.read(after=after)) == records[k + 1:], f"resume after record {k}"


def _clobber_prefix(path, pos):
    """Overwrite bytes before ``pos`` with one junk line of the same length: a reader that seeks
    is unaffected; one that rescans from the start would number rows differently."""
    data = path.read_bytes()
    path.write_bytes(b"#" * (pos - 1) + b"\n" + data[pos:])


# -- JSON lines ------------------------------------------------------------------------------
def _jsonl(tmp_path):
    good = [orjson.dumps(view(i)) for i in range(6)]
    lines = [good[0], good[1], b"", b"   ", b"\xff\xfe not utf-8 {}", good[2], b"this is not json",
             good[3] + b"\r", good[4], good[5]]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b'\n{"type": "view", "merchant_id": "m9", "event_id": "trunc')
    return path, good


def test_jsonl_passes_bytes_through_and_bad_lines_become_error_records(tmp_path):
    path, good = _jsonl(tmp_path)
    recs = list(FileSource(path).read())
    assert [r.offset[0] for r in recs] == [1, 2, 5, 6, 7, 8, 9, 10, 11]  # blank lines 3-4 skipped
    assert [r.payload for r in recs if r.error is None] == [good[0], good[1], good[2], b"this is not json",
                                                          good[3], good[4], good[5]]
    errors = {r.offset[0]: r.error for r in recs if r.error}
    assert set(errors) == {5, 11}
    assert errors[5][0] == "encoding" and "line 5" in errors[5][1]
    assert errors[11][0] == "truncated" and "no trailing newline" in errors[11][1]
    assert recs[2].payload == b"\xff\xfe not utf-8 {}"  # the raw bytes travel with the error
    parsed = [parse(r) for r in recs]
    dead = [p for p in parsed if isinstance(p, DeadLetter)]
    assert [d.code for d in dead] == ["encoding", "malformed", "truncated"]
    # the tenant is recovered from the cut-off text; the cut id is not trusted
    assert (dead[2].merchant_id, dead[2].event_id) == ("m9", None)
    assert dead[0].merchant_id is None
    assert all(d.source == f"file:{path.resolve()}" and d.raw for d in dead)
    assert [p.event_id for p in parsed if not isinstance(p, DeadLetter)] == [f"e{i}" for i in range(6)]


def test_jsonl_resume_from_every_offset_gives_exactly_the_rest(tmp_path):
    path, _ = _jsonl(tmp_path)
    src = FileSource(path)
    _assert_resume_exact(src, list(src.read()))


def test_jsonl_resume_seeks_instead_of_rescanning(tmp_path):
    path, _ = _jsonl(tmp_path)
    src = FileSource(path)
    recs = list(src.read())
    after = recs[3].offset
    _clobber_prefix(path, after[2])
    assert list(src.read(after=after)) == recs[4:]


def test_jsonl_unterminated_last_line_that_is_valid_json_is_kept(tmp_path):
    path = tmp_path / "e.ndjson"
    path.write_bytes(b"\xef\xbb\xbf" + orjson.dumps(view(1)) + b"\n" + orjson.dumps(view(2)))
    recs = list(FileSource(path).read())
    assert [r.error for r in recs] == [None, None]
    assert [parse(r).event_id for r in recs] == ["e1", "e2"]  # BOM stripped from the first line


def test_jsonl_oversized_line_is_reported_and_skipped(tmp_path):
    path = tmp_path / "big.jsonl"
    huge = b'{"pad": "' + b"x" * (MAX_PAYLOAD_BYTES + 10) + b'"}'
    path.write_bytes(huge + b"\n" + orjson.dumps(view(1)) + b"\n")
    recs = list(FileSource(path).read())
    assert recs[0].error[0] == "oversized" and len(recs[0].payload) < len(huge)
    assert recs[1].error is None and recs[1].offset == [2, 0, len(huge) + 1]
    assert parse(recs[1]).event_id == "e1"


def test_jsonl_with_a_mapping_maps_each_object(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'{"who": "acme", "n": 1}\n[1, 2]\n{"who": "beta", "n": 2}\n{"who": "x"')
    m = Mapping.per_row(lambda r: {**view(r["n"]), "buyer_id": r["who"]}, name="who")
    src = FileSource(path, mapping=m)
    recs = list(src.read())
    assert src.name.endswith("?mapping=who")
    assert [r.error[0] if r.error else r.payload["buyer_id"] for r in recs] == ["acme", "bad_row", "beta", "truncated"]
    _assert_resume_exact(src, recs)


# -- CSV -------------------------------------------------------------------------------------
CSV_EVENTS = (
    "type,event_id,merchant_id,ts,buyer_id,product_id,order_id,lines,session_id\r\n"
    "view,v1,m1,1700000000,b1,p1,,,\r\n"
    'order,o1,m1,1700000001,b1,,ord-1,"[{""product_id"": ""p1"", ""quantity"": 2, ""unit_price"": 3.5}]",\r\n'
    '"view","v2","m1","1700000002","b2","p with\nnewline",,,s9\r\n'
    "view,v3,m1,1700000003,b3\r\n"
    "\r\n"
    "view,v4,m1,1700000004,b4,p4,,,\r\n"
).encode() + b"view,v5,m1,1700000005,b\xe9,p5,,,\r\nview,v6,m1,1700000006,b6,p6,,,\r\n"


def test_csv_without_mapping_reads_event_columns(tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(CSV_EVENTS)
    recs = list(FileSource(path).read())
    assert [r.offset[0] for r in recs] == [1, 2, 3, 4, 5, 6, 7]
    assert recs[0].payload == {"type": "view", "event_id": "v1", "merchant_id": "m1", "ts": "1700000000",
                               "buyer_id": "b1", "product_id": "p1"}
    order = parse(recs[1])
    assert isinstance(order, Order) and order.lines[0].quantity == 2 and order.total == 7.0
    assert parse(recs[2]).product_id == "p with\nnewline" and parse(recs[2]).session_id == "s9"
    assert recs[3].error[0] == "bad_row" and "5 field(s), the header has 9" in recs[3].error[1]
    assert recs[3].payload == b"view,v3,m1,1700000003,b3"
    assert recs[5].error[0] == "encoding" and b"b\xe9" in recs[5].payload
    assert parse(recs[6]).event_id == "v6"  # the stream goes on after bad rows


def test_csv_resume_exact_and_seeks(tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(CSV_EVENTS)
    src = FileSource(path)
    recs = list(src.read())
    _assert_resume_exact(src, recs)
    after = recs[3].offset  # after the multi-line row
    header_len = CSV_EVENTS.index(b"\r\n") + 2
    data = path.read_bytes()  # junk between header and the restart point; header kept
    path.write_bytes(data[:header_len] + b"#" * (after[2] - header_len - 1) + b"\n" + data[after[2]:])
    assert list(FileSource(path).read(after=after)) == recs[4:]


def test_csv_truncated_last_row_is_an_error_record(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"type,event_id,merchant_id,ts,buyer_id,product_id\nview,v1,m1,1,b1,p1\nview,v2,m1,2,b")
    recs = list(FileSource(path).read())
    assert recs[0].error is None
    assert recs[1].error[0] == "truncated" and "looks truncated" in recs[1].error[1]


def test_grouped_mapping_resume_inside_and_between_groups(tmp_path):
    path = tmp_path / "g.csv"
    rows = ["k,v"] + [f"{k},{v}" for k, v in [("a", 1), ("a", 2), ("b", 3), ("c", 4), ("c", 5), ("c", 6), ("c", 7)]]
    path.write_text("\n".join(rows) + "\n")

    def fn(group):  # two outputs per group: a summary and one error, to exercise `sub`
        from ecomops.stream import MappingError

        return [{"key": group[0]["k"], "vs": [int(r["v"]) for r in group]}, MappingError("demo", "second output")]

    src = FileSource(path, mapping=Mapping(fn=fn, name="g", group_by="k", max_group_rows=3))
    recs = list(src.read())
    assert [r.payload["vs"] for r in recs if r.error is None] == [[1, 2], [3], [4, 5, 6], [7]]
    assert [r.offset[:2] for r in recs] == [[1, 0], [1, 1], [3, 0], [3, 1], [4, 0], [4, 1], [7, 0], [7, 1]]
    assert recs[1].error == ("demo", "rows 1-2: second output") and recs[1].payload == b"a,1\na,2"
    _assert_resume_exact(src, recs)


# -- Parquet ---------------------------------------------------------------------------------
def _parquet(tmp_path, n=10):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{**view(i), "order_id": None, "lines": None} for i in range(n)]  # all columns in every row
    if n > 4:
        rows[4] = {**rows[4], "type": "order", "order_id": "o4", "product_id": None,
                   "lines": [{"product_id": "p", "quantity": 3, "unit_price": 1.25}]}
    table = pa.Table.from_pylist(rows)
    path = tmp_path / "events.parquet"
    pq.write_table(table, path, row_group_size=3)
    return path


def test_parquet_replay_and_resume(tmp_path):
    path = _parquet(tmp_path)
    src = FileSource(path)
    recs = list(src.read())
    assert [r.offset for r in recs][:5] == [[1, 0, 0], [2, 0, 0], [3, 0, 0], [4, 0, 1], [5, 0, 1]]
    events = [parse(r) for r in recs]
    assert [e.event_id for e in events] == [f"e{i}" for i in range(10)]
    assert isinstance(events[4], Order) and events[4].total == 3.75
    assert "product_id" not in recs[4].payload and "lines" not in recs[0].payload  # nulls dropped, not None
    _assert_resume_exact(src, recs)


def test_parquet_mapping_two_events_per_row_resumes_mid_row(tmp_path):
    path = _parquet(tmp_path, n=4)
    m = Mapping.per_row(lambda r: [view(int(r["event_id"][1:])), {**view(100), "event_id": r["event_id"] + "-fb"}])
    src = FileSource(path, mapping=m)
    recs = list(src.read())
    assert [r.payload["event_id"] for r in recs] == ["e0", "e0-fb", "e1", "e1-fb", "e2", "e2-fb", "e3", "e3-fb"]
    assert [r.payload["event_id"] for r in src.read(after=recs[2].offset)] == ["e1-fb", "e2", "e2-fb", "e3", "e3-fb"]
    _assert_resume_exact(src, recs)


# -- opening files ---------------------------------------------------------------------------
def test_file_errors_say_what_to_do(tmp_path):
    with pytest.raises(SourceError, match="file not found"):
        open_source(f"file:{tmp_path / 'nope.jsonl'}")
    (tmp_path / "x.gz").write_bytes(b"")
    with pytest.raises(SourceError, match="decompress it first"):
        open_source(f"file:{tmp_path / 'x.gz'}")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(SourceError, match=r"needs column\(s\)"):
        open_source(f"file:{tmp_path / 'x.csv'}", mapping="fraud_data")
    src = open_source(f"file:{tmp_path / 'x.csv'}")
    with pytest.raises(SourceError, match="not a position"):
        list(src.read(after=12))
    with pytest.raises(SourceError, match="beyond the end"):
        list(src.read(after=[9, 0, 10_000]))
    with pytest.raises(SourceError, match="unknown option"):
        open_source(f"file:{tmp_path / 'x.csv'}?colour=blue")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(SourceError, match="not a readable Parquet file"):
        open_source(f"file:{tmp_path / 'bad.parquet'}")


def test_empty_files_yield_nothing(tmp_path):
    for name in ("e.jsonl", "e.csv"):
        (tmp_path / name).write_bytes(b"")
        assert list(open_source(f"file:{tmp_path / name}").read()) == []


def test_csv_oversized_and_unparseable_rows_are_reported_and_the_stream_goes_on(tmp_path, monkeypatch):
    import csv

    from ecomops.stream import tabular

    monkeypatch.setattr(tabular, "CSV_LINE_LIMIT", 2000)
    old_limit = csv.field_size_limit(500)
    try:
        path = tmp_path / "big.csv"
        path.write_text("type,event_id,merchant_id,ts,buyer_id,product_id\n"
                        f"view,v1,m1,1,b1,{'y' * 5000}\n"
                        f"view,v2,m1,2,b2,\"{'z' * 600}\"\n"
                        "view,v3,m1,3,b3,p3\n")
        src = FileSource(path)
        recs = list(src.read())
        assert [r.error[0] if r.error else parse(r).event_id for r in recs] == ["oversized", "bad_row", "v3"]
        assert "field larger than field limit" in recs[1].error[1]
        assert len(recs[0].payload) < 5000  # bounded, not the whole line
        _assert_resume_exact(src, recs)
    finally:
        csv.field_size_limit(old_limit)
