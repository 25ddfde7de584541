"""Rate limits (429), request-size limits (413), clear 4xx validation errors, and never a stack trace."""

from __future__ import annotations

import pytest
from api_server import no_trace


def test_rate_limit_429_with_retry_after(api):
    with api.server.client(api.slow_key) as slow:  # 0.01 requests/s: the first passes, the next waits 100 s
        assert slow.get("/v1/me").status_code == 200
        r = slow.get("/v1/me")
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
        assert slow.post("/v1/events", json={"type": "view"}).status_code == 429
    # per key: A's other key is not affected
    assert api.a.get("/v1/me").status_code == 200


def test_oversized_body_is_413(api):
    big = b"x" * (1024 * 1024 + 10)  # the test server runs with --max-body-mb 1
    r = api.a.post("/v1/events/ndjson", content=big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"

    def chunks():  # no Content-Length: counted as it streams
        for _ in range(20):
            yield b"y" * 65536

    r = api.a.post("/v1/events/ndjson", content=chunks())
    assert r.status_code == 413 and no_trace(r.text)
    assert api.a.get("/v1/me").status_code == 200  # the server goes on


BAD = [
    ("POST", "/v1/events", b"{not json", "malformed_json"),
    ("POST", "/v1/events", b"", "empty_body"),
    ("POST", "/v1/events", b"[]", "empty_batch"),
    ("POST", "/v1/events", b'{"type": "view", "ts": NaN}', "malformed_json"),
    ("POST", "/v1/events", b"\xff\xfe\x00", "malformed_json"),
    ("POST", "/v1/events/ndjson", b"\n\n", "empty_body"),
    ("POST", "/v1/predict/propensity", b'{"buyer_id": ""}', "validation"),
    ("POST", "/v1/predict/propensity", b'{"buyer_id": "b", "product_id": "p", "ts": 1e300}', "validation"),
    ("POST", "/v1/predict/propensity", b'{"buyer_id": ["b"], "product_id": "p"}', "validation"),
    ("POST", "/v1/predict/propensity", b"[1, 2]", "validation"),
    ("POST", "/v1/predict/risk", b'{"buyer_id": "b", "lines": []}', "validation"),
    ("POST", "/v1/predict/risk", b'{"buyer_id": "b", "lines": [{"product_id": "p", "quantity": -1, "unit_price": 1}]}',
     "validation"),
    ("POST", "/v1/audit", b'{"listing_id": "x"}', "validation"),
    ("POST", "/v1/ask", b'{"question": ""}', "validation"),
    ("POST", "/v1/ask", b'{"question": "' + b"q" * 5000 + b'"}', "validation"),
    ("GET", "/v1/recommendations", None, "validation"),
    ("GET", "/v1/recommendations?buyer_id=b&k=0", None, "validation"),
    ("GET", "/v1/alerts?kind=weather", None, "validation"),
    ("GET", "/v1/deadletters?limit=-5", None, "validation"),
    ("GET", "/v1/deadletters?after_id=abc", None, "validation"),
    ("GET", "/v1/nothing-here", None, "not_found"),
    ("DELETE", "/v1/events", None, "method_not_allowed"),
]


@pytest.mark.parametrize("method,path,body,code", BAD, ids=[f"{m} {p} {i}" for i, (m, p, _, _) in enumerate(BAD)])
def test_bad_requests_get_a_clear_4xx_without_trace(api, method, path, body, code):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    r = api.a.request(method, path, content=body, headers=headers)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    err = r.json()["error"]
    assert err["code"] == code and len(err["message"]) > 5
    assert no_trace(r.text)


def test_form_encoded_body_says_to_send_json(api):
    r = api.a.post("/v1/predict/propensity", content=b"buyer_id=b", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 422 and "application/json" in r.json()["error"]["message"]
