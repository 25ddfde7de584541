"""``ecomops audit FILE.jsonl``: JSON lines exactly as specified, bad lines reported by number."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ecomops.cli import app

runner = CliRunner(mix_stderr=False) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames else CliRunner()


def _write(tmp_path, rows):
    p = tmp_path / "listings.jsonl"
    p.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                 encoding="utf-8")
    return p


def test_cli_json_shape(tmp_path, listing):
    rows = [listing(listing_id="a"), listing(listing_id="b", title="Deli 订书机 stapler 销量第一"),
            listing(listing_id="c", attributes={})]
    p = _write(tmp_path, rows)
    r = runner.invoke(app, ["audit", str(p), "--json", "--state", str(tmp_path / "st")])
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [(x["listing_id"], x["verdict"]) for x in lines] == [("a", "pass"), ("b", "reject"), ("c", "review")]
    for x in lines:
        assert set(x) == {"listing_id", "verdict", "reasons"} and isinstance(x["listing_id"], str)
        for reason in x["reasons"]:
            assert set(reason) == {"code", "message", "citation"}
            assert all(isinstance(v, str) and v for v in reason.values())
    assert lines[1]["reasons"][0]["code"] == "prohibited_claim" and "广告法" in lines[1]["reasons"][0]["citation"]
    assert (tmp_path / "st" / "audit_state.json").exists()


def test_cli_bad_line_reported_and_skipped(tmp_path, listing):
    p = _write(tmp_path, [listing(listing_id="a"), "{not json", listing(listing_id="c", price="free"),
                          listing(listing_id="d")])
    r = runner.invoke(app, ["audit", str(p), "--json", "--state", str(tmp_path / "st")])
    assert r.exit_code == 1
    assert [json.loads(x)["listing_id"] for x in r.stdout.splitlines()] == ["a", "d"]
    err = r.stderr if hasattr(r, "stderr") else r.output
    assert "line 2" in err and "line 3" in err and "price" in err


def test_cli_table_and_errors(tmp_path, listing):
    p = _write(tmp_path, [listing(listing_id="a"), listing(listing_id="b", certifications=[], category="electronics",
                                                           title="Anker 移动电源 power bank")])
    r = runner.invoke(app, ["audit", str(p), "--state", str(tmp_path / "st")])
    assert r.exit_code == 0, r.output
    assert "1 pass" in r.stdout and "1 reject" in r.stdout
    r = runner.invoke(app, ["audit", str(tmp_path / "none.jsonl"), "--state", str(tmp_path / "st")])
    assert r.exit_code == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nrules: {prohibited_claim: {patterns: []}}\n")
    r = runner.invoke(app, ["audit", str(p), "--rules", str(bad), "--state", str(tmp_path / "st")])
    assert r.exit_code == 2
    assert "rules.prohibited_claim" in (r.stderr if hasattr(r, "stderr") else r.output)
