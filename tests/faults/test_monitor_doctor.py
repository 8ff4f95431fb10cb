"""`mlnb doctor` finds each fault injected for real: its row is an error with what to do, the CLI
exits 1, and the doctor itself changes nothing saved."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys

import mlnb
from tests.conftest import run_cli
from tests.faults._harness import snapshot
from tests.faults.conftest import fill


def failing_row(check: str) -> dict:
    """Run `mlnb doctor --json`; it must exit 1 and its ``check`` row be an error with a fix."""
    proc = run_cli("doctor", "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rows = [c for c in json.loads(proc.stdout)["checks"] if c["check"] == check]
    assert rows and rows[0]["level"] == "error" and rows[0]["fix"], rows
    return rows[0]


def test_a_removed_remote(project, tmp_path):
    shutil.rmtree(tmp_path / "remote")
    row = failing_row("remote")
    assert "does not exist" in row["detail"] and str(tmp_path / "remote") in row["detail"]
    assert not (tmp_path / "remote").exists()  # the probe did not make it again


def test_a_read_only_remote(project, small_fs):
    disk = small_fs(1 << 20, "ro-remote")
    project.set_remote(str(disk))
    assert mlnb.doctor()["remote"]["level"] == "ok"
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    row = failing_row("remote")
    assert "cannot be written" in row["detail"] and "Read-only file system" in row["detail"], row


def test_a_damaged_registry(project):
    db = project.mlnb_dir / "registry.db"
    mlnb.data.save(__import__("pandas").DataFrame({"a": range(50)}), "rows")  # more than one page in use
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = int.from_bytes(db.read_bytes()[16:18], "big")
    with open(db, "r+b") as f:  # the header stays sound: only SQLite's own check can tell
        f.seek(page + 8)
        f.write(os.urandom(page * 2 - 16))
    damaged = db.read_bytes()
    row = failing_row("registry")
    assert "damaged" in row["detail"] or "malformed" in row["detail"], row
    assert db.read_bytes() == damaged  # read-only: nothing written, nothing "repaired"


def test_a_run_stuck_in_running(project):
    child = subprocess.run([sys.executable, "-c", "import mlnb, os\nmlnb.start_run('stuck-one')\n"
                            "os.kill(os.getpid(), 9)"], cwd=project.root, capture_output=True, text=True)
    assert child.returncode == -9, child.stderr
    before = snapshot(project.root)
    row = failing_row("runs")
    assert "stuck-one" in row["detail"] and "gone" in row["detail"] and "mlnb runs list" in row["fix"]
    assert snapshot(project.root) == before  # the doctor reports; it does not mark the run
    run_cli("runs", "list", check=True)  # what the fix says to do ...
    assert mlnb.doctor()["runs"]["level"] == "ok"  # ... is enough


def test_a_full_disk(small_project):
    disk, root = small_project(32 << 20)
    assert mlnb.doctor()["disk"]["level"] == "ok"
    fill(disk, leave=0)
    row = failing_row("disk")
    assert row["detail"].startswith("disk full") and "dvc gc" in row["fix"]


def test_the_exporter_refuses_a_port_in_use_and_a_negative_ttl(project):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = run_cli("monitor", "exporter", "--port", str(taken.getsockname()[1]))
    assert proc.returncode == 2 and "choose another --port" in proc.stderr and proc.stderr.count("\n") == 1
    proc = run_cli("monitor", "exporter", "--port", "0", "--ttl", "-1")
    assert proc.returncode == 2 and "--ttl -1" in proc.stderr and proc.stderr.count("\n") == 1


def test_a_clone_without_its_registry_warns_and_makes_nothing(project):
    for path in project.mlnb_dir.glob("registry.db*"):
        path.unlink()
    proc = run_cli("doctor", "--json")
    assert proc.returncode == 0, proc.stdout
    row = next(c for c in json.loads(proc.stdout)["checks"] if c["check"] == "registry")
    assert row["level"] == "warn" and "new clone" in row["detail"]
    assert not list(project.mlnb_dir.glob("registry.db*"))  # the doctor did not create one


def test_a_broken_monitoring_yaml(project):
    import pandas as pd

    mlnb.monitor.log_predictions("churn", pd.DataFrame({"x": [1.0, 2.0]}), [0, 1], ids=["a", "b"])
    (project.root / "monitoring.yaml").write_text("rules:\n  - {when: 'accuracy <<< 2', model: churn}\n")
    row = failing_row("monitoring")
    assert "monitoring.yaml" in row["detail"] and "rule 1 is not valid" in row["detail"], row
