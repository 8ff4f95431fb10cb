"""A real Prometheus scrapes `mlnb monitor exporter` and a real `mlnb serve`; the monitoring gauges
are read back through Prometheus's query API and compared with what the prediction log holds."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest

from tests.monitor.conftest import INSTANCES, REQUESTS
from tests.serve._server import TOKEN

PROMETHEUS = shutil.which("prometheus")
if PROMETHEUS is None and os.environ.get("MLNB_REQUIRE_PROMETHEUS") == "1":  # CI: a skip would hide the test
    raise RuntimeError("no prometheus binary but MLNB_REQUIRE_PROMETHEUS=1: apt-get install prometheus")
pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="no prometheus binary (apt-get install prometheus)")


def start_exporter(root, *args: str) -> tuple[subprocess.Popen, str]:
    """`mlnb monitor exporter --port 0 ...` in ``root``; returns the process and its base URL."""
    proc = subprocess.Popen([sys.executable, "-m", "mlnb", "monitor", "exporter", "--port", "0", *args], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    found = re.search(r"on (http://\S+)/metrics", line)
    if found is None:
        proc.kill()
        raise AssertionError(f"the exporter did not start: {line}{proc.stderr.read()}")
    return proc, found[1]


@pytest.fixture(scope="module")
def exporter(served_churn):
    proc, url = start_exporter(served_churn.root, "--ttl", "1")
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def prometheus(served_churn, exporter, tmp_path_factory):
    """A real Prometheus scraping the exporter and the server (with its token) every 0.5 s."""
    base = tmp_path_factory.mktemp("prometheus")
    config = base / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 500ms, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: exporter\n    static_configs: [{{targets: ['{exporter.split('//')[1]}']}}]\n"
        f"  - job_name: serve\n    authorization: {{type: Bearer, credentials: {TOKEN}}}\n"
        f"    static_configs: [{{targets: ['{served_churn.url.split('//')[1]}']}}]\n")
    from tests._postgres import _free_port

    port = _free_port()
    proc = subprocess.Popen([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={base / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        poll(lambda: httpx.get(f"{url}/-/ready", timeout=1).status_code == 200, "Prometheus to be ready")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def poll(condition, what: str, timeout: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"waited {timeout} s for {what}")


def query(prometheus: str, promql: str) -> dict:
    answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=5).json()
    assert answer["status"] == "success", answer
    return answer["data"]


def series(prometheus: str, promql: str) -> dict[tuple, float]:
    """Wait until ``promql`` has results; returns {sorted labels without __name__: value}."""
    def found():
        return query(prometheus, promql)["result"]

    result = poll(found, promql)
    return {tuple(sorted((k, v) for k, v in r["metric"].items() if k != "__name__")): float(r["value"][1])
            for r in result}


def log_median_latency(root) -> float:
    """The median latency (ms) of churn's logged predictions, read from the log itself."""
    from mlnb._project import Project, using_project
    from mlnb.monitor import read_log

    with using_project(Project(root)):
        return float(np.median(read_log("churn", ["latency_ms"], outcomes=False)["latency_ms"].to_numpy(dtype=float)))


def report_truth(root) -> tuple[int, dict[str, float]]:
    """Rows and metric values of the latest window of `mlnb.monitor.report("churn")`, read directly."""
    import mlnb
    from mlnb._project import Project, using_project

    with using_project(Project(root)):
        frame = mlnb.monitor.report("churn", window="1D").to_frame()
    last = frame[frame["window"] == frame["window"].max()]
    return int(last["n"].max()), {m: float(v) for m, v in zip(last["metric"], last["value"]) if v == v}


def test_prometheus_reads_back_the_gauges_of_the_exporter_and_the_server(served_churn, prometheus):
    rows, values = report_truth(served_churn.root)
    assert rows == REQUESTS * INSTANCES
    assert any(m.startswith("drift.") for m in values), values
    assert "latency.p99" not in values  # under 100 rows: the report says "too small", no noise
    assert values["latency.p50"] == pytest.approx(log_median_latency(served_churn.root))
    for job in ("exporter", "serve"):
        got = series(prometheus, f'mlnb_monitor_window_rows{{job="{job}", model="churn"}}')
        assert list(got.values()) == [rows], (job, got)
        metrics = series(prometheus, f'mlnb_monitor_metric{{job="{job}", model="churn"}}')
        assert {dict(k)["metric"]: v for k, v in metrics.items()} == pytest.approx(values), job
        if "drift.share" in values:
            share = series(prometheus, f'mlnb_monitor_drift_share{{job="{job}", model="churn"}}')
            assert list(share.values()) == pytest.approx([values["drift.share"]])
        assert list(series(prometheus, f'mlnb_monitor_up{{job="{job}"}}').values()) == [1.0]
    answered = series(prometheus, 'sum(mlnb_requests_total{job="serve", model="churn"})')
    assert list(answered.values()) == [REQUESTS]


def test_no_alert_series_for_a_model_without_rules(served_churn, prometheus):
    """Honest gauges: no rules, no firing-alerts sample (not a made-up 0); no outcomes, no accuracy."""
    from mlnb._project import Project
    from mlnb.monitor._exporter import firing_alerts

    series(prometheus, 'mlnb_monitor_up{job="exporter"}')  # scraped at least once
    assert firing_alerts(Project(served_churn.root), "churn") is None
    assert query(prometheus, "mlnb_alerts_firing")["result"] == []
    assert query(prometheus, 'mlnb_monitor_metric{metric="accuracy"}')["result"] == []


def test_a_firing_alert_is_read_back_then_its_resolution(served_churn, prometheus, monkeypatch):
    """A rule of monitoring.yaml fires through `mlnb.monitor.check` (fed a report frame: the report
    itself is another branch's); Prometheus reads 1 warning, 0 critical; removing the rule resolves it."""
    import pandas as pd

    import mlnb

    monkeypatch.chdir(served_churn.root)
    now = time.time()
    frame = pd.DataFrame({"window": [0], "start": [now - 3600], "end": [now], "n": [REQUESTS * INSTANCES],
                          "metric": ["latency.p99"], "value": [250.0], "lower": [float("nan")],
                          "upper": [float("nan")], "alert": [False], "note": [""]})
    mlnb.monitor.add_rule("latency.p99 > 200", model="churn")
    try:
        assert mlnb.monitor.check("churn", send=False, reporter=lambda m, w: frame).firing == 1

        def firing():
            result = query(prometheus, 'mlnb_alerts_firing{job="exporter", model="churn"}')["result"]
            got = {r["metric"]["severity"]: float(r["value"][1]) for r in result}
            return got if got.get("warning") == 1 else None

        assert poll(firing, "the firing alert in Prometheus") == {"warning": 1.0, "critical": 0.0}
        doctor = mlnb.doctor(served_churn.root)["monitoring"]
        assert doctor["level"] == "ok" and "1 model(s) with alert rules; last alert activity" in doctor["detail"]
    finally:
        mlnb.monitor.remove_rule("churn.latency.p99")
        mlnb.monitor.check("churn", send=False, reporter=lambda m, w: frame)  # its alert resolves
    poll(lambda: query(prometheus, 'mlnb_alerts_firing{job="exporter"}')["result"] == [], "the alert series to go")


def test_every_dashboard_query_runs_on_prometheus(served_churn, prometheus):
    from mlnb.monitor import grafana_dashboard

    series(prometheus, 'mlnb_monitor_up{job="serve"}')
    for panel in grafana_dashboard("churn")["panels"]:
        for target in panel["targets"]:
            promql = target["expr"].replace("$model", "churn").replace("$__rate_interval", "1m")
            query(prometheus, promql)  # status success: the expression is valid PromQL
