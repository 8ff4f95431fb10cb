"""Monitoring gauges for Prometheus: on ``mlnb serve``'s ``/metrics`` and by ``mlnb monitor exporter``.

Series (one per model that has a prediction log):

    mlnb_monitor_metric{model,metric}        the latest window's value of each metric
    mlnb_monitor_drift_share{model}          the latest window's share of drifted features
    mlnb_monitor_window_rows{model}          predictions in the latest window
    mlnb_monitor_window_end_seconds{model}   when the latest window's last prediction was made
    mlnb_monitor_up{model}                   1 when the model's gauges were computed, 0 when that failed
    mlnb_alerts_firing{model,severity}       firing alerts

Only what exists is exposed: a metric the latest window cannot compute (no outcomes yet, too few
rows) has no sample, and neither has ``mlnb_alerts_firing`` for a model without alert rules.
Values are computed on scrape, at most once per ``ttl`` seconds (a scrape in between gets the
values computed last), so a short scrape interval costs nothing more.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError

log = logging.getLogger("mlnb.monitor")

#: the window the gauges describe, unless told otherwise
DEFAULT_WINDOW = "1D"


@dataclass
class Latest:
    """The latest window of one model: its metrics (name -> value), row count and end."""

    metrics: dict[str, float] = field(default_factory=dict)
    rows: int = 0
    end: float | None = None


def logged_models(project: Any) -> list[str]:
    """The models with a prediction log in ``project``, sorted."""
    folder = Path(project.mlnb_dir) / "predictions"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and any(p.glob("date=*/part-*.parquet")))


def latest_metrics(project: Any, model: str, window: str = DEFAULT_WINDOW) -> Latest:
    """The latest window of ``mlnb.monitor.report(model, window=window)``: its metrics with a value
    (a statistic the window is too small for has none, and is left out), rows and end."""
    from .._project import using_project
    from ._check import _number  # read a report's frame as the rules' check reads it
    from ._latest import _epoch
    from ._report import latest_report

    if not any((Path(project.mlnb_dir) / "predictions" / model).glob("date=*/part-*.parquet")):
        return Latest()  # nothing logged yet (a server before its first request): no window, no metric
    with using_project(project):
        # only the latest window and the baseline ones (its bands) are scored: its rows are the whole report's
        frame = latest_report(model, int(window) if window.isdigit() else window).to_frame()
    if frame.empty:
        return Latest()
    last = frame[frame["window"] == frame["window"].max()]
    values = {str(m): _number(v) for m, v in zip(last["metric"], last["value"])}
    return Latest({m: v for m, v in values.items() if v is not None}, int(last["n"].max()), _epoch(last["end"].max()))


def firing_alerts(project: Any, model: str) -> dict[str, int] | None:
    """Firing alerts of ``model`` per severity (every severity, 0 included, once the model has
    rules in ``monitoring.yaml``); None when it has no rules and no firing alert: nothing watches it."""
    from ._alerts import firing_rows
    from ._rules import SEVERITIES, load_rules

    rows = firing_rows(project, model)
    if not rows and not load_rules(project.root, model):
        return None
    counts = dict.fromkeys(SEVERITIES, 0)
    for row in rows:
        counts[row.severity] = counts.get(row.severity, 0) + 1
    return counts


class MonitorCollector:
    """A prometheus-client collector of the monitoring gauges of ``models`` (default: every model
    with a prediction log, listed again at each computation)."""

    def __init__(self, project: Any, models: list[str] | None = None, window: str = DEFAULT_WINDOW,
                 ttl: float = 10.0) -> None:
        self.project, self.models, self.window, self.ttl = project, models, window, ttl
        self._lock = threading.Lock()
        self._at = -math.inf
        self._values: dict[str, tuple[Latest | None, dict[str, int] | None]] = {}

    def values(self) -> dict[str, tuple[Latest | None, dict[str, int] | None]]:
        """Per model: its latest window (None when computing it failed) and firing alerts."""
        with self._lock:  # one computation at a time; concurrent scrapes share it
            if time.monotonic() - self._at >= self.ttl:
                self._values = {m: self._compute(m) for m in (self.models or logged_models(self.project))}
                self._at = time.monotonic()
            return self._values

    def _compute(self, model: str) -> tuple[Latest | None, dict[str, int] | None]:
        try:
            latest = latest_metrics(self.project, model, self.window)
        except Exception:  # one model's failure shows as mlnb_monitor_up 0, never as missing everything
            log.warning("monitoring gauges of %s could not be computed", model, exc_info=True)
            latest = None
        return latest, firing_alerts(self.project, model)

    def describe(self) -> list[Any]:
        return []  # computed on scrape; nothing to compute when registered

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        metric = GaugeMetricFamily("mlnb_monitor_metric", "The latest monitoring window's value of a metric",
                                   labels=["model", "metric"])
        drift = GaugeMetricFamily("mlnb_monitor_drift_share", "Share of drifted features in the latest window",
                                  labels=["model"])
        rows = GaugeMetricFamily("mlnb_monitor_window_rows", "Predictions in the latest window", labels=["model"])
        end = GaugeMetricFamily("mlnb_monitor_window_end_seconds", "Time of the latest window's last prediction",
                                labels=["model"])
        up = GaugeMetricFamily("mlnb_monitor_up", "1 when the monitoring gauges were computed, 0 when that failed",
                               labels=["model"])
        alerts = GaugeMetricFamily("mlnb_alerts_firing", "Firing monitoring alerts", labels=["model", "severity"])
        for model, (latest, firing) in self.values().items():
            up.add_metric([model], 0 if latest is None else 1)
            if latest is not None:
                for name, value in sorted(latest.metrics.items()):
                    metric.add_metric([model, name], value)
                if "drift.share" in latest.metrics:
                    drift.add_metric([model], latest.metrics["drift.share"])
                rows.add_metric([model], latest.rows)
                if latest.end is not None:
                    end.add_metric([model], latest.end)
            for severity, count in sorted((firing or {}).items()):
                alerts.add_metric([model, severity], count)
        yield from (metric, drift, rows, end, up, alerts)


def exporter(port: int = 9108, host: str = "127.0.0.1", models: list[str] | None = None,
             window: str = DEFAULT_WINDOW, ttl: float = 10.0) -> None:
    """Serve the monitoring gauges at ``http://HOST:PORT/metrics`` until interrupted.

    >>> mlnb.monitor.exporter(port=9108)  # doctest: +SKIP
    """
    import sys

    from prometheus_client import CollectorRegistry, start_http_server

    from .._project import current_project

    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: use a port number from 1 to 65535 (0 picks a free one)")
    if not ttl >= 0:
        raise UsageError(f"--ttl {ttl}: give seconds, 0 or more")
    registry = CollectorRegistry()
    registry.register(MonitorCollector(current_project(), models, window, ttl))  # type: ignore[arg-type]
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror}): choose another --port or --host") from None
    where = f"[{host}]" if ":" in host else host
    shown = ", ".join(models) if models else "every model with a prediction log"
    print(f"mlnb: exporting monitoring gauges of {shown} on http://{where}:{server.server_port}/metrics",
          file=sys.stderr, flush=True)
    try:
        thread.join()
    finally:
        server.shutdown()
