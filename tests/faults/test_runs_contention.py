"""Eight writer processes on one registry (SQLite and PostgreSQL): every point logged before a run
ends is stored, exactly, whether the run is ended by `with`, by `end()` or at interpreter exit,
while the heartbeat thread flushes the same run concurrently."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

from sqlalchemy import func, select

import mlnb
from mlnb.store import registry
from mlnb.store._schema import run_metrics, runs
from tests.conftest import ROOT

WRITERS = 8
RUNS_EACH = int(os.environ.get("MLNB_FAULT_RUNS", "3"))
POINTS = int(os.environ.get("MLNB_FAULT_POINTS", "25000"))

# Each writer logs POINTS points per run in bursts (so the heartbeat, every 50 ms, takes a buffer
# and writes it while the main thread logs on and ends the run); its last run is left for the
# at-exit path to end. It prints, per run, the id and how many points it logged.
WRITER = """
    import os, sys, time, json, mlnb
    go = sys.argv[1]
    while not os.path.exists(go):
        time.sleep(0.005)
    for i in range({runs}):
        run = mlnb.start_run(f"w{{os.getpid()}}-{{i}}")
        for step in range({points}):
            run.log_metric("loss", step / {points}, step=step)
            if step % 5000 == 4999:
                time.sleep(0.06)        # let the heartbeat take a buffer mid-run
        print(json.dumps([run.id, {points}]), flush=True)
        if i < {runs} - 1:
            run.end()
"""


def _writers(project) -> dict[str, int]:
    go = project.root / ".go"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLNB_FLUSH_SECONDS": "0.05"}
    code = textwrap.dedent(WRITER.format(runs=RUNS_EACH, points=POINTS))
    procs = [subprocess.Popen([sys.executable, "-c", code, str(go)], cwd=project.root, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(WRITERS)]
    time.sleep(0.3)
    go.touch()
    logged: dict[str, int] = {}
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        for line in out.splitlines():
            run_id, n = json.loads(line)
            logged[run_id] = n
    return logged


def test_eight_writers_lose_no_point(backend_project):
    logged = _writers(backend_project)
    assert len(logged) == WRITERS * RUNS_EACH
    with registry(backend_project).read() as conn:
        stored = dict(conn.execute(select(run_metrics.c.run_id, func.count()).group_by(run_metrics.c.run_id)).all())
        status = dict(conn.execute(select(runs.c.id, runs.c.status)).all())
    lost = {r: n - stored.get(r, 0) for r, n in logged.items() if stored.get(r, 0) != n}
    print(f"\n{WRITERS} writers, {len(logged)} runs: logged {sum(logged.values())}, "
          f"stored {sum(stored.values())}, lost {sum(lost.values())}")
    assert lost == {}, f"points lost (or duplicated) per run: {lost}"
    assert set(status.values()) == {"finished"}
    for run_id in list(logged)[:3]:  # every step once, in order
        assert mlnb.runs.get(run_id).history["loss"]["step"] == list(range(POINTS))
