"""Users' own data: CSV / JSONL / Blitzer folders, and errors that name the file and the line."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from ecomops.core.errors import EcomopsError
from ecomops.learn.transfer.data import (
    DataError,
    TextDataset,
    read_blitzer_domain,
    read_blitzer_unlabeled,
    read_dataset,
    split_labeled,
)


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def review(title, text, rating="5.0", product="Blender: Kitchen"):
    return (
        "<review>\n<unique_id>\nB00:x:y\n</unique_id>\n<product_name>\n" + product + "\n</product_name>\n"
        "<rating>\n" + rating + "\n</rating>\n<title>\n" + title + "\n</title>\n"
        "<reviewer>\nSomeone\n</reviewer>\n<review_text>\n" + text + "\n</review_text>\n</review>\n"
    )


def blitzer(folder, pos, neg):
    folder.mkdir(parents=True, exist_ok=True)
    if pos is not None:
        write(folder / "positive.review", "<reviews>\n" + "".join(pos) + "</reviews>\n")
    if neg is not None:
        write(folder / "negative.review", "<reviews>\n" + "".join(neg) + "</reviews>\n")
    return folder


def error_of(fn, *args, **kw) -> str:
    with pytest.raises(DataError) as e:
        fn(*args, **kw)
    assert isinstance(e.value, EcomopsError)
    return str(e.value)


# -- CSV ---------------------------------------------------------------------------------------


def test_csv_quoting_commas_newlines_bom_and_unlabelled_rows(tmp_path):
    p = write(
        tmp_path / "r.csv",
        "\ufeffid,text,label\r\n"
        '1,"Great pump, works ""fine""",pos\r\n'
        '2,"two\nlines",neg\r\n'
        "\r\n"
        "3,no label yet,\r\n"
        "4,  padded  , pos \r\n",
    )
    ds = read_dataset(p)
    assert ds.texts == ['Great pump, works "fine"', "two\nlines", "no label yet", "padded"]
    assert ds.labels == ["pos", "neg", None, "pos"]
    assert ds.lines == [2, 3, 6, 7]  # the quoted newline spans lines 3-4, line 5 is blank
    assert ds.origin == str(p) and ds.classes == ["neg", "pos"] and len(ds) == 4
    assert ds.where(2) == f"{p}:6"


def test_csv_semicolon_tsv_and_custom_columns(tmp_path):
    ds = read_dataset(write(tmp_path / "s.csv", "Review;Sentiment\n\"a; b\";1\nc;0\n"),
                      text_col="review", label_col="sentiment", require_labels=True)
    assert ds.texts == ["a; b", "c"] and ds.labels == ["1", "0"]
    ds = read_dataset(write(tmp_path / "t.tsv", "text\tlabel\nx, y\t1\nz\t0\n"))
    assert ds.texts == ["x, y", "z"]


def test_csv_without_label_column_is_unlabelled(tmp_path):
    ds = read_dataset(write(tmp_path / "u.csv", "text\nfirst\nsecond\n"))
    assert ds.labels is None and not ds.has_labels and ds.texts == ["first", "second"]
    msg = error_of(read_dataset, tmp_path / "u.csv", require_labels=True)
    assert "'label'" in msg and "--label-col" in msg and "'text'" in msg


def test_csv_cp1252_fallback(tmp_path):
    ds = read_dataset(write(tmp_path / "w.csv", "text,label\ncaf\u00e9 \u2019ok\u2019,1\n", encoding="cp1252"))
    assert ds.texts == ["caf\u00e9 \u2019ok\u2019"]


def test_csv_errors_name_the_line(tmp_path):
    msg = error_of(read_dataset, write(tmp_path / "a.csv", "text,label\nok,1\nthis, has a comma,0\n"))
    assert "line 3" in msg and "3 fields" in msg and "a.csv" in msg
    msg = error_of(read_dataset, write(tmp_path / "b.csv", "text,label\nok,1\n,0\n"))
    assert "line 3" in msg and "empty text" in msg
    msg = error_of(read_dataset, write(tmp_path / "c.csv", "body,label\nok,1\n"))
    assert "'text'" in msg and "'body'" in msg and "--text-col" in msg
    msg = error_of(read_dataset, write(tmp_path / "d.csv", "text,label\nok,1\nnone,\n"), require_labels=True)
    assert "line 3" in msg and "empty label" in msg
    msg = error_of(read_dataset, write(tmp_path / "e.csv", "text,label\na,pos\nb,pos\n"), require_labels=True)
    assert "two classes" in msg and "'pos'" in msg
    assert "no rows" in error_of(read_dataset, write(tmp_path / "f.csv", "text,label\n"))
    assert "empty" in error_of(read_dataset, write(tmp_path / "g.csv", ""))
    msg = error_of(read_dataset, write(tmp_path / "h.csv", 'text,label\nok,1\n"open quote,0\n'))
    assert "h.csv" in msg and "line 3" in msg


def test_missing_file_and_unsupported_extension(tmp_path):
    msg = error_of(read_dataset, tmp_path / "nope.csv")
    assert "nope.csv" in msg and "no such file" in msg
    msg = error_of(read_dataset, write(tmp_path / "x.xlsx", "binary"))
    assert "'.xlsx'" in msg and ".csv" in msg and ".jsonl" in msg


# -- JSONL -------------------------------------------------------------------------------------


def test_jsonl_reads_objects_and_skips_blank_lines(tmp_path):
    rows = [{"text": "good", "label": 1}, {"text": "bad", "label": 0.0}, {"text": "??", "label": None},
            {"text": "meh"}, {"text": "yes", "label": "pos", "extra": [1]}]
    p = write(tmp_path / "r.jsonl", "\n".join(json.dumps(r) for r in rows[:2]) + "\n\n"
              + "\n".join(json.dumps(r) for r in rows[2:]) + "\n")
    ds = read_dataset(p)
    assert ds.texts == ["good", "bad", "??", "meh", "yes"]
    assert ds.labels == ["1", "0", None, None, "pos"]
    assert ds.lines == [1, 2, 4, 5, 6]


def test_jsonl_errors_name_the_line(tmp_path):
    msg = error_of(read_dataset, write(tmp_path / "a.jsonl", '{"text": "ok", "label": 1}\n{"text": "x", \n'))
    assert "line 2" in msg and "invalid JSON" in msg and "a.jsonl" in msg
    msg = error_of(read_dataset, write(tmp_path / "b.jsonl", '{"text": "ok"}\n\n["text", "x"]\n'))
    assert "line 3" in msg and "object" in msg and "list" in msg
    msg = error_of(read_dataset, write(tmp_path / "c.jsonl", '{"text": "ok"}\n{"body": "x"}\n'))
    assert "line 2" in msg and "'body'" in msg and "--text-col" in msg
    msg = error_of(read_dataset, write(tmp_path / "d.jsonl", '{"text": "ok"}\n{"text": "  "}\n'))
    assert "line 2" in msg and "empty text" in msg
    msg = error_of(read_dataset, write(tmp_path / "e.jsonl", '{"text": 3}\n'))
    assert "line 1" in msg and "string" in msg
    msg = error_of(read_dataset, write(tmp_path / "f.jsonl", '{"text": "a", "y": 1}\n'), require_labels=True)
    assert "'label'" in msg and "'y'" in msg and "--label-col" in msg


# -- Blitzer folders ---------------------------------------------------------------------------


def test_blitzer_folder_text_is_title_and_review_only(tmp_path):
    d = blitzer(
        tmp_path / "kitchen",
        [review("Great &amp; sturdy", "Works &quot;well&quot;.\n\nSecond paragraph.", rating="5.0"),
         review("Nice", "Double &amp;quot;escaped&amp;quot;", rating="4.0")],
        [review("Broke", "Stopped after a week", rating="1.0", product="Toaster: Kitchen")],
    )
    ds = read_dataset(d, require_labels=True)
    assert ds.texts[0] == 'Great & sturdy. Works "well".\n\nSecond paragraph.'
    assert ds.texts[1] == 'Nice. Double "escaped"'
    assert ds.texts[2] == "Broke. Stopped after a week"
    assert ds.labels == ["1", "1", "0"]
    for t in ds.texts:  # neither the rating nor the product name leaks into the text
        assert "5.0" not in t and "1.0" not in t and "Blender" not in t and "Toaster" not in t
    assert ds.lines[0] == 2 and ds.files[2].endswith("negative.review")
    assert ds.where(2).endswith("negative.review:2")
    assert read_blitzer_domain(d).texts == ds.texts


def test_blitzer_one_file_unlabeled_and_inline_tags(tmp_path):
    d = blitzer(tmp_path / "dvd", None, ["<review>\n<title>Dull</title>\n<review_text>Slow plot</review_text>\n"
                                         "<rating>2.0</rating>\n</review>\n"])
    ds = read_dataset(d)
    assert ds.texts == ["Dull. Slow plot"] and ds.labels == ["0"]
    assert "two classes" in error_of(read_dataset, d, require_labels=True)
    u = tmp_path / "u"
    u.mkdir()
    write(u / "unlabeled.review", review("", "no title here"))
    assert read_blitzer_unlabeled(u).texts == ["no title here"]
    ds = read_dataset(u)
    assert ds.labels is None and ds.texts == ["no title here"]
    assert "no labels" in error_of(read_dataset, u, require_labels=True)


def test_blitzer_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    write(empty / "notes.txt", "x")
    msg = error_of(read_dataset, empty)
    assert "no .review files" in msg and "notes.txt" in msg

    bad = tmp_path / "bad"
    bad.mkdir()
    good = review("A", "fine")  # 20 lines
    write(bad / "positive.review", "<reviews>\n" + good + good.replace("</review>\n", "") + good + "</reviews>\n")
    msg = error_of(read_dataset, bad)
    assert "review #2" in msg and "line 22" in msg and "line 41" in msg and "not closed" in msg

    write(bad / "positive.review", good + "<review>\n<title>\nT\n</title>\n<review_text>\nopen\n</review>\n")
    msg = error_of(read_dataset, bad)
    assert "review #2" in msg and "<review_text>" in msg and "line 25" in msg and "line 27" in msg

    write(bad / "positive.review", "<review>\n<title>\nT\n</title>\n</review>\n")
    msg = error_of(read_dataset, bad)
    assert "review #1" in msg and "no <review_text>" in msg and "line 5" in msg

    write(bad / "positive.review", "<review>\n<title>\n\n</title>\n<review_text>\n\n</review_text>\n</review>\n")
    assert "empty text" in error_of(read_dataset, bad)

    write(bad / "positive.review", "just some words\n")
    assert "line 1" in error_of(read_dataset, bad)

    write(bad / "positive.review", "<reviews>\n</reviews>\n")
    assert "no <review> blocks" in error_of(read_dataset, bad)

    write(bad / "positive.review", good + "<review>\n<title>\nT\n</title>\n")
    msg = error_of(read_dataset, bad)
    assert "review #2" in msg and "never closed" in msg


# -- few-shot split ----------------------------------------------------------------------------


def _ds(labels):
    return TextDataset([f"t{i}" for i in range(len(labels))], list(labels), "mem", list(range(1, len(labels) + 1)))


def test_split_labeled_is_stratified_nested_and_seeded():
    labels = ["a"] * 60 + ["b"] * 30 + [None] * 10
    ds = _ds(labels)
    big, rest = split_labeled(ds, 60, seed=3)
    for k in (1, 2, 3, 20, 50):
        small, small_rest = split_labeled(ds, k, seed=3)
        assert small == big[:k]
        assert sorted(small + small_rest) == list(range(100))
    twenty = Counter(labels[i] for i in big[:20])
    assert twenty == {"a": 13, "b": 7} or twenty == {"a": 14, "b": 6}
    assert {labels[i] for i in big[:2]} == {"a", "b"}  # every class before any class twice
    assert all(labels[i] is not None for i in big)
    assert set(range(90, 100)) <= set(rest)
    assert split_labeled(ds, 20, seed=3) == split_labeled(ds, 20, seed=3)
    assert split_labeled(ds, 20, seed=4)[0] != split_labeled(ds, 20, seed=3)[0]
    assert split_labeled(ds, 0, seed=3) == ([], list(range(100)))


def test_split_labeled_errors():
    ds = _ds(["a", "b", None])
    assert "only 2 labelled" in error_of(split_labeled, ds, 3, 0)
    assert ">= 0" in error_of(split_labeled, ds, -1, 0)
    sub = ds.subset([2, 0])
    assert sub.texts == ["t2", "t0"] and sub.labels == [None, "a"] and sub.lines == [3, 1]
