"""Runs across processes: a killed process's run is marked crashed, eight writers lose nothing,
and a script that ends without ending its run still records how it ended."""

from __future__ import annotations

import os
import re
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


def _python(code: str, cwd: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


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
    assert re.fullmatch(r"[0-9a-f]{12}", run_id), child.stderr.read()
    assert mlnb.runs.get(run_id).status == "running"  # alive: not crashed
    killed_at = time.time()
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    rec = mlnb.runs.get(run_id)
    assert rec.status == "crashed" and "ended without ending the run" in rec.error
    assert rec.params == {"lr": 0.1} and rec.history["loss"]["step"] == [0, 1, 2, 3, 4]
    assert "never_flushed" not in rec.metrics
    assert rec.started_at <= rec.ended_at <= killed_at  # it ended at its last sign of life, not when found
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


def test_the_heartbeat_flushes_a_long_cell_and_a_silent_remote_run_is_crashed(project, monkeypatch):
    child = _python("""
        import os, time, mlnb
        run = mlnb.start_run("long")
        run.log_metric("loss", 0.5)      # no flush here: the heartbeat thread writes it
        print(run.id, flush=True)
        time.sleep(120)
    """, project.root, MLNB_FLUSH_SECONDS="0.2")
    try:
        run_id = child.stdout.readline().strip()
        deadline = time.time() + 60
        while time.time() < deadline and "loss" not in mlnb.runs.get(run_id).metrics:
            time.sleep(0.1)
        assert mlnb.runs.get(run_id).metrics == {"loss": 0.5}
    finally:
        child.kill()
        child.wait(30)
    with mlnb.start_run("elsewhere") as other:
        pass
    with registry(project).write() as conn:  # a run another machine started and stopped reporting on
        conn.execute(runs.update().where(runs.c.id == other.id).values(
            status="running", host="another-host", heartbeat_at=time.time() - 3600, ended_at=None))
    monkeypatch.setenv("MLNB_STALE_SECONDS", "600")
    assert mlnb.runs.get(other.id).status == "crashed"
    with mlnb.start_run("suspended") as laptop:
        with registry(project).write() as conn:
            conn.execute(runs.update().where(runs.c.id == laptop.id).values(status="crashed"))
        laptop.flush()  # it wakes up and writes: running again
        assert mlnb.runs.get(laptop.id).status == "running"
    assert mlnb.runs.get(laptop.id).status == "finished"


def test_a_process_is_alive_only_while_it_runs_as_the_same_process() -> None:
    """What the crash check asks of a running run's pid: a live child is alive with its own start
    token, not with another's; killed but not yet reaped (a zombie) or reaped, it is gone."""
    from mlnb.runs._capture import proc_start, process_alive

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = proc_start(child.pid)
        assert start is not None and process_alive(child.pid, start) and process_alive(child.pid, None)
        assert not process_alive(child.pid, str(int(start) + 1))  # the pid, reused by another process
        os.kill(child.pid, signal.SIGKILL)
        for _ in range(200):  # until the kernel has made it a zombie (it is not reaped: no wait yet)
            if proc_start(child.pid) is not None and not process_alive(child.pid, start):
                break
            time.sleep(0.01)
        assert proc_start(child.pid) == start and not process_alive(child.pid, start)
    finally:
        child.kill()
        child.wait()
    assert not process_alive(child.pid, start)
