"""The dashboard's endpoints: the audit queue and its decisions, answer feedback, metric history.

Against the shared real server (tests/api/conftest.py): decisions reach the merchant's auditor
and the stream (a ``feedback`` event the engine applies), and every merchant sees and decides
its own queue only.
"""

from __future__ import annotations

from api_server import A, B, wait_until

LISTING = {"title": "Anker 移动电源 power bank 20000mAh", "category": "electronics",
           "attributes": {"model": "A1", "warranty_months": "12", "color": "black"}, "price": 120}


def _flag(client, listing_id: str) -> dict:
    d = client.post("/v1/audit", json={**LISTING, "listing_id": listing_id}).json()
    assert d["verdict"] == "reject" and isinstance(d["queue_id"], int), d
    return d


def _queue(client, **params) -> list[dict]:
    r = client.get("/v1/audit/queue", params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_flagged_listings_queue_and_a_decision_feeds_back(api):
    d = _flag(api.a, "Q-a-1")
    passed = api.a.post("/v1/audit", json={**LISTING, "listing_id": "Q-a-ok", "certifications": ["CCC"]}).json()
    assert passed["verdict"] == "pass" and "queue_id" not in passed
    pending = _queue(api.a)
    item = next(i for i in pending if i["id"] == d["queue_id"])
    assert item["listing_id"] == "Q-a-1" and item["status"] == "pending" and item["merchant_id"] == A
    assert [r["code"] for r in item["reasons"]] == ["missing_certification"]
    assert _flag(api.a, "Q-a-1")["queue_id"] == item["id"]  # audited again while pending: the same item
    assert [i["listing_id"] for i in _queue(api.a)].count("Q-a-1") == 1
    assert not [i for i in pending if i["listing_id"] == "Q-a-ok"]

    r = api.a.post(f"/v1/audit/queue/{item['id']}/decision", json={"decision": "approve", "comment": "has CCC"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["item"]["status"] == "approved" and out["item"]["decision"] == "approve"
    assert out["auditor_learned"] == ["missing_certification"]  # the auditor's reason was overturned
    assert item["id"] not in {i["id"] for i in _queue(api.a)}
    assert item["id"] in {i["id"] for i in _queue(api.a, status="approved")}
    # decided once only; unknown ids are 404
    again = api.a.post(f"/v1/audit/queue/{item['id']}/decision", json={"decision": "reject"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_decided"
    assert api.a.post("/v1/audit/queue/999999/decision", json={"decision": "reject"}).status_code == 404
    assert api.a.post(f"/v1/audit/queue/{item['id']}/decision", json={"decision": "maybe"}).status_code == 422

    # the decision is in the stream: the engine applied it, so the same event id again is a duplicate
    fb = {"type": "feedback", "event_id": out["feedback_event_id"], "ts": 1.0, "target_id": "Q-a-1",
          "model": "audit", "verdict": "approve", "label": 0.0}
    assert api.a.post("/v1/events", json=fb, params={"wait": "true"}).json()["applied"]
    dl = api.a.get("/v1/deadletters", params={"code": "duplicate", "limit": 1000}).json()["dead_letters"]
    assert [d["event_id"] for d in dl if d["event_id"] == out["feedback_event_id"]] == [out["feedback_event_id"]]


def test_a_cannot_see_or_decide_bs_queue(api):
    d_b = _flag(api.b, "Q-b-secret")
    _flag(api.a, "Q-a-2")
    a_before = api.a.get("/v1/audit/queue", params={"status": "pending"}).text
    assert "Q-b-secret" not in a_before
    assert api.a.get("/v1/audit/queue", params={"merchant_id": B}).status_code == 403
    r = api.a.post(f"/v1/audit/queue/{d_b['queue_id']}/decision", json={"decision": "reject", "merchant_id": B})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    # by id alone, A reaches its own queue only: B's item stays pending, whatever A's answer
    api.a.post(f"/v1/audit/queue/{d_b['queue_id']}/decision", json={"decision": "reject"})
    b_item = next(i for i in _queue(api.b) if i["id"] == d_b["queue_id"])
    assert b_item["listing_id"] == "Q-b-secret" and b_item["status"] == "pending"
    assert {i["merchant_id"] for s in ("pending", "approved", "rejected") for i in _queue(api.a, status=s)} <= {A}
    # the admin sees both queues and decides for a named merchant
    both = {(i["merchant_id"], i["listing_id"]) for i in _queue(api.admin)}
    assert (B, "Q-b-secret") in both and any(m == A for m, _ in both)
    r = api.admin.post(f"/v1/audit/queue/{d_b['queue_id']}/decision", json={"decision": "reject", "merchant_id": B})
    assert r.status_code == 200 and r.json()["item"]["status"] == "rejected"
    assert "Q-b-secret" not in api.a.get("/v1/audit/queue", params={"status": "rejected"}).text


def test_answer_feedback_becomes_the_merchants_knowledge(api):
    q = "Do you offer gift wrapping for corporate orders?"
    a = api.a.post("/v1/ask", json={"question": q}).json()
    fix = "Yes: corporate orders of 10 or more items get free gift wrapping; ask before paying."
    r = api.a.post("/v1/ask/feedback", json={"question": q, "answer": a["answer"], "accepted": False,
                                            "corrected_answer": fix})
    assert r.status_code == 200, r.text
    doc = r.json()["past_answer"]
    assert r.json()["merchant_id"] == A and doc["doc_id"].startswith("past_answer:")
    docs = api.a.get("/v1/knowledge").json()["documents"]
    assert any(d["doc_id"] == doc["doc_id"] and "gift wrapping" in d["text"] for d in docs)
    assert not any(d["doc_id"] == doc["doc_id"] for d in api.b.get("/v1/knowledge").json()["documents"])
    assert "gift wrapping" in api.a.post("/v1/ask", json={"question": q}).json()["answer"]
    assert api.a.post("/v1/ask/feedback", json={"question": q, "accepted": True, "merchant_id": B}).status_code == 403
    assert api.a.post("/v1/ask/feedback", json={"question": "", "accepted": True}).status_code == 422


def test_model_history_grows_with_events(api):
    def risk(client):
        h = client.get("/v1/models/history").json()
        return next((m for m in h["models"] if m["model"] == "risk"), None), h

    first, h = wait_until(lambda: (risk(api.a)[0] and risk(api.a)), 30, 0.2, "a first history point")
    assert {m["merchant_id"] for m in h["models"]} == {A} and h["events_applied"] is None
    p = first["points"][-1]
    assert set(p) == {"t", "n", "auc", "logloss"} and p["n"] > 0
    orders = [e for e in api.events_a if e["type"] == "order"][:40]
    more = [dict(o, event_id=f"hist-{i}", order_id=f"hist-{i}", ts=o["ts"] + 9000 + i) for i, o in enumerate(orders)]
    more += [{"type": "feedback", "event_id": f"hist-fb-{i}", "ts": o["ts"] + 9100, "target_id": f"hist-{i}",
              "model": "risk", "verdict": "fake" if i % 2 else "legit", "label": float(i % 2)}
             for i, o in enumerate(orders)]
    accepted = h["events_accepted"]
    assert api.a.post("/v1/events", json=more, params={"wait": "true"}).json()["applied"]
    after, h2 = wait_until(lambda: (lambda r: r[0]["points"][-1]["n"] > p["n"] and r)(risk(api.a)), 30, 0.3,
                           "a new history point")
    assert len(after["points"]) > len(first["points"]) and h2["events_accepted"] == accepted + len(more)
    assert api.b.get("/v1/models/history", params={"merchant_id": A}).status_code == 403
    assert {m["merchant_id"] for m in api.admin.get("/v1/models/history").json()["models"]} >= {A, B}


def test_repeated_approvals_suppress_the_rule(api):
    """Overturned often enough, the auditor stops raising that rule for this merchant (only)."""
    for i in range(3):  # the auditor's min_overturned
        d = _flag(api.b, f"Q-b-sup-{i}")
        assert api.b.post(f"/v1/audit/queue/{d['queue_id']}/decision", json={"decision": "approve"}).status_code == 200
    assert api.b.post("/v1/audit", json={**LISTING, "listing_id": "Q-b-sup-x"}).json()["verdict"] == "pass"
    assert api.a.post("/v1/audit", json={**LISTING, "listing_id": "Q-a-sup-x"}).json()["verdict"] == "reject"
