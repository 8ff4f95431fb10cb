"""Runs across processes: a killed process's run is marked crashed, eight writers lose nothing,
and a script that ends without ending its run still records how it ended."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sqlalchemy import func, select

import mlnb
from mlnb.store import registry
from mlnb.store._schema import run_metrics, run_params, runs
from tests.conftest import ROOT


def _python(code: str, cwd: Path, **popen) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def test_a_killed_process_leaves_a_crashed_run_with_what_it_flushed(project):
    child = _python("""
        import time, mlnb
        run = mlnb.start_run("doomed", params={"lr": 0.1})
        for i in range(5):
            run.log_metric("loss", 1 / (i + 1))
        run.flush()
        run.log_metric("never_flushed", 1.0)
        print(run.id, flush=True)
        time.sleep(120)
    """, project.root)
    run_id = child.stdout.readline().strip()
    assert run_id, child.stderr.read()
    assert mlnb.runs.get(run_id).status == "running"  # alive: not crashed
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    rec = mlnb.runs.get(run_id)
    assert rec.status == "crashed" and "ended without ending the run" in rec.error
    assert rec.params == {"lr": 0.1} and rec.history["loss"]["step"] == [0, 1, 2, 3, 4]
    assert "never_flushed" not in rec.metrics and rec.ended_at is not None
    assert mlnb.runs.list("status = 'crashed'").ids == [run_id]


def test_a_script_that_forgets_to_end_its_run(project):
    ok = _python("""
        import mlnb
        run = mlnb.start_run("forgot")
        run.log_metric("m", 1)
        print(run.id)
    """, project.root)
    script = project.root / "train.py"
    script.write_text("import mlnb\nrun = mlnb.start_run('forgot and failed')\nprint(run.id, flush=True)\n"
                      "raise SystemError('uncaught')\n")
    failing = subprocess.Popen([sys.executable, str(script)], cwd=project.root, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    ok_id = ok.communicate(timeout=60)[0].strip()
    fail_id = failing.communicate(timeout=60)[0].strip()
    assert mlnb.runs.get(ok_id).status == "finished" and mlnb.runs.get(ok_id).metrics == {"m": 1.0}
    rec = mlnb.runs.get(fail_id)
    assert rec.status == "failed" and rec.error == "SystemError: uncaught"
    assert rec.code == script.read_text() and rec.notebook == str(script)  # a script's source is its code


WRITER = """
    import os, sys, time, mlnb
    go = sys.argv[1]
    while not os.path.exists(go):
        time.sleep(0.005)
    for i in range({runs}):
        with mlnb.start_run(f"w{{os.getpid()}}-{{i}}", params={{"i": i, "pid": os.getpid()}}, tags=["load"]) as run:
            for step in range({points}):
                run.log_metric("loss", 1 / (step + 1))
            run.flush()
            run.log_metric("acc", i / 10)
"""


def _eight_writers(project, runs_each: int = 15, points: int = 40) -> None:
    go = project.root / ".go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = textwrap.dedent(WRITER.format(runs=runs_each, points=points))
    procs = [subprocess.Popen([sys.executable, "-c", code, str(go)], cwd=project.root, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(8)]
    time.sleep(0.5)
    go.touch()
    results = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err
        assert "locked" not in err.lower()
    with registry(project).read() as conn:
        count = lambda t, *w: conn.execute(select(func.count()).select_from(t).where(*w)).scalar()  # noqa: E731
        assert count(runs) == 8 * runs_each
        assert count(runs, runs.c.status == "finished") == 8 * runs_each
        assert count(run_params) == 8 * runs_each * 2
        assert count(run_metrics) == 8 * runs_each * (points + 1)
    assert len(mlnb.runs.list("tags.load and metrics.acc >= 0", limit=1000)) == 8 * runs_each


def test_eight_processes_write_into_one_registry(backend_project):
    _eight_writers(backend_project)
