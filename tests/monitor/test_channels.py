"""Channels, against real receivers: a local webhook server that refuses before it accepts (retries
with back-off; a delivery that keeps failing is recorded and sent at a later check, never lost),
and a real Prometheus Alertmanager (Debian's prometheus-alertmanager) read back through its API."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import mlnb
from mlnb.monitor._check import check
from mlnb.monitor._rules import FILE
from tests._http import wait_until_up
from tests.monitor.test_alerts import T0, Reports, frame


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """A webhook receiver on ``port``: answers 503 to the first ``refuse`` requests, then 200."""

    def __init__(self, port: int, refuse: int = 0) -> None:
        self.bodies: list[dict] = []
        self.times: list[float] = []
        self.refuse = refuse
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.times.append(time.monotonic())
                if receiver.refuse > 0:
                    receiver.refuse -= 1
                    self.send_response(503)
                else:
                    receiver.bodies.append(body)
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _channels(project, *channels: str) -> None:
    path = project.root / FILE
    path.write_text(path.read_text() + "channels:\n" + "".join(channels))


def test_webhook_retries_with_backoff_then_delivers(project):
    port = _free_port()
    receiver = Receiver(port, refuse=2)
    try:
        mlnb.monitor.add_rule("accuracy < 0.85", model="churn", severity="critical")
        _channels(project, f"  - {{name: ops, type: webhook, url: 'http://127.0.0.1:{port}/hook', retries: 3, "
                           "backoff: 0.05}\n")
        result = check("churn", now=T0, reporter=Reports(day=frame({"accuracy": 0.8})))
        assert (result.sent.sent, result.sent.failed) == (1, 0)
        assert len(receiver.times) == 3  # refused twice, accepted on the third try
        gaps = [b - a for a, b in zip(receiver.times, receiver.times[1:])]
        assert 0.05 <= gaps[0] < gaps[1] and gaps[1] >= 0.1  # waits 0.05 s, then 0.1 s: exponential
        body = receiver.bodies[0]
        assert body["status"] == "firing" and body["labels"] == {
            "alertname": "churn.accuracy", "model": "churn", "severity": "critical", "source": "mlnb"}
        assert body["alert"]["value"] == 0.8 and body["alert"]["threshold"] == 0.85 and body["endsAt"] is None
        delivery = mlnb.monitor.alerts("churn").to_dict()[0]["deliveries"]
        assert [(d["channel"], d["event"], d["state"], d["attempts"]) for d in delivery] == [
            ("ops", "firing", "sent", 3)]

        check("churn", now=T0 + 60, reporter=Reports(day=frame({"accuracy": 0.95})))
        assert [b["status"] for b in receiver.bodies] == ["firing", "resolved"]
        assert receiver.bodies[1]["endsAt"].startswith("2026-")
    finally:
        receiver.close()


def test_a_webhook_that_keeps_refusing_is_recorded_and_retried_at_the_next_check(project):
    port = _free_port()  # nothing listens there yet: connection refused
    mlnb.monitor.add_rule("accuracy < 0.85", model="churn")
    mlnb.monitor.add_rule("drift.share > 0.3", model="churn")
    _channels(project, f"  - {{name: ops, type: webhook, url: 'http://127.0.0.1:{port}/', retries: 2, backoff: 0.01}}\n")
    bad = Reports(day=frame({"accuracy": 0.8, "drift.share": 0.5}))
    result = check("churn", now=T0, reporter=bad)
    assert result.exit_code == 1 and (result.sent.sent, result.sent.failed) == (0, 2)
    assert len(result.sent.errors) == 1 and "webhook ops (127.0.0.1)" in result.sent.errors[0]
    assert "after 3 attempts" in result.sent.errors[0] and "\n" not in result.title
    first, second = (a["deliveries"][0] for a in sorted(mlnb.monitor.alerts("churn").to_dict(), key=lambda a: a["id"]))
    assert (first["state"], first["attempts"]) == ("failed", 3)
    assert (second["state"], second["attempts"], second["error"]) == ("failed", 0, "not tried: " + result.sent.errors[0])
    proc = __import__("tests.conftest", fromlist=["run_cli"]).run_cli("alerts", "--json")
    assert proc.returncode == 0 and {d["state"] for a in json.loads(proc.stdout) for d in a["deliveries"]} == {"failed"}

    receiver = Receiver(port)  # the receiver comes back: the next check delivers both, once
    try:
        later = check("churn", now=T0 + 60, reporter=bad)
        assert (later.sent.sent, later.sent.failed) == (2, 0)
        assert sorted(b["alert"]["rule"] for b in receiver.bodies) == ["churn.accuracy", "churn.drift.share"]
        check("churn", now=T0 + 120, reporter=bad)
        assert len(receiver.bodies) == 2  # sent ones are not sent again
    finally:
        receiver.close()


# -- a real Alertmanager -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def alertmanager():
    """A real Alertmanager on a free port, with its own config and storage (stopped after the module)."""
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        if os.environ.get("MLNB_REQUIRE_ALERTMANAGER") == "1":
            pytest.fail("Alertmanager is required here (MLNB_REQUIRE_ALERTMANAGER=1): apt-get install prometheus-alertmanager")
        pytest.skip("no Alertmanager: apt-get install prometheus-alertmanager")
    base = Path(tempfile.mkdtemp(prefix="mlnb-am-"))
    (base / "am.yml").write_text("route:\n  receiver: nowhere\n  group_wait: 1s\nreceivers:\n  - name: nowhere\n")
    port = _free_port()
    log = open(base / "alertmanager.log", "w")
    proc = subprocess.Popen([binary, f"--config.file={base / 'am.yml'}", f"--storage.path={base / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/-/ready", proc, 30, base / "alertmanager.log", "Alertmanager")
    except AssertionError:
        proc.kill()
        raise
    yield url
    proc.terminate()
    proc.wait(10)
    log.close()
    shutil.rmtree(base, ignore_errors=True)


def _am_alerts(url: str) -> list[dict]:
    with urllib.request.urlopen(f"{url}/api/v2/alerts?active=true&silenced=true&inhibited=true", timeout=5) as a:
        return [x for x in json.loads(a.read()) if x["labels"].get("source") == "mlnb"]


def test_alertmanager_receives_firing_and_resolved_alerts(project, alertmanager):
    mlnb.monitor.add_rule("drift.share > 0.3", model="churn", severity="critical")
    _channels(project, f"  - {{name: am, type: alertmanager, url: '{alertmanager}'}}\n")
    now = time.time()
    result = check("churn", now=now, reporter=Reports(day=frame({"drift.share": 0.6})))
    assert (result.sent.sent, result.sent.failed) == (1, 0)
    [got] = _am_alerts(alertmanager)
    assert got["labels"] == {"alertname": "churn.drift.share", "model": "churn", "severity": "critical",
                             "source": "mlnb"}
    assert got["annotations"]["value"] == "0.6" and got["annotations"]["threshold"] == "0.3"
    assert got["status"]["state"] == "active"
    starts = got["startsAt"]
    assert abs(_epoch(starts) - now) < 1 and _epoch(got["endsAt"]) > now + 3600  # held while firing

    check("churn", now=time.time(), reporter=Reports(day=frame({"drift.share": 0.1})))
    # endsAt now in the past: Alertmanager lists it no more (a lost "resolved" would leave it active)
    assert [a for a in _am_alerts(alertmanager) if a["startsAt"] == starts] == []
    assert mlnb.monitor.alerts("churn").to_dict()[0]["deliveries"][-1]["state"] == "sent"


def _epoch(stamp: str) -> float:
    import pandas as pd

    return pd.Timestamp(stamp).timestamp()


def test_channels_are_added_listed_and_removed_by_the_cli(project):
    from tests.conftest import run_cli

    mlnb.monitor.add_rule("accuracy < 0.85", model="churn")
    assert run_cli("monitor", "channel", "add", "ops", "--webhook", "https://hooks.example.com/T0/secret").returncode == 0
    assert run_cli("monitor", "channel", "add", "am", "--alertmanager", "http://127.0.0.1:9093").returncode == 0
    before = (project.root / FILE).read_bytes()
    for args, says in [(["ops", "--webhook", "https://x/"], "a channel named ops exists"),
                       (["x", "--webhook", "ftp://x/"], "url must start with http"),
                       (["x", "--webhook", "https://x/", "--retries", "99"], "retries must be 0 to 10"),
                       (["bad name", "--webhook", "https://x/"], "channel name 'bad name'")]:
        proc = run_cli("monitor", "channel", "add", *args)
        assert proc.returncode == 2 and says in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert (project.root / FILE).read_bytes() == before
    listed = run_cli("monitor", "channel", "list")
    assert "hooks.example.com" in listed.stdout and "secret" not in listed.stdout  # the token stays out
    assert [c.name for c in __import__("mlnb.monitor._channels", fromlist=["x"]).load_channels(project.root)] == ["ops", "am"]
    assert run_cli("monitor", "channel", "remove", "ops").returncode == 0
    gone = run_cli("monitor", "channel", "remove", "ops")
    assert gone.returncode == 3 and "no channel named 'ops'" in gone.stderr
    assert [r.name for r in mlnb.monitor._rules.load_rules(project.root)] == ["churn.accuracy"]  # rules untouched


def test_a_removed_channel_drops_its_undelivered_entries(project):
    mlnb.monitor.add_rule("accuracy < 0.85", model="churn")
    mlnb.monitor.add_channel("gone", "webhook", f"http://127.0.0.1:{_free_port()}/", retries=0)
    bad = Reports(day=frame({"accuracy": 0.8}))
    assert check("churn", now=T0, reporter=bad).sent.failed == 1
    mlnb.monitor.remove_channel("gone")
    result = check("churn", now=T0 + 60, reporter=bad)
    assert (result.sent.sent, result.sent.failed) == (0, 0)  # no channels left: nothing tried
    [entry] = mlnb.monitor.alerts("churn").to_dict()[0]["deliveries"]
    assert (entry["state"], entry["attempts"]) == ("dropped", 1) and "no longer in monitoring.yaml" in entry["error"]
    from mlnb.monitor._alerts import undelivered

    assert undelivered(project, "churn") == []  # not read again at every check
