"""One real `ecomops serve` for the API tests: merchants A (m01) and B (m02), an admin, and a slow key.

The server runs as a subprocess on loopback with its own state directory; the keys are made by the
`ecomops keys create` CLI; the data is the simulator's (merchants m01 and m02 of a 6,000-event
stream), sent over HTTP with each merchant's own key, plus one knowledge document and two
malformed events per merchant.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from api_server import A, B, B_MARKER, DOC_A, SECRET_B, TS, Server, create_key, sim_events


@dataclass
class Api:
    server: Server
    a: httpx.Client  # merchant A's key
    b: httpx.Client  # merchant B's key
    admin: httpx.Client
    anon: httpx.Client  # no key
    slow_key: str  # A's second key, limited to 0.01 requests/s
    events_a: list[dict]
    events_b: list[dict]


def _post(client: httpx.Client, events, path: str = "/v1/events", **kw) -> dict:
    r = client.post(path, params={"wait": "true"}, **({"json": events} if path == "/v1/events" else {"content": events}),
                    **kw)
    assert r.status_code == 202, r.text
    assert r.json()["applied"] is True, r.text
    return r.json()


def _verdicts(events: list[dict]) -> list[dict]:
    """The risk team's verdict on every order (every other one fake), so the risk model learns."""
    orders = [e for e in events if e["type"] == "order"]
    last = max(e["ts"] for e in events)
    return [{"type": "feedback", "event_id": "fb-" + o["event_id"], "ts": last + 1, "target_id": o["event_id"],
             "model": "risk", "verdict": "fake" if i % 2 else "legit", "label": float(i % 2)}
            for i, o in enumerate(orders)]


@pytest.fixture(scope="session")
def api(tmp_path_factory):
    state = tmp_path_factory.mktemp("api") / "state"
    state.mkdir()
    keys = {m: create_key(state, m) for m in (A, B)}
    admin_key = create_key(state, "ops", "--admin")
    slow_key = create_key(state, A, "--rate-limit", "0.01")
    server = Server(state, "--max-body-mb", "1", "--risk-alert-threshold", "0.5").start()
    clients = {m: server.client(k) for m, k in keys.items()}
    events = sim_events(6000, seed=3)
    ea = [e for e in events if e["merchant_id"] == A]
    eb = [e for e in events if e["merchant_id"] == B]
    api = Api(server, clients[A], clients[B], server.client(admin_key), server.client(), slow_key, ea, eb)
    try:
        for client, evs in ((api.a, ea), (api.b, eb)):
            for i in range(0, len(evs), 400):
                _post(client, evs[i:i + 400])
            _post(client, _verdicts(evs))
        _post(api.a, {"type": "document", "event_id": "doc-a-1", "ts": TS, "doc_id": "returns", "title": "Returns",
                      "text": DOC_A, "kind": "policy"})
        _post(api.b, {"type": "document", "event_id": "doc-b-1", "ts": TS, "doc_id": "depot", "title": "Bulk depot",
                      "text": SECRET_B, "kind": "policy"})
        _post(api.a, b'{"type": "view", "event_id": "a-bad-1", "ts": 1, "buyer_id": \n'
                     b'{"type": "view", "event_id": "a-bad-2", "ts": 1, "buyer_id": "x"}\n', "/v1/events/ndjson")
        _post(api.b, b'{"type": "view", "event_id": "' + B_MARKER.encode() + b'", "merchant_id": "m02"\n'
                     b'{"type": "view", "event_id": "b-bad-2", "ts": 1, "product_id": "' + B_MARKER.encode() + b'"}\n',
              "/v1/events/ndjson")
        yield api
    finally:
        for c in (api.a, api.b, api.admin, api.anon):
            c.close()
        server.stop()
