"""Prometheus metrics of one server (prometheus-client): requests, refusals and latency per arm
and version, rows per ``predict`` call (adaptive batching), the routing in force, shadow copies,
and the model's monitoring gauges (:mod:`mlnb.monitor._exporter`). Scraped at ``GET /metrics``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response


class Metrics:
    """The server's own registry of metrics (never the process-global one)."""

    def __init__(self, model: str) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.model = model
        self.registry = CollectorRegistry()
        self.requests = Counter("mlnb_requests", "Predictions answered, per arm and version",
                                ["model", "arm", "version", "protocol"], registry=self.registry)
        self.refused = Counter("mlnb_request_errors", "Requests refused (4xx) or failed in predict (500), per status",
                               ["model", "status"], registry=self.registry)
        self.latency = Histogram("mlnb_request_seconds", "Time to answer a prediction, per arm and version",
                                 ["model", "arm", "version"], registry=self.registry,
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5))
        self.batch = Histogram("mlnb_batch_size", "Rows per predict call (adaptive batching), per arm and version",
                               ["model", "arm", "version"], registry=self.registry,
                               buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 1024))
        self.routing = Gauge("mlnb_routing", "The routing in force (its number in `mlnb deploy history`)",
                             ["model"], registry=self.registry)
        self.shadows = Gauge("mlnb_shadow_copies", "Shadow copies since start, per outcome",
                             ["model", "outcome"], registry=self.registry)

    def answered(self, arm: Any, protocol: str, seconds: float) -> None:
        version = str(arm.version.version)
        self.requests.labels(self.model, arm.label, version, protocol).inc()
        self.latency.labels(self.model, arm.label, version).observe(seconds)

    def batched(self, arm: Any, rows: int) -> None:
        self.batch.labels(self.model, arm.label, str(arm.version.version)).observe(rows)

    def refusal(self, status: int) -> None:
        self.refused.labels(self.model, str(status)).inc()

    def endpoint(self, follower: Any, shadows: Any):  # type: ignore[no-untyped-def]
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
        from starlette.concurrency import run_in_threadpool

        from ..monitor._exporter import MonitorCollector

        self.registry.register(MonitorCollector(follower.project, [self.model]))  # type: ignore[arg-type]

        async def scrape(request: Request) -> Response:
            self.routing.labels(self.model).set(follower.current.seq)
            for outcome in ("answered", "dropped", "failed"):
                self.shadows.labels(self.model, outcome).set(getattr(shadows, outcome))
            body = await run_in_threadpool(generate_latest, self.registry)  # the gauges read the log: off the loop
            return Response(body, media_type=CONTENT_TYPE_LATEST)

        return scrape
