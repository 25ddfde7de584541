"""The dashboard in a real browser: headless Debian chromium driven by Playwright, against a real
``ecomops serve`` on loopback (no mocks, no network: the page loads only the app's own assets).

It enters a merchant key, sees the charts grow as simulator events are posted over HTTP,
approves a flagged listing in the audit queue (checked through the API), asks the service
console a question, and saves a screenshot (``ECOMOPS_SCREENSHOT=docs/dashboard.png`` also
writes it there, for the README).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from api_server import A, TS, Server, create_key, sim_events, wait_until

CHROMIUM = "/usr/bin/chromium"


def _verdicts(events: list[dict], tag: str) -> list[dict]:
    orders = [e for e in events if e["type"] == "order"]
    last = max(e["ts"] for e in events)
    return [{"type": "feedback", "event_id": f"fb-{tag}-{o['event_id']}", "ts": last + 1, "target_id": o["event_id"],
             "model": "risk", "verdict": "fake" if i % 2 else "legit", "label": float(i % 2)}
            for i, o in enumerate(orders)]


def _post(client, events) -> None:
    r = client.post("/v1/events", json=events, params={"wait": "true"})
    assert r.status_code == 202 and r.json()["applied"], r.text


def _chart_points(page) -> dict[str, int]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#model-charts .model')]
        .map(c => [c.id, Number(c.querySelector('svg').dataset.points || 0)]))""")


@pytest.fixture
def server(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    key = create_key(state, A)
    srv = Server(state, "--risk-alert-threshold", "0.5").start()
    try:
        yield srv, key
    finally:
        srv.stop()


def test_dashboard_live_in_headless_chromium(server, tmp_path):
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.fail("chromium not installed: run scripts/install-system.sh", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright not installed: pip install -e '.[test]'", pytrace=False)
    srv, key = server
    api = srv.client(key)
    events = [e for e in sim_events(8000, seed=5) if e["merchant_id"] == A]
    half = len(events) // 2
    first, second = events[:half], events[half:]
    _post(api, first[: half // 2])
    _post(api, {"type": "document", "event_id": "doc-1", "ts": TS, "doc_id": "returns", "title": "Returns",
                "text": "Returns are accepted within 7 days of delivery; the buyer pays the return freight.",
                "kind": "policy"})
    bad = b'{"type": "view", "event_id": "bad-1", "ts": 1, "buyer_id": \n{"type": "order", "event_id": "bad-2"}\n'
    assert api.post("/v1/events/ndjson", content=bad, params={"wait": "true"}).status_code == 202

    with sync_playwright() as p:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        page = browser.new_page(viewport={"width": 1360, "height": 1000})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(srv.url + "/")
        page.fill("#key", key)
        page.click("#keyform button")
        page.wait_for_function("() => document.getElementById('who').textContent.includes('m01')")
        page.wait_for_selector("#model-charts .model svg[data-points]", timeout=60_000)
        before = _chart_points(page)
        assert before and all(n >= 1 for n in before.values()), before

        # events arrive over HTTP, in batches: the charts grow (the page polls; nothing is reloaded)
        rest = first[half // 2:] + second
        step = len(rest) // 4 + 1
        for i in range(0, len(rest), step):
            batch = rest[i:i + step]
            _post(api, batch + _verdicts(batch, str(i)))
            page.wait_for_function(
                """(before) => [...document.querySelectorAll('#model-charts .model')].some(c =>
                     Number(c.querySelector('svg').dataset.points || 0) > (before[c.id] || 0))""",
                arg=before, timeout=60_000)
            after = _chart_points(page)
            assert any(after[k] > before.get(k, 0) for k in after), (before, after)
            before = after
        assert after.get("chart-m01-risk", 0) >= 3 and after.get("chart-m01-propensity", 0) >= 3, after
        risk = page.locator("#chart-m01-risk svg polyline.auc")
        wait_until(lambda: len((risk.get_attribute("points") or "").split()) >= 2, 30, 0.3, "a risk AUC line")
        page.wait_for_function("() => document.querySelectorAll('#dl-rows td.raw').length >= 2", timeout=30_000)
        page.wait_for_function("() => Number(document.getElementById('rate-chart').dataset.points || 0) >= 2",
                               timeout=30_000)

        # a flagged listing lands in the queue; the reviewer approves it in the page
        listing = {"listing_id": "L-pb-9", "title": "Anker 移动电源 power bank 20000mAh", "category": "electronics",
                   "attributes": {"model": "A1", "warranty_months": "12", "color": "black"}, "price": 120}
        flagged = api.post("/v1/audit", json=listing).json()
        assert flagged["verdict"] == "reject", flagged
        api.post("/v1/audit", json=dict(listing, listing_id="L-pb-10", title="Anker power bank 10000mAh"))
        row = page.locator(f"#audit-rows tr[data-id='{flagged['queue_id']}']")
        row.wait_for(timeout=30_000)
        assert "missing_certification" in row.inner_text()
        row.locator("button[data-action='approve']").click()
        done = wait_until(lambda: [i for i in api.get("/v1/audit/queue", params={"status": "approved"}).json()["items"]
                                   if i["id"] == flagged["queue_id"]], 30, 0.2, "the approval")
        assert done[0]["decision"] == "approve" and done[0]["listing_id"] == "L-pb-9"
        pending = api.get("/v1/audit/queue").json()["items"]
        assert flagged["queue_id"] not in {i["id"] for i in pending}

        # the service console: ask, see the cited answer
        page.fill("#question", "How many days do I have to return an order?")
        page.click("#askform button")
        page.wait_for_function("() => document.querySelectorAll('#citations li').length > 0", timeout=30_000)
        assert "7 days" in page.inner_text("#answer-text")

        page.wait_for_timeout(1600)  # one more poll, so the screenshot shows the latest numbers
        shot = tmp_path / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        if os.environ.get("ECOMOPS_SCREENSHOT"):
            dest = Path(os.environ["ECOMOPS_SCREENSHOT"])
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, dest)
        browser.close()
    assert not errors, errors
    assert requests and all(u.startswith(srv.url) for u in requests), [u for u in requests if not u.startswith(srv.url)]
    api.close()
