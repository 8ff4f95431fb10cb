"""``mlnb monitor grafana MODEL``: a Grafana dashboard over the series mlnb exposes.

Requests, refusals and latency come from ``mlnb serve``'s ``/metrics``; performance, drift and
alerts from the monitoring gauges (:mod:`mlnb.monitor._exporter`). The dashboard has a
``datasource`` variable (any Prometheus data source) and a ``model`` variable (default: the
model named), so one file serves every model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .._whole import write_whole
from ..errors import UsageError
from ._rules import _PERFORMANCE as PERFORMANCE  # the report's realized-performance metrics

_DS = {"type": "prometheus", "uid": "${datasource}"}
_M = 'model="$model"'

#: (title, unit, panel type, [(PromQL, legend) ...]) per panel, in the order they are laid out
PANELS: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    ("Requests", "reqps", "timeseries", [
        (f"sum by (arm, version) (rate(mlnb_requests_total{{{_M}}}[$__rate_interval]))", "{{arm}} v{{version}}"),
    ]),
    ("Refused requests", "reqps", "timeseries", [
        (f"sum by (status) (rate(mlnb_request_errors_total{{{_M}}}[$__rate_interval]))", "HTTP {{status}}"),
    ]),
    ("Latency", "s", "timeseries", [
        (f"histogram_quantile(0.5, sum by (le) (rate(mlnb_request_seconds_bucket{{{_M}}}[$__rate_interval])))", "p50"),
        (f"histogram_quantile(0.99, sum by (le) (rate(mlnb_request_seconds_bucket{{{_M}}}[$__rate_interval])))", "p99"),
    ]),
    ("Performance, realized and estimated (latest window)", "none", "timeseries", [
        (f'mlnb_monitor_metric{{{_M}, metric=~"(estimated\\\\.)?({"|".join(PERFORMANCE)})"}}', "{{metric}}"),
    ]),
    ("Drift share and prediction drift (latest window)", "none", "timeseries", [
        (f"mlnb_monitor_drift_share{{{_M}}}", "drift share"),
        (f'mlnb_monitor_metric{{{_M}, metric="prediction.drift"}}', "prediction drift"),
    ]),
    ("Data quality (latest window)", "none", "timeseries", [
        (f'mlnb_monitor_metric{{{_M}, metric=~"missing\\\\..+|schema\\\\.failures|error_rate"}}', "{{metric}}"),
    ]),
    ("Feature drift (latest window)", "none", "bargauge", [
        (f'mlnb_monitor_metric{{{_M}, metric=~"drift\\\\..+", metric!="drift.share"}}', "{{metric}}"),
    ]),
    ("Firing alerts", "none", "stat", [
        (f"sum by (severity) (mlnb_alerts_firing{{{_M}}})", "{{severity}}"),
    ]),
    ("Predictions in the latest window", "none", "stat", [
        (f"mlnb_monitor_window_rows{{{_M}}}", "rows"),
    ]),
    ("Routing in force", "none", "stat", [
        (f"mlnb_routing{{{_M}}}", "routing #"),
    ]),
]


def grafana_dashboard(model: str) -> dict[str, Any]:
    """A Grafana dashboard (JSON model, schema 39) for ``model``'s series; import it in Grafana
    or provision it.

    >>> json.dump(mlnb.monitor.grafana_dashboard("churn"), open("dashboard.json", "w"))  # doctest: +SKIP
    """
    from ..models._refs import validate_name

    validate_name(model)
    panels, x, y, row_height = [], 0, 0, 0
    for i, (title, unit, kind, queries) in enumerate(PANELS):
        width, height = (8, 5) if kind == "stat" else (12, 8)
        if x + width > 24:  # left to right, a new row when this one is full
            x, y = 0, y + row_height
        row_height = height if x == 0 else max(row_height, height)
        panels.append({
            "id": i + 1, "type": kind, "title": title, "datasource": _DS,
            "gridPos": {"h": height, "w": width, "x": x, "y": y},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {},
            "targets": [{"refId": chr(ord("A") + j), "datasource": _DS, "expr": expr, "legendFormat": legend}
                        for j, (expr, legend) in enumerate(queries)],
        })
        x += width
    return {
        "title": f"mlnb: {model}",
        "uid": f"mlnb-{model}"[:40],
        "tags": ["mlnb", "monitoring"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [
            {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
             "current": {}, "hide": 0, "refresh": 1},
            {"name": "model", "label": "Model", "type": "query", "datasource": _DS,
             "query": {"query": "label_values(mlnb_monitor_up, model)", "refId": "models"},
             "definition": "label_values(mlnb_monitor_up, model)",
             "current": {"text": model, "value": model}, "hide": 0, "refresh": 2, "sort": 1},
        ]},
        "annotations": {"list": []},
        "panels": panels,
    }


def write_dashboard(model: str, out: str | os.PathLike[str]) -> Path:
    """Write :func:`grafana_dashboard` as JSON to ``out`` (whole or not at all); returns the path."""
    path = Path(out)
    if path.is_dir():
        raise UsageError(f"-o {out} is a folder: give a file name, e.g. {Path(out) / 'dashboard.json'}")
    text = json.dumps(grafana_dashboard(model), indent=2) + "\n"
    write_whole(path, text)
    return path
