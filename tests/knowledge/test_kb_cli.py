import json

from typer.testing import CliRunner

from ecomops.cli import app

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, list(args))


def test_kb_add_and_search_round_trip(tmp_path, write):
    state = str(tmp_path / "state")
    v1 = write("returns.md", "# Returns\n\nYou can return items within a 7-day return window.\n")
    r = _run("kb", "add", str(v1), "--merchant", "m1", "--state", state, "--encoder", "none", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"merchant": "m1", "source": "returns.md",
                                    "documents": [{"doc_id": "returns", "version": 1}], "dense": False}
    v1.write_text("# Returns\n\nYou can return items within a 14-day return window.\n")
    r = _run("kb", "add", str(v1), "--merchant", "m1", "--state", state, "--encoder", "none", "--json")
    assert json.loads(r.stdout)["documents"] == [{"doc_id": "returns", "version": 2}]
    faq = write("faq.jsonl", '{"question": "Do you ship to Norway?", "answer": "Yes, in 5 days."}\n')
    assert _run("kb", "add", str(faq), "--merchant", "m1", "--state", state, "--encoder", "none").exit_code == 0

    r = _run("kb", "search", "how many days to return", "--merchant", "m1", "--state", state,
             "--encoder", "none", "--k", "5", "--json")
    assert r.exit_code == 0, r.output
    hits = json.loads(r.stdout)
    assert hits[0]["doc_id"] == "returns" and hits[0]["version"] == 2 and "14-day" in hits[0]["text"]
    assert {"doc_id", "version", "title", "text", "score"} <= set(hits[0])
    assert all("7-day" not in h["text"] for h in hits)
    # another merchant sees nothing
    r = _run("kb", "search", "return", "--merchant", "m2", "--state", state, "--encoder", "none", "--json")
    assert json.loads(r.stdout) == []
    # the table output works too
    r = _run("kb", "search", "Norway", "--merchant", "m1", "--state", state, "--encoder", "none")
    assert r.exit_code == 0 and "faq:1" in r.stdout


def test_kb_add_bad_file_fails_cleanly(tmp_path, write):
    bad = write("bad.csv", "question,answer\nq?,\n")
    r = _run("kb", "add", str(bad), "--merchant", "m1", "--state", str(tmp_path / "s"), "--encoder", "none")
    assert r.exit_code == 2
    assert "bad.csv:2" in r.output and "Traceback" not in r.output
