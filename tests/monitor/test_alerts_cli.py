"""`mlnb monitor check` / `mlnb alerts` through the real CLI entry point (exit 1 while firing, 0 when not,
3 on errors, one line each), and `mlnb serve --monitor-every` checking in a background thread that a
webhook holding its answer never turns into slow requests.

The report itself belongs to ``mlnb.monitor.report``; here a child process gives the check a
report-shaped frame (one row per window and metric) read from a file, so these tests pin what the
check, the CLI and the server do with it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

import mlnb
from mlnb.monitor._rules import FILE
from tests.conftest import ROOT
from tests.faults.test_monitor_alerts import Hanging

#: runs `mlnb ARGS` in-process with the check's report read from frame.json (value per metric)
CLI = """
import json, sys, pandas as pd
import mlnb.monitor._check as check
from mlnb.monitor._latest import LatestWindow
def report(model, window, metrics=None):
    values = json.load(open("frame.json"))
    s = pd.Timestamp("2026-11-27", tz="UTC")
    return pd.DataFrame([dict(window=0, start=s, end=s + pd.Timedelta(days=1), n=100, metric=k, value=v,
                              lower=None, upper=None, alert=False, note="") for k, v in values.items()])
check._latest_window = lambda *a: LatestWindow.from_frame(report(*a))
from mlnb.cli import main
sys.exit(main(sys.argv[1:]))
"""


def mlnb_cli(root, values: dict, *args: str) -> subprocess.CompletedProcess[str]:
    (root / "frame.json").write_text(json.dumps(values))
    return subprocess.run([sys.executable, "-c", CLI, *args], cwd=root, capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})


def test_check_exit_codes_and_json(project):
    root = project.root
    assert mlnb_cli(root, {}, "monitor", "check", "churn").returncode == 0  # no rules: nothing to fire
    mlnb.monitor.add_rule("accuracy < 0.85", model="churn")
    mlnb.monitor.add_rule("latency.p99 > 200", model="churn")

    firing = mlnb_cli(root, {"accuracy": 0.8, "latency.p99": 120}, "monitor", "check", "churn")
    assert firing.returncode == 1, firing.stderr
    assert firing.stdout.startswith("FIRING: 1 alert(s) of churn (2 rule(s): 1 fired)")
    again = mlnb_cli(root, {"accuracy": 0.8, "latency.p99": 120}, "monitor", "check", "churn", "--json")
    body = json.loads(again.stdout)
    assert again.returncode == 1 and body["firing"] == 1
    assert [(r["rule"], r["state"], r["value"]) for r in body["rules"]] == [
        ("churn.accuracy", "firing", 0.8), ("churn.latency.p99", "ok", 120)]

    listed = mlnb_cli(root, {}, "alerts", "--json")
    assert listed.returncode == 0 and [a["status"] for a in json.loads(listed.stdout)] == ["firing"]

    ok = mlnb_cli(root, {"accuracy": 0.9, "latency.p99": 120}, "monitor", "check", "churn")
    assert ok.returncode == 0 and ok.stdout.startswith("OK: no alert of churn firing") and "1 resolved" in ok.stdout

    no_data = mlnb_cli(root, {"latency.p99": 120}, "monitor", "check", "churn")
    assert no_data.returncode == 0 and "1 no data" in no_data.stdout

    (root / FILE).write_text((root / FILE).read_text() + "channels:\n  - {name: x, type: pager, url: 'http://h/'}\n")
    broken = mlnb_cli(root, {}, "monitor", "check", "churn")
    assert broken.returncode == 3 and broken.stderr.count("\n") == 1
    assert "channel 1 is not valid (type 'pager' is not one of webhook, alertmanager)" in broken.stderr
    bad = mlnb_cli(root, {}, "monitor", "check", "../churn")
    assert bad.returncode == 2 and "invalid model name" in bad.stderr


#: `mlnb serve` with the same frame source, checking every 0.2 s
SERVE = CLI.replace('sys.exit(main(sys.argv[1:]))', 'sys.exit(main(["serve", "churn", "--port", "0", "--monitor-every", "0.2"]))')


def test_serve_checks_in_the_background_and_never_slows_requests(project):
    import httpx

    from tests.serve.conftest import register_two

    register_two()
    mlnb.models.deploy("churn", to="champion")
    mlnb.monitor.add_rule("accuracy < 0.85", model="churn", severity="critical")
    hook = Hanging()  # holds each POST until released: the monitor thread is stuck in sending
    path = project.root / FILE
    path.write_text(path.read_text() + f"channels:\n  - {{name: ops, type: webhook, url: '{hook.url}', "
                                       "retries: 0, timeout: 60}\n")
    (project.root / "frame.json").write_text(json.dumps({"accuracy": 0.8}))
    proc = subprocess.Popen([sys.executable, "-c", SERVE], cwd=project.root, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("mlnb: serving"):
                break
        url = re.search(r"on (http://\S+?) ", "".join(lines))[1]
        assert hook.got.wait(30), "".join(lines)
        latencies = []
        with httpx.Client(base_url=url, timeout=30) as client:
            for _ in range(20):
                start = time.perf_counter()
                answer = client.post("/v1/models/churn:predict", json={"instances": [[1.0, 0.5]]})
                latencies.append(time.perf_counter() - start)
                assert answer.status_code == 200
        assert not hook.release.is_set() and len(hook.bodies) == 1  # all 20 answered while the POST hung
        assert max(latencies) < 0.5, latencies
        hook.release.set()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            [alert] = mlnb.monitor.alerts("churn").to_dict()
            if alert["deliveries"][0]["state"] == "sent":
                break
            time.sleep(0.1)
        assert (alert["status"], alert["severity"], alert["deliveries"][0]["state"]) == ("firing", "critical", "sent")
        assert hook.bodies[0]["alert"]["id"] == alert["id"] and len(mlnb.monitor.alerts("churn", all=True)) == 1
    finally:
        hook.close()
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "monitor: FIRING: 1 alert(s) of churn" in out, out


@pytest.mark.parametrize("every", ["soon", "-1s"])
def test_serve_refuses_a_bad_interval(project, every):
    from tests.conftest import run_cli

    proc = run_cli("serve", "churn", "--monitor-every", every)
    assert proc.returncode == 2 and "--monitor-every" in proc.stderr and proc.stderr.count("\n") == 1


def test_end_to_end_on_a_real_log_and_report(project):
    """A simulated drift: the real report of the real log fires the rules through `mlnb monitor
    check` (exit 1), and a good day logged after resolves them (exit 0)."""
    import numpy as np
    import pandas as pd

    from tests.conftest import run_cli
    from tests.monitor import _month

    model, _, _ = _month.fit_model()
    _month.log_month(model, days=8, per_day=200, shift_day=5)
    for when in ("accuracy < 0.75", "accuracy outside band", "roc_auc < 0.8", "latency.p99 > 200"):
        mlnb.monitor.add_rule(when, model="churn")
    firing = run_cli("monitor", "check", "churn", "--json")
    assert firing.returncode == 1, firing.stderr
    body = json.loads(firing.stdout)
    states = {r["rule"]: (r["state"], r["value"]) for r in body["rules"]}
    assert states["churn.accuracy"][0] == "fired" and states["churn.accuracy"][1] < 0.75
    assert states["churn.accuracy-2"][0] == "fired"  # below the band calibrated on the first days
    assert states["churn.latency.p99"][0] == "no data"  # a batch log has no latency
    assert body["firing"] == sum(s == "fired" for s, _ in states.values()) >= 2

    rng = np.random.default_rng(9)  # a good day after: the latest window is healthy again
    X = _month.inputs(400, rng)
    p = model.predict_proba(_month._design(X))[:, 1]
    ids = [f"good-{i}" for i in range(400)]
    mlnb.monitor.log_predictions("churn", X, (p > 0.5).astype(int), ids=ids, proba=p,
                                 time=_month.DAY0 + pd.Timedelta(days=8, hours=12))
    mlnb.monitor.log_outcomes("churn", ids, _month.labels(X, rng))
    resolved = run_cli("monitor", "check", "churn")
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    assert resolved.stdout.startswith("OK: no alert of churn firing") and "resolved" in resolved.stdout
    assert {a["status"] for a in mlnb.monitor.alerts("churn").to_dict()} == {"resolved"}

    none = run_cli("monitor", "check", "fraud")
    assert none.returncode == 0  # no rules for fraud: nothing to report on
    mlnb.monitor.add_rule("accuracy < 0.8", model="fraud")
    nolog = run_cli("monitor", "check", "fraud")
    assert nolog.returncode == 3 and "fraud has no prediction log" in nolog.stderr and nolog.stderr.count("\n") == 1
