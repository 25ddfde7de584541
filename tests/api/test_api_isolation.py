"""Tenant isolation on every endpoint: merchant A's key never reads, lists, changes or infers B's data.

The strongest check is a before/after one: everything A can see (models, alerts, dead letters,
knowledge, scores and recommendations for B's own buyers, answers to B's secret) is recorded, B
then sends orders, verdicts, documents and malformed events, and A sees exactly the same bytes
again, while B's own view shows that the activity happened.
"""

from __future__ import annotations

import pytest
from api_server import A, B, B_MARKER, SECRET_B, TS, no_trace

READS = [("GET", "/v1/models", None), ("GET", "/v1/alerts", None), ("GET", "/v1/deadletters", None),
         ("GET", "/v1/knowledge", None)]
ENDPOINTS = [
    ("POST", "/v1/events", {"type": "view", "event_id": "x", "ts": 1, "buyer_id": "b", "product_id": "p"}),
    ("POST", "/v1/events/ndjson", None),
    ("POST", "/v1/predict/propensity", {"buyer_id": "b", "product_id": "p"}),
    ("POST", "/v1/predict/risk", {"buyer_id": "b", "lines": [{"product_id": "p", "quantity": 1, "unit_price": 1}]}),
    ("GET", "/v1/recommendations?buyer_id=b", None),
    ("POST", "/v1/audit", {"listing_id": "l", "title": "t", "category": "c", "price": 1}),
    ("POST", "/v1/ask", {"question": "hi"}),
    ("GET", "/v1/audit/queue", None),
    ("POST", "/v1/audit/queue/1/decision", {"decision": "approve"}),
    ("POST", "/v1/ask/feedback", {"question": "hi", "accepted": True}),
    ("GET", "/v1/models/history", None),
    *READS, ("GET", "/v1/me", None), ("GET", "/v1/engine", None), ("GET", "/metrics", None),
]


def _get(client, path, **params):
    base, _, query = path.partition("?")
    return client.get(base, params={**dict(p.split("=") for p in query.split("&") if p), **params})


def _call(client, method, path, body, **params):
    if method == "GET":
        return _get(client, path, **params)
    if path.endswith("ndjson"):
        return client.post(path, content=b'{"type": "view"}\n', params=params)
    return client.post(path, json=body, params=params)


def _b_buyer(api):
    a_buyers = {e.get("buyer_id") for e in api.events_a}
    v = next(e for e in api.events_b if e["type"] == "view" and e["buyer_id"] not in a_buyers)
    order = next(e for e in api.events_b if e["type"] == "order")
    return v["buyer_id"], v["product_id"], order


def _a_view(api) -> dict:
    """Everything merchant A's key can see, including what it might infer about B's buyers."""
    buyer, product, order = _b_buyer(api)
    risk = {k: order[k] for k in ("buyer_id", "lines", "device_id", "ip", "channel", "account_id") if order.get(k)}
    out = {path: api.a.get(path, params={"limit": 1000} if "models" not in path and "knowledge" not in path else {})
           .text for _, path, _ in READS}
    out["propensity"] = api.a.post("/v1/predict/propensity", json={"buyer_id": buyer, "product_id": product}).text
    out["risk"] = api.a.post("/v1/predict/risk", json=risk).text
    out["recommendations"] = api.a.get("/v1/recommendations", params={"buyer_id": buyer}).text
    out["ask"] = api.a.post("/v1/ask", json={"question": "Which depot ships pallet orders, and what is the code?"}).json()
    out["ask"].pop("latency_ms")
    return out


@pytest.mark.parametrize("method,path,body", ENDPOINTS, ids=[f"{m} {p.split('?')[0]}" for m, p, _ in ENDPOINTS])
def test_no_key_or_a_bad_key_is_401(api, method, path, body):
    bad = [api.server.client("eco_0123456789_" + "x" * 43), api.server.client("not-a-key"),
           api.server.client(api.slow_key + "x")]
    for client in (api.anon, *bad):
        r = _call(client, method, path, body)
        assert r.status_code == 401, (path, r.text)
        assert r.json()["error"]["code"] == "unauthorized" and no_trace(r.text)
        assert r.headers["www-authenticate"] == "Bearer"
    for client in bad:
        client.close()


@pytest.mark.parametrize("method,path,body", [e for e in ENDPOINTS if e[1] not in ("/v1/me", "/v1/engine", "/metrics")
                                              and "events" not in e[1]],
                         ids=lambda x: x if isinstance(x, str) else None)
def test_naming_another_merchant_is_403(api, method, path, body):
    if method == "GET":
        r = _get(api.a, path, merchant_id=B)
    else:
        r = api.a.post(path, json={**body, "merchant_id": B})
    assert r.status_code == 403, (path, r.text)
    assert r.json()["error"]["code"] == "forbidden" and B_MARKER not in r.text
    # the same refusal whether that merchant exists or not: nothing to infer
    r2 = (_get(api.a, path, merchant_id="m-none") if method == "GET"
          else api.a.post(path, json={**body, "merchant_id": "m-none"}))
    assert r2.status_code == 403 and r2.json() == r.json()


def test_a_cannot_send_events_for_b(api):
    base = api.admin.get("/v1/engine").json()
    ev = {"type": "view", "event_id": "sneak-1", "merchant_id": B, "ts": TS, "buyer_id": "b", "product_id": "p"}
    mine = dict(ev, event_id="sneak-0", merchant_id=A)
    assert api.a.post("/v1/events", json=ev).status_code == 403
    r = api.a.post("/v1/events", json=[mine, ev])  # one foreign event: nothing of the batch is stored
    assert r.status_code == 403 and r.json()["error"]["details"] == {"index": 1}
    nd = b'{"type": "view", "event_id": "sneak-2", "merchant_id": "m02", "ts": 1, "buyer_id": "b", "product_id": "p"}\n'
    assert api.a.post("/v1/events/ndjson", content=nd).status_code == 403
    # a broken line naming B is A's own dead letter, never B's
    broken = b'{"type": "view", "event_id": "sneak-3", "merchant_id": "m02", "ts": \n'
    assert api.a.post("/v1/events/ndjson", content=broken, params={"wait": "true"}).json()["applied"]
    after = api.admin.get("/v1/engine").json()
    assert after["records_read"] - base["records_read"] == 1
    dl = api.admin.get("/v1/deadletters", params={"limit": 1000}).json()["dead_letters"]
    assert [d["merchant_id"] for d in dl if d["event_id"] == "sneak-3"] == [A]
    assert not [d for d in dl if d["event_id"] in ("sneak-0", "sneak-1", "sneak-2")]


def test_b_activity_is_invisible_to_a(api):
    before = _a_view(api)
    assert SECRET_B not in str(before) and "ZEBRA7731" not in str(before) and B_MARKER not in str(before)
    b_alerts = len(api.b.get("/v1/alerts", params={"limit": 1000}).json()["alerts"])
    # B: more orders from its own buyer (with verdicts), a new secret document, bad input
    buyer, product, order = _b_buyer(api)
    new = [dict(order, event_id=f"b-more-{i}", order_id=f"b-more-{i}", ts=order["ts"] + 4000 + i) for i in range(30)]
    new += [{"type": "view", "event_id": f"b-view-{i}", "ts": order["ts"] + 4100 + i, "buyer_id": buyer,
             "product_id": product} for i in range(30)]
    new += [{"type": "feedback", "event_id": f"b-fb-{i}", "ts": order["ts"] + 4200, "target_id": f"b-more-{i}",
             "model": "risk", "verdict": "fake", "label": 1.0} for i in range(30)]
    new.append({"type": "document", "event_id": "doc-b-2", "ts": TS, "doc_id": "depot-2", "title": "Depot codes",
                "text": "Second depot code ZEBRA7731-B for pallet orders from " + B_MARKER})
    assert api.b.post("/v1/events", json=new, params={"wait": "true"}).json()["applied"]
    bad = b'{"type": "order", "event_id": "' + B_MARKER.encode() + b'-x"}\n'
    assert api.b.post("/v1/events/ndjson", content=bad, params={"wait": "true"}).json()["applied"]
    # B sees its activity ...
    assert len(api.b.get("/v1/alerts", params={"limit": 1000}).json()["alerts"]) > b_alerts
    assert any(d["doc_id"] == "depot-2" for d in api.b.get("/v1/knowledge").json()["documents"])
    ask_b = api.b.post("/v1/ask", json={"question": "Which depot ships pallet orders, and what is the code?"}).json()
    assert "ZEBRA7731" in ask_b["answer"]
    assert any(B_MARKER in d["raw"] for d in api.b.get("/v1/deadletters", params={"limit": 1000}).json()["dead_letters"])
    # ... and A sees exactly what it saw before
    assert _a_view(api) == before


def test_a_reads_only_its_own_rows(api):
    for _, path, _ in READS:
        body = api.a.get(path, params={"limit": 1000} if path in ("/v1/alerts", "/v1/deadletters") else {}).json()
        rows = next(iter(v for v in body.values() if isinstance(v, list)))
        assert rows, path
        assert {r["merchant_id"] for r in rows} == {A}, path
        assert B_MARKER not in str(body) and SECRET_B not in str(body)


def test_admin_sees_every_merchant(api):
    for _, path, _ in READS:
        params = {"limit": 1000} if path in ("/v1/alerts", "/v1/deadletters") else {}
        body = api.admin.get(path, params=params).json()
        rows = next(iter(v for v in body.values() if isinstance(v, list)))
        assert {A, B} <= {r["merchant_id"] for r in rows}, path
        only_b = api.admin.get(path, params={**params, "merchant_id": B}).json()
        rows_b = next(iter(v for v in only_b.values() if isinstance(v, list)))
        assert rows_b and {r["merchant_id"] for r in rows_b} == {B}, path
    buyer, product, _ = _b_buyer(api)
    req = {"buyer_id": buyer, "product_id": product}
    as_admin = api.admin.post("/v1/predict/propensity", json={**req, "merchant_id": B}).json()
    as_b = api.b.post("/v1/predict/propensity", json=req).json()
    assert as_admin == as_b
    ev = {"type": "view", "event_id": "admin-for-b", "merchant_id": B, "ts": TS, "buyer_id": "b", "product_id": "p"}
    assert api.admin.post("/v1/events", json=ev, params={"wait": "true"}).json()["applied"]
    assert api.admin.get("/v1/engine").status_code == 200 and api.admin.get("/metrics").status_code == 200


def test_merchant_keys_get_no_service_wide_numbers(api):
    for path in ("/v1/engine", "/metrics"):
        r = api.a.get(path)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert set(api.anon.get("/healthz").json()) == {"status", "engine"}
