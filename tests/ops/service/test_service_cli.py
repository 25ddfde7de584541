"""`ecomops ask --json` and `ecomops feedback` through the real CLI app."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ecomops.cli import app
from ecomops.knowledge import KnowledgeBase
from ecomops.knowledge.loaders import Document
from ecomops.store import Store


def test_ask_json_shape_and_feedback(tmp_path):
    state = tmp_path / "state"
    s = Store.open(state)
    KnowledgeBase(s, "M", encoder=None).add_documents(
        [Document("returns", "Return window", "Returns are accepted within 14 days of delivery.")])
    KnowledgeBase(s, "OTHER", encoder=None).add_documents(
        [Document("returns-o", "Return window", "Returns are accepted within 99 days.")])
    s.close()
    runner = CliRunner()
    r = runner.invoke(app, ["ask", "How many days to return an item?", "--merchant", "M", "--state", str(state),
                            "--encoder", "none", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert {"answer", "citations", "intent", "confidence", "escalate"} <= set(out)
    assert isinstance(out["answer"], str) and "14" in out["answer"]
    assert out["citations"] and set(out["citations"][0]) == {"doc_id", "version", "text"}
    assert out["citations"][0]["doc_id"] == "returns" and out["citations"][0]["version"] == 1
    assert isinstance(out["intent"], str) and isinstance(out["confidence"], float)
    assert isinstance(out["escalate"], bool)

    r = runner.invoke(app, ["feedback", "--merchant", "M", "--question", "Do you ship to Macau?",
                            "--answer", "", "--correct", "Yes, we ship to Macau in 5 days.", "--intent",
                            "delivery_options", "--state", str(state), "--encoder", "none", "--json"])
    assert r.exit_code == 0, r.output
    fb = json.loads(r.stdout)
    assert fb["past_answer"]["version"] == 1 and fb["intent"] == "delivery_options"
    r = runner.invoke(app, ["ask", "ship to Macau?", "--merchant", "M", "--state", str(state),
                            "--encoder", "none", "--json"])
    out = json.loads(r.stdout)
    assert "Macau" in out["answer"] and out["citations"][0]["doc_id"] == fb["past_answer"]["doc_id"]
    assert out["intent"] == "delivery_options"

    r = runner.invoke(app, ["ask", "x", "--merchant", " ", "--state", str(state), "--encoder", "none"])
    assert r.exit_code == 2
