"""The prediction log under a real server: every answer logged off the request path, shadows too;
a SIGKILL loses at most the last second and leaves no half-written file."""

from __future__ import annotations

import os
import signal
import threading
import time

import pandas as pd

import mlnb
from tests.serve._server import ServerProcess


def test_answers_are_logged_and_a_kill_loses_at_most_the_last_second(server):
    seq = mlnb.models.deploy("churn", to="champion", canary="challenger", traffic=50).routing.extra["seq"]
    killed = ServerProcess(server.root, "churn", "--poll", "0.2")
    answers: dict[str, tuple[float, dict]] = {}
    stop = threading.Event()

    def send() -> None:
        with killed.client(token=None) as c:
            i = 0
            while not stop.is_set():
                i += 1
                rid = f"kill-{i}"
                try:
                    r = c.post("/v1/models/churn:predict", json={"instances": [[i / 100, 0.5], [-1.0, 0.0]]},
                               headers={"x-request-id": rid})
                except Exception:  # the kill cut this one off
                    return
                answers[rid] = (time.time(), r.json())

    try:
        killed.wait_for_routing(seq, token=None)
        thread = threading.Thread(target=send)
        thread.start()
        time.sleep(3.0)
        killed_at = time.time()
        os.kill(killed.proc.pid, signal.SIGKILL)
        stop.set()
        thread.join()
    finally:
        killed.stop()

    logged = mlnb.serve.read_predictions("churn")
    logged = logged[logged.request_id.str.startswith("kill-")]
    due = {rid for rid, (got, _) in answers.items() if got < killed_at - 1.0}
    lost_late = {rid for rid, (got, _) in answers.items() if got >= killed_at - 1.0} - set(logged.request_id)
    print(f"{len(answers)} answered, {len(due)} due in the log, {len(lost_late)} of the last second lost")
    assert len(due) > 20
    assert due <= set(logged.request_id)
    for rid, rows in logged.groupby("request_id"):
        body = answers[rid][1]
        assert list(rows.sort_values("row").prediction) == body["predictions"]
        assert set(rows.arm) == {body["arm"]} and set(rows.version) == {int(body["model_version"])}
        assert set(rows.routing) == {seq} and not rows.shadow.any()
        assert list(rows.sort_values("row")["feature.spend"]) == [0.5, 0.0]
    assert set(logged.arm) == {"champion", "challenger"}
    assert (logged.latency_ms > 0).all()
    folder = server.root / ".mlnb" / "predictions" / "churn"
    for part in folder.glob("date=*/part-*.parquet"):  # every file whole: a kill mid-write leaves only a .tmp
        pd.read_parquet(part)
    assert (folder.parent / ".gitignore").read_text().endswith("*\n")


def test_shadow_answers_are_logged_as_shadow(server):
    seq = mlnb.models.deploy("churn", to="champion", shadow="challenger").routing.extra["seq"]
    server.wait_for_routing(seq)
    with server.client() as c:
        r = c.post("/v1/models/churn:predict", json={"instances": [[0.7, 0.1]]}, headers={"x-request-id": "shadow-log-1"})
        assert r.status_code == 200
    deadline = time.time() + 10
    while time.time() < deadline:
        rows = mlnb.serve.read_predictions("churn").query("request_id == 'shadow-log-1'")
        if len(rows) == 2:
            break
        time.sleep(0.1)
    assert sorted(zip(rows.arm, rows.shadow, rows.version)) == [("challenger", True, 2), ("champion", False, 1)]
