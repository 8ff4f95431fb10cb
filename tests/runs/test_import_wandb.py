"""W&B offline run folders, written by the real `wandb` package (its own venv, no network), read
into mlnb without importing wandb; an unknown file format version is one line."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess

import pytest

from tests._venvs import wandb_python
from tests.conftest import run_cli

#: enough rows that the run file spans several 32 KiB blocks (records cut across blocks)
ROWS = 1500

WRITE = """
import json, math, sys, wandb
ROWS = int(sys.argv[1])
ids = []
for name, fail in (("first", False), ("second", True)):
    run = wandb.init(project="churn", name=name, tags=["baseline", "cpu"],
                     config={"lr": 0.1, "layers": [64, 32], "opt": "adam", "sched": {"warmup": 5}})
    for i in range(ROWS):
        row = {"loss": 1 / (i + 1), "acc": i / ROWS}
        if i == 3:
            row["odd"] = math.nan
            row["note"] = "text is not a metric"
        wandb.log(row)
    wandb.log({"loss": 0.001}, step=ROWS + 500)
    run.summary["best_acc"] = 0.99
    ids.append(run.id)
    run.finish(exit_code=3 if fail else 0)
print(json.dumps(ids))
"""


@pytest.fixture(scope="module")
def wandb_dir(tmp_path_factory):
    """A folder where `wandb` itself wrote two offline runs; (the folder, their ids)."""
    base = tmp_path_factory.mktemp("wb")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DIR=str(base), HOME=str(base),
               WANDB_DISABLE_GIT="true")
    proc = subprocess.run([str(wandb_python()), "-c", WRITE, str(ROWS)], cwd=base, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return base / "wandb", json.loads(proc.stdout.strip().splitlines()[-1])


def test_wandb_offline_runs_come_in_whole(project, wandb_dir):
    import mlnb

    folder, ids = wandb_dir
    assert all(f.stat().st_size > 3 * 32768 for f in folder.glob("offline-run-*/run-*.wandb"))
    out = mlnb.runs.import_wandb(folder)
    assert out["imported"] == 2
    assert any("'note'" in n for n in out["not kept"])
    first, second = mlnb.runs.get(ids[0]), mlnb.runs.get(ids[1])
    assert first.name == "first" and first.status == "finished"
    assert second.status == "failed" and "3" in second.error
    assert first.params == {"lr": 0.1, "layers": [64, 32], "opt": "adam", "sched": {"warmup": 5}}
    assert {"baseline", "cpu", "wandb.project=churn", f"wandb.run_id={ids[0]}"} <= set(first.tags)
    loss = first.history["loss"]
    assert loss["step"] == [*range(ROWS), ROWS + 500]
    assert loss["value"] == [*(1 / (i + 1) for i in range(ROWS)), 0.001]
    assert math.isnan(first.history["odd"]["value"][0]) and first.history["odd"]["step"] == [3]
    assert first.metrics["best_acc"] == 0.99  # a summary value never logged as history
    assert first.started_at <= first.ended_at

    again = run_cli("runs", "import", "--wandb-dir", str(folder), "--json", cwd=project.root)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["imported"] == 0


def test_an_unknown_wandb_format_version_is_one_line(project, wandb_dir, tmp_path):
    from tests.faults._harness import assert_one_line_error, snapshot

    folder, _ = wandb_dir
    copy = tmp_path / "wandb"
    shutil.copytree(folder, copy)
    run_file = next(copy.glob("offline-run-*/run-*.wandb"))
    data = bytearray(run_file.read_bytes())
    assert data[:4] == b":W&B" and data[6] == 0
    data[6] = 7
    run_file.write_bytes(bytes(data))
    before = snapshot(project.root)
    proc = run_cli("runs", "import", "--wandb-dir", str(copy), cwd=project.root)
    line = assert_one_line_error(proc, 3)
    assert "format version 7" in line and run_file.name in line
    assert snapshot(project.root) == before


def test_a_run_file_cut_short_gives_its_whole_records_as_a_crashed_run(project, wandb_dir, tmp_path):
    """A writer killed mid-file (no exit record, last record cut): the rows written whole come in,
    in order, and the run is `crashed`."""
    import mlnb

    folder, ids = wandb_dir
    copy = tmp_path / "wandb"
    shutil.copytree(folder, copy)
    run_file = next(copy.glob(f"offline-run-*-{ids[0]}/run-*.wandb"))
    data = run_file.read_bytes()
    run_file.write_bytes(data[: int(len(data) * 0.6) + 3])  # mid-record, past a few block boundaries
    mlnb.runs.import_wandb(copy)
    run = mlnb.runs.get(ids[0])
    assert run.status == "crashed" and "wandb.finish" in run.error
    steps = run.history["loss"]["step"]
    assert 0 < len(steps) < ROWS and steps == list(range(len(steps)))
    assert run.history["loss"]["value"] == [1 / (i + 1) for i in range(len(steps))]
