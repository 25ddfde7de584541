"""`ecomops transfer fit/predict` and `ecomops bench transfer` as a user meets them.

A tiny random-weight BERT (built from a config, no download) stands in for the encoder, so these
runs take seconds; accuracy is only checked to be a probability, not to be good.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import random
from pathlib import Path

import pytest

from typer.testing import CliRunner  # noqa: E402

from ecomops.cli import app  # noqa: E402

runner = CliRunner()

POS = ["great", "excellent", "love", "perfect", "sturdy", "happy", "recommend", "wonderful"]
NEG = ["awful", "broken", "terrible", "refund", "useless", "disappointed", "poor", "waste"]
NOUNS = {"kitchen": ["kettle", "blender", "toaster", "pan", "knife"],
         "tools": ["drill", "saw", "wrench", "hammer", "ladder"]}


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory):
    spec = importlib.util.spec_from_file_location(
        "transfer_conftest", Path(__file__).parent / "learn" / "transfer" / "conftest.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.build_tiny_encoder(tmp_path_factory.mktemp("tiny-bert-cli"))


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ECOMOPS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def rows(n, domain, seed, pos="pos", neg="neg"):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        good = i % 2 == 0
        words = rng.sample(POS if good else NEG, 3) + [rng.choice(NOUNS[domain]), "it", "was"]
        rng.shuffle(words)
        out.append((" ".join(words), pos if good else neg))
    return out


def write_csv(path, data, header=("text", "label")):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for text, label in data:
            w.writerow([text, label] if len(header) == 2 else [text])
    return path


def write_jsonl(path, data):
    path.write_text("".join(json.dumps({"text": t, "label": y, "id": i}) + "\n" for i, (t, y) in enumerate(data)))
    return path


def write_blitzer(folder, data):
    folder.mkdir(parents=True, exist_ok=True)
    for fname, lab in (("positive.review", "1"), ("negative.review", "0")):
        blocks = "".join(
            f"<review>\n<rating>\n{'5.0' if lab == '1' else '1.0'}\n</rating>\n<title>\n{t.split()[0]} &amp; more\n"
            f"</title>\n<review_text>\n{t}\n</review_text>\n</review>\n"
            for t, y in data if y == lab
        )
        (folder / fname).write_text(f"<reviews>\n{blocks}</reviews>\n", encoding="latin-1")
    return folder


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def flat(text: str) -> str:
    return " ".join(text.split())


def fails(result, *needles):
    assert result.exit_code == 2, result.output
    msg = flat(result.output)
    assert "error:" in msg and "Traceback" not in msg
    for n in needles:
        assert n in msg, (n, msg)
    return msg


def test_fit_then_predict_csv_to_jsonl_few_shot(tmp_path, tiny_encoder):
    src = write_csv(tmp_path / "src.csv", rows(60, "kitchen", 1))
    tgt = write_jsonl(tmp_path / "tgt.jsonl", rows(60, "tools", 2))
    model = tmp_path / "model"
    r = invoke("transfer", "fit", "--source", src, "--target", tgt, "--target-labels", 10, "--method", "source_only",
               "--out", model, "--encoder", tiny_encoder, "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["method"] == "source_only" and isinstance(res["target_accuracy"], float)
    assert 0.0 <= res["target_accuracy"] <= 1.0
    assert res["n_source"] == 60 and res["n_target"] == 60 and res["k"] == 10 and res["n_eval"] == 50
    assert res["classes"] == ["neg", "pos"] and res["out"] == str(model)
    assert (model / "transfer.json").exists()

    out_csv = tmp_path / "pred" / "p.csv"
    r = invoke("transfer", "predict", "--model", model, "--input", tgt, "--json", "--output", out_csv)
    assert r.exit_code == 0, r.output
    pred = json.loads(r.stdout)
    assert pred["n"] == 60 and len(pred["predictions"]) == 60
    assert {p["label"] for p in pred["predictions"]} <= {"pos", "neg"}
    assert [p["line"] for p in pred["predictions"]] == list(range(1, 61))
    assert all(0.5 <= p["proba"] <= 1.0 for p in pred["predictions"])
    assert 0.0 <= pred["accuracy"] <= 1.0 and pred["n_labeled"] == 60
    with open(out_csv, newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 60 and table[0]["predicted"] in ("pos", "neg") and "proba_pos" in table[0]

    r = invoke("transfer", "predict", "--model", model, "--input", tgt, "--show", 3)
    assert r.exit_code == 0, r.output
    assert "labels:" in r.stdout and "accuracy" in r.stdout and "pos" in r.stdout


def test_fit_prototypes_blitzer_source_unlabelled_target(tmp_path, tiny_encoder):
    src = write_blitzer(tmp_path / "kitchen", rows(60, "kitchen", 3, pos="1", neg="0"))
    tgt = write_csv(tmp_path / "tgt.csv", rows(60, "tools", 4), header=("text",))
    model = tmp_path / "m"
    r = invoke("transfer", "fit", "--source", src, "--target", tgt, "--method", "prototypes", "--out", model,
               "--encoder", tiny_encoder, "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["target_accuracy"] is None and res["k"] == 0 and res["classes"] == ["0", "1"]
    r = invoke("transfer", "fit", "--source", src, "--target", tgt, "--method", "prototypes", "--out", model,
               "--encoder", tiny_encoder)
    assert r.exit_code == 0, r.output
    assert "n/a" in flat(r.stdout) and "prototypes" in r.stdout
    r = invoke("transfer", "predict", "--model", model, "--input", tgt, "--json")
    pred = json.loads(r.stdout)
    assert {p["label"] for p in pred["predictions"]} <= {"0", "1"} and "accuracy" not in pred
    assert sum(pred["counts"].values()) == 60


def test_bad_inputs_exit_2_with_the_line(tmp_path, tiny_encoder):
    good = write_csv(tmp_path / "good.csv", rows(20, "kitchen", 5))
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\ngreat kettle,pos\nawful, broken kettle,neg\n")
    common = ["--out", tmp_path / "m", "--encoder", tiny_encoder, "--method", "source_only"]
    fails(invoke("transfer", "fit", "--source", bad, "--target", good, *common), "bad.csv", "line 3", "--source")
    badj = tmp_path / "bad.jsonl"
    badj.write_text('{"text": "fine", "label": "pos"}\n\n{"text": "oops"\n')
    fails(invoke("transfer", "fit", "--source", good, "--target", badj, *common), "bad.jsonl", "line 3", "invalid JSON")
    fails(invoke("transfer", "fit", "--source", good, "--target", tmp_path / "missing.csv", *common), "missing.csv")
    fails(invoke("transfer", "fit", "--source", good, "--target", good, "--target-labels", 99, *common),
          "99", "only 20 labelled")
    other = write_csv(tmp_path / "other.csv", rows(20, "tools", 6, pos="1", neg="0"))
    fails(invoke("transfer", "fit", "--source", good, "--target", other, *common), "'0'", "'1'", "source")
    fails(invoke("transfer", "fit", "--source", good, "--target", good, "--out", tmp_path / "m", "--method", "magic"),
          "unknown method 'magic'", "dann")
    fails(invoke("transfer", "fit", "--source", good, "--target", good, *common, "--text-col", "body"),
          "'body'", "--text-col", "'text'")
    fails(invoke("transfer", "predict", "--model", tmp_path / "nomodel", "--input", good), "nomodel", "transfer fit")
    (tmp_path / "empty_model").mkdir()
    fails(invoke("transfer", "predict", "--model", tmp_path / "empty_model", "--input", good), "transfer.json")


def test_bench_transfer_validates_and_calls_the_benchmark(tmp_path, monkeypatch):
    import types

    import ecomops.cli as cli

    data = tmp_path / "blitzer"
    for d in ("books", "dvd"):
        (data / d).mkdir(parents=True)
    fails(invoke("bench", "transfer", "--data", tmp_path / "nowhere"), "no Blitzer data", "nowhere")
    fails(invoke("bench", "transfer", "--data", data, "--pairs", "books-dvd"), "SOURCE:TARGET", "books-dvd")
    fails(invoke("bench", "transfer", "--data", data, "--pairs", "books:dvd,books:music"), "'music'", "books, dvd")
    fails(invoke("bench", "transfer", "--data", data, "--ks", "0,x"), "--ks", "'x'")
    fails(invoke("bench", "transfer", "--data", data, "--methods", "dann,nope"), "unknown method 'nope'")

    calls = []

    def run(**kw):
        calls.append(kw)
        return {"results": [{"source": "books", "target": "dvd", "method": "dann", "k": 0, "accuracy": 0.75}]}

    monkeypatch.setattr(cli, "_load_benchmark", lambda name: types.SimpleNamespace(run=run, name=name))
    out = tmp_path / "res" / "t.json"
    r = invoke("bench", "transfer", "--data", data, "--pairs", "books:dvd, dvd:books", "--methods", "dann,coral",
               "--ks", "0,20", "--quick", "--out", out, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["results"][0]["accuracy"] == 0.75
    assert json.loads(out.read_text()) == json.loads(r.stdout)
    assert calls[-1] == {"data_dir": str(data), "pairs": [("books", "dvd"), ("dvd", "books")],
                         "methods": ["dann", "coral"], "ks": [0, 20], "seed": 0, "progress": False, "quick": True}
    r = invoke("bench", "transfer", "--data", data)
    assert r.exit_code == 0 and "0.7500" in r.stdout and "books" in r.stdout
    assert calls[-1]["pairs"] is None and calls[-1]["methods"] is None and calls[-1]["progress"] is True
