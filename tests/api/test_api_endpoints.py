"""Every endpoint works for a merchant's key, against the real server (see conftest.py)."""

from __future__ import annotations

import math

import orjson
from api_server import A, DOC_A, TS, no_trace, wait_until


def _buyer_product(events):
    v = next(e for e in events if e["type"] == "view")
    return v["buyer_id"], v["product_id"], v.get("category")


def test_health_openapi_and_docs_need_no_key(api):
    r = api.anon.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "engine": "running"}
    spec = api.anon.get("/openapi.json").json()
    paths = set(spec["paths"])
    for p in ("/v1/events", "/v1/events/ndjson", "/v1/predict/propensity", "/v1/predict/risk", "/v1/recommendations",
              "/v1/audit", "/v1/ask", "/v1/alerts", "/v1/models", "/v1/deadletters", "/v1/knowledge", "/healthz",
              "/metrics"):
        assert p in paths, p
    docs = api.anon.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    assert "https://" not in docs.text and "<script src" not in docs.text  # no CDN: works offline


def test_me(api):
    assert api.a.get("/v1/me").json()["merchant_id"] == A
    assert api.admin.get("/v1/me").json()["admin"] is True


def test_ingest_single_batch_and_ndjson(api):
    base = api.admin.get("/v1/engine").json()["records_read"]
    one = {"type": "view", "event_id": "a-single-1", "ts": TS + 10, "buyer_id": "b-new", "product_id": "p-new"}
    r = api.a.post("/v1/events", json=one, params={"wait": "true"})
    assert r.status_code == 202 and r.json() == {"accepted": 1, "invalid": 0, "errors": [], "applied": True}
    batch = [dict(one, event_id=f"a-batch-{i}") for i in range(5)]
    assert api.a.post("/v1/events", json=batch, params={"wait": "true"}).json()["accepted"] == 5
    nd = b"\n".join(orjson.dumps(dict(one, event_id=f"a-nd-{i}")) for i in range(3)) + b"\n\n"
    r = api.a.post("/v1/events/ndjson", content=nd, params={"wait": "true"},
                   headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 202 and r.json()["accepted"] == 3 and r.json()["applied"]
    # a retried event is not learned twice: the engine keeps it as a `duplicate` dead letter
    assert api.a.post("/v1/events", json=one, params={"wait": "true"}).json()["applied"]
    eng = api.admin.get("/v1/engine").json()
    assert eng["records_read"] - base == 10
    dups = api.a.get("/v1/deadletters", params={"code": "duplicate"}).json()["dead_letters"]
    assert [d["event_id"] for d in dups] == ["a-single-1"]


def test_predict_propensity_with_reasons(api):
    buyer, product, cat = _buyer_product(api.events_a)
    r = api.a.post("/v1/predict/propensity", json={"buyer_id": buyer, "product_id": product, "category": cat})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["merchant_id"] == A and d["model"] == "propensity" and 0.0 < d["score"] < 1.0
    assert math.isclose(1 / (1 + math.exp(-d["logit"])), d["score"], rel_tol=1e-9)
    assert d["examples_learned"] > 0 and 1 <= len(d["reasons"]) <= 5
    for reason in d["reasons"]:
        assert set(reason) == {"feature", "value", "contribution", "effect"}
        assert reason["effect"] == ("raises" if reason["contribution"] > 0 else "lowers")
    sizes = [abs(x["contribution"]) for x in d["reasons"]]
    assert sizes == sorted(sizes, reverse=True)
    r = api.a.post("/v1/predict/propensity", json={"buyer_id": buyer, "product_id": product, "kind": "click",
                                                   "position": 2, "top": 2})
    assert r.status_code == 200 and len(r.json()["reasons"]) <= 2


def test_predict_risk_with_reasons(api):
    order = next(e for e in api.events_a if e["type"] == "order")
    body = {k: order[k] for k in ("buyer_id", "lines", "device_id", "ip", "channel", "account_id") if order.get(k)}
    r = api.a.post("/v1/predict/risk", json=body)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["model"] == "risk" and 0.0 < d["score"] < 1.0 and d["reasons"]
    assert {x["feature"] for x in d["reasons"]} <= {"baseline", "device", "ip_net", "channel", "country", "hour",
                                                   "account_age_h", "account_age_log", "lines", "qty", "total",
                                                   "device_orders_1h", "ip_orders_1h", "account_orders_1d",
                                                   "device_accounts", "ip_accounts", "channel_hour"}


def test_recommendations(api):
    buyer, _, _ = _buyer_product(api.events_a)
    r = api.a.get("/v1/recommendations", params={"buyer_id": buyer, "k": 5})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    a_products = {e.get("product_id") for e in api.events_a} | {
        ln["product_id"] for e in api.events_a if e["type"] == "order" for ln in e["lines"]}
    assert len(a_products - {None}) >= 5 and len(items) == 5  # k of them: A has more candidates than that
    assert len({i["product_id"] for i in items}) == 5
    assert {i["product_id"] for i in items} <= a_products | {"p-new", "p"}  # A's own catalogue (and tests')
    assert all(i["reasons"] for i in items)


def test_audit_listing(api):
    listing = {"listing_id": "L-pb-1", "title": "Anker 移动电源 power bank 20000mAh", "category": "electronics",
               "attributes": {"model": "A1", "warranty_months": "12", "color": "black"}, "price": 120}
    r = api.a.post("/v1/audit", json=listing)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["merchant_id"] == A and d["listing_id"] == "L-pb-1" and d["verdict"] == "reject"
    assert [x["code"] for x in d["reasons"]] == ["missing_certification"] and d["reasons"][0]["citation"]
    ok = dict(listing, listing_id="L-pb-2", certifications=["CCC"])
    assert api.a.post("/v1/audit", json=ok).json()["verdict"] == "pass"
    bad = api.a.post("/v1/audit", json={"listing_id": "x", "title": "t", "category": "c", "price": -1})
    assert bad.status_code == 422 and "price" in bad.json()["error"]["message"]


def test_ask_answers_from_the_merchants_documents(api):
    r = api.a.post("/v1/ask", json={"question": "How many days do I have to return an order?"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert set(d) >= {"answer", "citations", "intent", "confidence", "escalate", "reason", "flags"}
    assert [c["doc_id"] for c in d["citations"]] == ["returns"] and "7 days" in d["answer"]
    docs = api.a.get("/v1/knowledge").json()["documents"]
    assert [(x["doc_id"], x["version"], x["text"]) for x in docs] == [("returns", 1, DOC_A)]


def test_alerts_models_and_deadletters(api):
    alerts = api.a.get("/v1/alerts").json()["alerts"]
    assert alerts and all(x["merchant_id"] == A and x["kind"] in ("risk", "drift") for x in alerts)
    risk = [x for x in alerts if x["kind"] == "risk"]
    assert risk and all(x["score"] >= 0.5 for x in risk)  # --risk-alert-threshold 0.5
    page = api.a.get("/v1/alerts", params={"after_id": alerts[0]["id"], "limit": 1}).json()
    assert len(page["alerts"]) <= 1 and all(x["id"] > alerts[0]["id"] for x in page["alerts"])
    models = api.a.get("/v1/models").json()["models"]
    assert {(m["merchant_id"], m["model"]) for m in models} == {(A, "propensity"), (A, "risk")}
    prop = next(m for m in models if m["model"] == "propensity")
    assert prop["examples_learned"] > 0 and prop["metrics"]["n"] == prop["examples_learned"]
    assert prop["checkpoint_digest"]
    dead = api.a.get("/v1/deadletters").json()["dead_letters"]
    codes = {d["event_id"]: d["code"] for d in dead}
    assert codes.get("a-bad-1") == "malformed" and codes.get("a-bad-2") == "missing_field"
    bad2 = next(d for d in dead if d["event_id"] == "a-bad-2")
    assert "product_id" in bad2["reason"] and '"a-bad-2"' in bad2["raw"]


def test_malformed_event_is_dead_lettered_and_the_stream_goes_on(api):
    before = api.admin.get("/v1/engine").json()
    nd = (b'{"type": "view", "event_id": "flow-1", "ts": 5, "buyer_id": "b", "product_id": "p"}\n'
          b'{"type": "view", "event_id": "flow-2", "ts": NaN}\n'
          b'{"type": "teleport", "event_id": "flow-3", "ts": 5}\n'
          b'{"type": "view", "event_id": "flow-4", "ts": 6, "buyer_id": "b", "product_id": "p"}\n')
    r = api.a.post("/v1/events/ndjson", content=nd, params={"wait": "true"})
    assert r.status_code == 202 and r.json()["applied"]
    assert [(e["index"], e["code"]) for e in r.json()["errors"]] == [(1, "malformed"), (2, "unknown_type")]
    after = api.admin.get("/v1/engine").json()
    assert after["records_read"] - before["records_read"] == 4
    assert after["events_applied"] - before["events_applied"] == 2
    dead = {d["event_id"]: d for d in api.a.get("/v1/deadletters", params={"limit": 1000}).json()["dead_letters"]}
    assert dead["flow-3"]["code"] == "unknown_type" and dead["flow-3"]["merchant_id"] == A
    assert any(d["code"] == "malformed" and "NaN" in d["raw"] for d in dead.values())


def test_metrics_for_admin(api):
    r = api.admin.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'ecomops_http_requests_total{method="POST",route="/v1/events",status="202"}' in text
    assert "ecomops_engine_up 1" in text and "ecomops_inbox_backlog" in text
    assert "m01" not in text and "m02" not in text  # no merchant labels
    wait_until(lambda: api.anon.get("/healthz").status_code == 200, what="health")
    assert no_trace(text)
