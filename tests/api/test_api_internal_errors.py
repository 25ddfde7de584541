"""An unexpected exception is a JSON 500 with a reference; the trace goes to the server log only."""

from __future__ import annotations

import logging

from fastapi.testclient import TestClient

from ecomops.api import ServiceConfig, create_app


def test_internal_error_is_json_without_trace(tmp_path, caplog):
    app = create_app(ServiceConfig(state=tmp_path / "state", kb_encoder="none"))

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail in /srv/app/module.py")

    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR, "ecomops.api"):
        r = client.get("/boom")
    assert r.status_code == 500
    err = r.json()["error"]
    assert err["code"] == "internal" and "reference" in err["message"]
    assert "secret" not in r.text and "Traceback" not in r.text and ".py" not in r.text
    ref = err["message"].split("reference ")[1].split(")")[0]
    assert any(ref in rec.getMessage() and rec.exc_info for rec in caplog.records)  # logged with its trace
