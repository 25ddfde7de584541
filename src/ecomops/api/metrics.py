"""Prometheus metrics in the text exposition format, without a client library.

Only service-wide numbers, never a merchant label (``GET /metrics`` needs an admin key anyway):
requests by route template and status, request latency histograms by route, events accepted,
the inbox backlog, and the engine's counters.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

__all__ = ["Metrics", "MetricsMiddleware"]

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    def __init__(self):
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[str, list[float]] = {}  # route -> bucket counts + [sum, count]
        self.counters: dict[str, float] = defaultdict(float)
        self.started = time.time()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1
            h = self.latency.get(route)
            if h is None:
                h = self.latency[route] = [0.0] * (len(BUCKETS) + 2)
            for i, b in enumerate(BUCKETS):
                if seconds <= b:
                    h[i] += 1
            h[-2] += seconds
            h[-1] += 1

    def inc(self, name: str, by: float = 1.0) -> None:
        with self._lock:
            self.counters[name] += by

    def render(self, gauges: dict[str, tuple[str, float]]) -> str:
        lines = []
        with self._lock:
            lines += ["# HELP ecomops_http_requests_total HTTP requests by method, route template and status.",
                      "# TYPE ecomops_http_requests_total counter"]
            for (m, r, s), n in sorted(self.requests.items()):
                lines.append(f'ecomops_http_requests_total{{method="{m}",route="{_esc(r)}",status="{s}"}} {n}')
            lines += ["# HELP ecomops_http_request_duration_seconds Request latency by route template.",
                      "# TYPE ecomops_http_request_duration_seconds histogram"]
            for r, h in sorted(self.latency.items()):
                for i, b in enumerate(BUCKETS):
                    lines.append(f'ecomops_http_request_duration_seconds_bucket{{route="{_esc(r)}",le="{b}"}} {int(h[i])}')
                lines.append(f'ecomops_http_request_duration_seconds_bucket{{route="{_esc(r)}",le="+Inf"}} {int(h[-1])}')
                lines.append(f'ecomops_http_request_duration_seconds_sum{{route="{_esc(r)}"}} {h[-2]:.6f}')
                lines.append(f'ecomops_http_request_duration_seconds_count{{route="{_esc(r)}"}} {int(h[-1])}')
            for name, v in sorted(self.counters.items()):
                lines += [f"# TYPE ecomops_{name} counter", f"ecomops_{name} {v:g}"]
        for name, (help_, v) in sorted(gauges.items()):
            lines += [f"# HELP ecomops_{name} {help_}", f"# TYPE ecomops_{name} gauge", f"ecomops_{name} {v:g}"]
        return "\n".join(lines) + "\n"


class MetricsMiddleware:
    """Pure ASGI: times each request; the label is the route template (never a raw path)."""

    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = 500

        async def send_(msg):
            nonlocal status
            if msg["type"] == "http.response.start":
                status = msg["status"]
            await send(msg)

        try:
            await self.app(scope, receive, send_)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "other"
            self.metrics.observe(scope.get("method", ""), path, status, time.perf_counter() - t0)
