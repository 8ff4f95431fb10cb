"""Exporting runs to an MLflow tracking server: `mlnb runs export --mlflow` against MLflow's own
client logging the same runs with its batch API, to the same server, in the same run.

    python bench/mlflow_io.py            # full: 1,000 runs x 100 metric points (+ 5 params each)
    python bench/mlflow_io.py --quick    # CI smoke: 20 runs x 20 points, one repetition

One MLflow server (bench/runs.py's venv, SQLite store, artifacts proxied) serves both sides; each
repetition writes into a fresh experiment, and the two sides alternate. mlnb talks REST with the
standard library (runs/create, runs/log-batch in chunks of 1,000 points, runs/update); MLflow's
side is ``MlflowClient.create_run`` + ``log_batch`` (the same chunking, done by MLflow) +
``set_terminated``. The ratio is MLflow's time over mlnb's.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from runs import ensure_mlflow  # noqa: E402 - bench/runs.py, MLflow's venv

MLFLOW_SIDE = r"""
import json, sys, time
from mlflow import MlflowClient
from mlflow.entities import Metric, Param
uri, experiment, path = sys.argv[1:4]
rows = [json.loads(line) for line in open(path)]
c = MlflowClient(uri)
exp = c.create_experiment(experiment)
t0 = time.perf_counter()
for r in rows:
    run = c.create_run(exp, run_name=r["name"], start_time=int(r["started_at"] * 1000))
    c.log_batch(run.info.run_id, metrics=[Metric(k, v, int(t * 1000), s) for k, s, v, t in r["metrics"]],
                params=[Param(k, str(v)) for k, v in r["params"].items()])
    c.set_terminated(run.info.run_id, "FINISHED", end_time=int(r["ended_at"] * 1000))
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


def make_lines(runs: int, points: int) -> list[dict]:
    now = time.time() - 3600
    lines = []
    for i in range(runs):
        rid = f"{i:012x}"
        metrics = [[k, s, 1.0 / (s + 1 + j), now + i + s / 1000] for s in range(points // 2) for j, k in
                   enumerate(("loss", "acc"))]
        lines.append({"format": "mlnb.run/1", "id": rid, "name": f"run-{i}", "status": "finished", "error": None,
                      "started_at": now + i, "ended_at": now + i + 1, "heartbeat_at": None, "parent_id": None,
                      "host": "bench", "pid": None, "proc_start": None, "notebook": None, "code": None,
                      "git_commit": None, "git_dirty": None, "environment": None,
                      "params": {"lr": 0.01 * (i % 10), "depth": i % 7, "opt": "adam", "seed": i, "batch": 64},
                      "metrics": metrics, "tags": ["bench"], "artifacts": [], "data": []})
    return lines


def start_server(python: Path, base: Path) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    proc = subprocess.Popen([str(python), "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", "1", "--backend-store-uri", f"sqlite:///{base / 'mlflow.db'}",
                             "--artifacts-destination", str(base / "artifacts")], cwd=base, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2):
                return proc, uri
        except OSError:
            time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)
    raise SystemExit("the MLflow server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke: 20 runs x 20 points, one repetition")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.quick:
        args.runs, args.points, args.repeat = 20, 20, 1
    python = ensure_mlflow()
    if python is None:
        raise SystemExit("no MLflow venv: nothing to compare with")
    with tempfile.TemporaryDirectory(prefix="mlnb-bench-mlflow-") as tmp:
        base = Path(tmp)
        lines = make_lines(args.runs, args.points)
        rows = base / "runs.jsonl"
        rows.write_text("".join(json.dumps(ln) + "\n" for ln in lines))
        project = base / "proj"
        project.mkdir()
        os.chdir(project)
        import mlnb

        mlnb.init()
        mlnb.runs.import_(rows)
        server, uri = start_server(python, base)
        try:
            mine, theirs = [], []
            for rep in range(args.repeat):  # alternated, so load on the machine hits both sides alike
                t0 = time.perf_counter()
                out = mlnb.runs.export_mlflow(uri, experiment=f"mlnb-{rep}")
                mine.append(time.perf_counter() - t0)
                assert out["exported"] == args.runs, out.to_dict()
                proc = subprocess.run([str(python), "-c", MLFLOW_SIDE, uri, f"mlflow-{rep}", str(rows)],
                                      capture_output=True, text=True,
                                      env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
                if proc.returncode:
                    raise SystemExit(f"MLflow's side failed:\n{proc.stderr[-2000:]}")
                theirs.append(json.loads(proc.stdout.strip().splitlines()[-1])["seconds"])
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait()
    m, t = statistics.median(mine), statistics.median(theirs)
    print(f"export of {args.runs:,} runs x {args.points} points to an MLflow server (median of {args.repeat})")
    print(f"  mlnb runs export --mlflow      {m:8.2f} s")
    print(f"  MLflow client, log_batch       {t:8.2f} s")
    print(f"  ratio MLflow / mlnb            {t / m:8.2f}x")


if __name__ == "__main__":
    main()
