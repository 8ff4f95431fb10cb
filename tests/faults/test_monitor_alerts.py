"""Alerts under faults: a check killed while it is sending loses no alert (the delivery stays pending
and the next check sends it), and checks racing on one model open one alert, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import mlnb
from mlnb.monitor._rules import FILE
from tests.faults._harness import spawn

TRIALS = int(os.environ.get("MLNB_FAULT_TRIALS", "2"))

CHILD = """
import pandas as pd
from mlnb.monitor._check import check
s = pd.Timestamp("2026-11-27", tz="UTC")
f = pd.DataFrame([dict(window=0, start=s, end=s, n=9, metric="accuracy", value=0.5, lower=None, upper=None,
                       alert=False, note="")])
print("start", flush=True)
print(check("churn", reporter=lambda m, w: f).rows[0]["state"], flush=True)
print("done", flush=True)
"""


class Hanging:
    """A webhook receiver that records each request and answers only once ``release`` is set."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.got = threading.Event()
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                outer.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                outer.got.set()
                outer.release.wait(30)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_a_check_killed_while_sending_loses_no_alert(project):
    hook = Hanging()
    try:
        mlnb.monitor.add_rule("accuracy < 0.85", model="churn")
        path = project.root / FILE
        path.write_text(path.read_text() + f"channels:\n  - {{name: ops, type: webhook, url: '{hook.url}', "
                                           "retries: 0, timeout: 60}\n")
        landed = 0
        for trial in range(TRIALS):
            sig = (signal.SIGKILL, signal.SIGINT)[trial % 2]
            hook.got.clear()
            hook.release.clear()
            child = spawn(CHILD, project.root)
            assert child.stdout.readline().strip() == "start"
            assert hook.got.wait(60), child.stderr.read()  # the child is inside the POST now
            child.send_signal(sig)
            out, _ = child.communicate(timeout=60)
            landed += "done" not in out and child.returncode in (-sig, 130, 1)
            hook.release.set()
            [alert] = [a for a in mlnb.monitor.alerts("churn", all=True).to_dict() if a["status"] == "firing"]
            assert [(d["event"], d["state"]) for d in alert["deliveries"]] == [("firing", "pending")]
            n = len(hook.bodies)
            result = mlnb.monitor.check("churn", reporter=lambda m, w, f=_frame(): f)  # the next check
            assert (result.sent.sent, result.sent.failed) == (1, 0) and len(hook.bodies) == n + 1
            assert hook.bodies[-1]["alert"]["id"] == alert["id"]
            assert mlnb.monitor.alerts("churn").to_dict()[0]["deliveries"][0]["state"] == "sent"
            mlnb.monitor.check("churn", reporter=lambda m, w, f=_frame(0.95): f)  # resolve it for the next trial
            hook.release.set()
        assert landed == TRIALS  # every signal landed mid-send: the receiver held the request
    finally:
        hook.close()


def _frame(value: float = 0.5):  # type: ignore[no-untyped-def]
    import pandas as pd

    s = pd.Timestamp("2026-11-27", tz="UTC")
    return pd.DataFrame([dict(window=0, start=s, end=s, n=9, metric="accuracy", value=value, lower=None,
                              upper=None, alert=False, note="")])


@pytest.mark.parametrize("racers", [4])
def test_racing_checks_open_one_alert(backend_project, racers):
    mlnb.monitor.add_rule("accuracy < 0.85", model="churn")
    children = [spawn(CHILD, backend_project.root) for _ in range(racers)]
    states = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        states.append(out.split()[1])
    assert sorted(states) == ["fired"] + ["firing"] * (racers - 1)
    assert len(mlnb.monitor.alerts("churn", all=True)) == 1
