"""``mlnb monitor exporter`` and ``mlnb monitor grafana``: thin verbs over the Prometheus exporter
and the Grafana dashboard, added to the ``monitor`` group whoever made it."""

from __future__ import annotations

from typing import Any

from ..cli import add_verb, verb_group


def register(sub: Any) -> None:
    verbs = verb_group(sub, "monitor", "watch models in production: reports, rules, alerts, Prometheus, Grafana")
    p = add_verb(verbs, "exporter", _exporter,
                 "serve the monitoring gauges (latest window's metrics, drift share, firing alerts) "
                 "for Prometheus at http://HOST:PORT/metrics")
    p.add_argument("models", nargs="*", metavar="MODEL", help="models to export (default: every model with a prediction log)")
    p.add_argument("--port", type=int, default=9108, help="port (default 9108; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--window", default="1D", help="the monitoring window the gauges describe (default 1D)")
    p.add_argument("--ttl", type=float, default=10.0,
                   help="seconds a computation serves scrapes before the next one recomputes (default 10)")
    p = add_verb(verbs, "grafana", _grafana, "write a Grafana dashboard (requests, latency, performance, drift, "
                 "alerts) over the series of mlnb serve and the exporter")
    p.add_argument("model")
    p.add_argument("-o", "--out", default="dashboard.json", help="the JSON file to write (default dashboard.json)")


def _exporter(args: Any, ctx: Any) -> Any:
    from ._exporter import exporter

    exporter(port=args.port, host=args.host, models=args.models or None, window=args.window, ttl=args.ttl)


def _grafana(args: Any, ctx: Any) -> Any:
    from .._display import Record
    from ._grafana import write_dashboard

    path = write_dashboard(args.model, args.out)
    return Record({"model": args.model, "file": str(path)},
                  title="Grafana dashboard written: import it (Dashboards > New > Import) and pick a Prometheus")
