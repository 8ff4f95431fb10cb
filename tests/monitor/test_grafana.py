"""`mlnb monitor grafana`: a valid dashboard whose every query names a series that `mlnb serve`
and `mlnb monitor exporter` really expose (scraped and compared)."""

from __future__ import annotations

import json
import re

import httpx

from tests.conftest import run_cli
from tests.monitor.test_prometheus import start_exporter
from tests.serve._server import TOKEN

NAME = re.compile(r"\b(mlnb_[a-z_]+)\b")


def exposed(text: str) -> set[str]:
    """Every series name in a Prometheus exposition: declared families and sampled series."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def test_the_dashboard_is_valid_and_queries_only_exposed_series(served_churn, tmp_path):
    out = tmp_path / "dashboard.json"
    proc = run_cli("monitor", "grafana", "churn", "-o", str(out), cwd=served_churn.root)
    assert proc.returncode == 0, proc.stderr
    dashboard = json.loads(out.read_text())

    assert dashboard["title"] == "mlnb: churn" and isinstance(dashboard["schemaVersion"], int)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert variables["model"]["current"]["value"] == "churn"
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells = set()
    for p in panels:
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24, p["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not mine & cells, f"{p['title']} overlaps another panel"
        cells |= mine
        assert p["targets"] and len({t["refId"] for t in p["targets"]}) == len(p["targets"])
    titles = " ".join(p["title"] for p in panels).lower()
    for topic in ("requests", "latency", "performance", "drift", "alerts"):
        assert topic in titles

    process, exporter = start_exporter(served_churn.root)
    try:
        scraped = httpx.get(f"{exporter}/metrics", timeout=10).text
    finally:
        process.terminate()
        process.wait(10)
    scraped += httpx.get(f"{served_churn.url}/metrics", headers={"authorization": f"Bearer {TOKEN}"}, timeout=10).text
    series = exposed(scraped)
    queried = {name for p in panels for t in p["targets"] for name in NAME.findall(t["expr"])}
    assert queried and queried <= series, f"queried but not exposed: {sorted(queried - series)}"
    assert {"mlnb_requests_total", "mlnb_request_seconds_bucket", "mlnb_monitor_metric", "mlnb_monitor_drift_share",
            "mlnb_alerts_firing"} <= queried


def test_bad_output_paths(served_churn, tmp_path):
    folder = run_cli("monitor", "grafana", "churn", "-o", str(tmp_path), cwd=served_churn.root)
    assert folder.returncode == 2 and "is a folder" in folder.stderr and folder.stderr.count("\n") == 1
    missing = run_cli("monitor", "grafana", "churn", "-o", str(tmp_path / "no" / "d.json"), cwd=served_churn.root)
    assert missing.returncode == 3 and missing.stderr.count("\n") == 1
    bad = run_cli("monitor", "grafana", "no such/model", "-o", str(tmp_path / "d.json"), cwd=served_churn.root)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written, no temporary left
