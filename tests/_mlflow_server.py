"""A real MLflow tracking server for a test module, from its own venv (tests/_venvs.py).

It keeps runs in SQLite and serves artifacts through its ``mlflow-artifacts`` proxy (MLflow's
default), in a folder of the module; it is stopped when the module ends.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests._http import wait_until_up
from tests._venvs import mlflow_python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mlflow(base: Path) -> Iterator[str]:
    """Yield the URI of a fresh MLflow server living in ``base``; stop it afterwards."""
    python = mlflow_python()
    port = free_port()
    base.mkdir(parents=True, exist_ok=True)
    log = open(base / "server.log", "w")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # no job runner processes: a quicker, lighter server
    proc = subprocess.Popen(
        [str(python), "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{base / 'mlflow.db'}", "--artifacts-destination", str(base / "artifacts")],
        cwd=base, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{uri}/health", proc, 180, base / "server.log", "the MLflow server")
        yield uri
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def mlflow_script(code: str, *args: str) -> str:
    """Run ``code`` with MLflow's own client (its venv) and return its stdout."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([str(mlflow_python()), "-c", code, *args], capture_output=True, text=True, env=env,
                          timeout=300)
    if proc.returncode:
        raise AssertionError(f"the MLflow client script failed:\n{proc.stderr[-3000:]}")
    return proc.stdout
