"""Runs to and from a real MLflow tracking server (its own venv, one server for the module).

The round trip mlnb -> MLflow -> mlnb gives the same runs (metric times to the millisecond,
MLflow's precision); runs MLflow's own client logged come in with every point, tag, artifact
and parent; exporting or importing again adds nothing; a server that does not answer is one line.
"""

from __future__ import annotations

import json
import math
import os

import pytest

from tests._mlflow_server import free_port, mlflow_script, start_mlflow
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory):
    yield from start_mlflow(tmp_path_factory.mktemp("mlflow"))


def _lines(root):
    """Every run of the project at ``root`` as the JSON Lines export writes it, by id."""
    out = root / "all.jsonl"
    run_cli("runs", "export", str(out), cwd=root, check=True)
    return {ln["id"]: ln for ln in map(json.loads, out.read_text().splitlines())}


def _comparable(line):
    """A run as both sides hold it: metric times to the millisecond, points per key in order."""
    line = dict(line)
    line.pop("format")
    points = {}
    for key, step, value, t in line.pop("metrics"):
        points.setdefault(key, []).append((step, str(value), round(t * 1000)))
    line["metrics"] = points
    line["tags"] = sorted(line["tags"])
    line["artifacts"] = sorted(line["artifacts"], key=lambda a: a["path"])
    return line


def _make_runs(mlnb, root):
    (root / "reports").mkdir()
    (root / "reports" / "confusion.txt").write_text("tp 10 fp 2\n")
    with mlnb.start_run("parent", params={"lr": 0.1, "layers": [64, 32], "opt": "adam", "seed_text": "0.1"},
                        tags=["churn", "team=vision", "odd label #1"]) as parent:
        for step in range(30):
            parent.log_metric("loss", 1 / (step + 1), step=step)
        parent.log_metric("weird", math.nan, step=0)
        parent.log_metric("weird", math.inf, step=1)
        parent.log_artifact("reports/confusion.txt")
        with mlnb.start_run("child", params={"depth": 3}) as child:
            child.log_metric("acc", 0.9)
            child_id = child.id
    with pytest.raises(ZeroDivisionError), mlnb.start_run("broken"):
        mlnb.log_metric("acc", 0.1)
        1 / 0  # noqa: B018
    return parent.id, child_id


def test_round_trip_through_mlflow_is_lossless(project, tmp_path, mlflow_uri):
    import mlnb

    parent_id, child_id = _make_runs(mlnb, project.root)
    before = _lines(project.root)

    out = mlnb.runs.export_mlflow(mlflow_uri, experiment="roundtrip")
    assert out["exported"] == 3 and out["skipped (exported before)"] == 0
    assert any("millisecond" in limit for limit in out["not held by MLflow"])

    # MLflow itself sees the runs: every point with its step, the parent, the status, the artifact
    seen = json.loads(mlflow_script("""
import json, sys, mlflow
c = mlflow.MlflowClient(sys.argv[1])
exp = c.get_experiment_by_name("roundtrip")
out = {}
for r in c.search_runs([exp.experiment_id]):
    out[r.info.run_name] = {"status": r.info.status, "parent": r.data.tags.get("mlflow.parentRunId"),
        "id": r.info.run_id, "params": r.data.params, "team": r.data.tags.get("team"),
        "loss": [(m.step, m.value) for m in c.get_metric_history(r.info.run_id, "loss")],
        "artifacts": [a.path for a in c.list_artifacts(r.info.run_id, "reports")]}
print(json.dumps(out))
""", mlflow_uri))
    assert seen["parent"]["status"] == "FINISHED" and seen["broken"]["status"] == "FAILED"
    assert seen["child"]["parent"] == seen["parent"]["id"]
    assert sorted(seen["parent"]["loss"]) == [[s, 1 / (s + 1)] for s in range(30)]
    assert seen["parent"]["params"]["layers"] == "[64, 32]" and seen["parent"]["params"]["opt"] == "adam"
    assert seen["parent"]["team"] == "vision"
    assert seen["parent"]["artifacts"] == ["reports/confusion.txt"]

    again = mlnb.runs.export_mlflow(mlflow_uri, experiment="roundtrip")
    assert again["exported"] == 0 and again["skipped (exported before)"] == 3

    other = tmp_path / "other"
    other.mkdir()
    run_cli("init", cwd=other, check=True)
    proc = run_cli("runs", "import", "--mlflow", mlflow_uri, "--experiment", "roundtrip", "--json", cwd=other)
    assert proc.returncode == 0, proc.stderr
    after = _lines(other)
    assert set(after) == set(before)
    for rid in before:
        assert _comparable(after[rid]) == _comparable(before[rid]), rid
    assert after[child_id]["parent_id"] == parent_id
    copy = other / ".mlnb" / "imports" / "mlflow" / seen["parent"]["id"] / "reports" / "confusion.txt"
    assert copy.read_text() == "tp 10 fp 2\n"

    proc = run_cli("runs", "import", "--mlflow", mlflow_uri, "--experiment", "roundtrip", cwd=other)
    assert proc.returncode == 0 and len(_lines(other)) == 3


def test_runs_logged_by_mlflow_come_in_whole(project, mlflow_uri):
    import mlnb

    ids = json.loads(mlflow_script("""
import json, sys, time, mlflow
from mlflow.entities import Metric, Param, RunTag
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("native")
c = mlflow.MlflowClient(sys.argv[1])
with mlflow.start_run(run_name="sweep") as parent:
    mlflow.set_tag("owner", "ana")
    with mlflow.start_run(run_name="trial-1", nested=True) as child:
        t0 = 1_700_000_000_000
        c.log_batch(child.info.run_id, metrics=[Metric("loss", 1.0 / (i + 1), t0 + i, i) for i in range(250)],
                    params=[Param("lr", "0.01"), Param("name", "baseline")], tags=[RunTag("stage", "dev")])
        with open("notes.txt", "w") as f:
            f.write("hello")
        mlflow.log_artifact("notes.txt", artifact_path="docs")
with mlflow.start_run(run_name="still going"):
    pass
c.set_terminated(mlflow.last_active_run().info.run_id, status="RUNNING")
print(json.dumps({"parent": parent.info.run_id, "child": child.info.run_id}))
""", mlflow_uri).splitlines()[-1])

    out = mlnb.runs.import_mlflow(mlflow_uri, experiments=["native"])
    assert out["imported"] == 2 and out["still running (not imported)"] == 1
    child = mlnb.runs.get(ids["child"])
    assert child.name == "trial-1" and child.status == "finished"
    assert child.parent_id == ids["parent"]
    assert child.params == {"lr": 0.01, "name": "baseline"}
    assert {"stage=dev", "mlflow.experiment=native", f"mlflow.run_id={ids['child']}"} <= set(child.tags)
    lines = _lines(project.root)
    points = [p for p in lines[ids["child"]]["metrics"] if p[0] == "loss"]
    assert [(s, v, t) for _, s, v, t in points] == [(i, 1.0 / (i + 1), 1_700_000_000 + i / 1000) for i in range(250)]
    art = lines[ids["child"]]["artifacts"]
    assert [a["path"] for a in art] == [f".mlnb/imports/mlflow/{ids['child']}/docs/notes.txt"]
    assert (project.root / art[0]["path"]).read_text() == "hello"
    assert "owner=ana" in mlnb.runs.get(ids["parent"]).tags

    again = mlnb.runs.import_mlflow(mlflow_uri, experiments=["native"])
    assert again["imported"] == 0 and again["skipped (imported before)"] == 2


def test_an_mlflow_uri_that_does_not_answer_is_one_line(project):
    from tests.faults._harness import assert_one_line_error, snapshot

    before = snapshot(project.root)
    dead = f"http://127.0.0.1:{free_port()}"
    for verb in ("import", "export"):
        proc = run_cli("runs", verb, "--mlflow", dead, cwd=project.root)
        assert_one_line_error(proc, 3)
        assert "does not answer" in proc.stderr and dead in proc.stderr
    for args, says in ((("runs", "import"), "exactly one of"),
                       (("runs", "import", "r.jsonl", "--mlflow", dead), "got file, mlflow"),
                       (("runs", "import", "--wandb-dir", "wandb", "--experiment", "x"), "--experiment goes with"),
                       (("runs", "export", "--mlflow", "ftp://host/x"), "invalid MLflow URI"),
                       (("models", "import", "--mlflow", "not a uri at all"), "invalid MLflow URI")):
        proc = run_cli(*args, cwd=project.root)
        assert says in assert_one_line_error(proc, 2), args
    assert snapshot(project.root) == before


def test_a_half_written_export_is_replaced_not_duplicated(project, mlflow_uri):
    """A run an interrupted export left without its completion mark is neither imported nor kept:
    the next export deletes it and writes the run whole."""
    import mlnb
    from mlnb._mlflow_http import MlflowClient

    with mlnb.start_run("whole", params={"a": 1}) as run:
        run.log_metrics({"m": 1.0}, step=0)
    client = MlflowClient(mlflow_uri)
    exp = client.experiment_id("half", create=True)
    half = client.call("POST", "runs/create", {"experiment_id": exp, "tags": [
        {"key": "mlnb.id", "value": json.dumps("feedfacecafe")}]})["run"]["info"]["run_id"]
    client.call("POST", "runs/update", {"run_id": half, "status": "FINISHED", "end_time": 1})

    seen = mlnb.runs.import_mlflow(mlflow_uri, experiments=["half"])
    assert seen["imported"] == 0 and seen["still running (not imported)"] == 1  # not taken for a run
    out = mlnb.runs.export_mlflow(mlflow_uri, experiment="half")
    assert out["exported"] == 1
    active = list(client.pages("POST", "runs/search", "runs", {"experiment_ids": [exp]}))
    assert len(active) == 1 and active[0]["info"]["run_id"] != half
    tags = {t["key"]: t["value"] for t in active[0]["data"]["tags"]}
    assert tags["mlnb.export"] == "complete" and json.loads(tags["mlnb.id"]) == run.id
    client.close()


def test_a_killed_import_leaves_whole_runs(project, mlflow_uri):
    """SIGKILL an import once it has written some runs: every run in the registry then has all its
    points and params, and importing again completes the rest."""
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    from mlnb._mlflow_http import MlflowClient
    from tests.conftest import ROOT
    from tests.faults._harness import trials

    client = MlflowClient(mlflow_uri)
    exp = client.experiment_id("many", create=True)
    count, points = 30, 300
    for i in range(count):
        rid = client.call("POST", "runs/create", {"experiment_id": exp, "run_name": f"r{i}"})["run"]["info"]["run_id"]
        metrics = [{"key": k, "value": s / 7, "timestamp": 1000 + s, "step": s} for s in range(points // 2)
                   for k in ("a", "b")]
        client.call("POST", "runs/log-batch", {"run_id": rid, "metrics": metrics,
                                               "params": [{"key": "i", "value": str(i)}]})
        client.call("POST", "runs/update", {"run_id": rid, "status": "FINISHED", "end_time": 5000})
    client.close()
    db = project.mlnb_dir / "registry.db"

    def counts():
        with sqlite3.connect(db) as conn:
            runs = conn.execute("select count(*) from runs").fetchone()[0]
            bad = conn.execute("select count(*) from runs r where (select count(*) from run_metrics m "
                               f"where m.run_id = r.id) != {points} or (select count(*) from run_params p "
                               "where p.run_id = r.id) != 1").fetchone()[0]
        return runs, bad

    landed = 0
    n = trials(quick=2)
    for _ in range(n):
        with sqlite3.connect(db) as conn:
            conn.execute("delete from run_metrics"), conn.execute("delete from run_latest")
            conn.execute("delete from run_params"), conn.execute("delete from run_tags")
            conn.execute("delete from runs")
        child = subprocess.Popen([sys.executable, "-m", "mlnb", "runs", "import", "--mlflow", mlflow_uri,
                                  "--experiment", "many"], cwd=project.root, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while counts()[0] < 1 and child.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()
        done, bad = counts()
        landed += 0 < done < count
        assert bad == 0, f"{bad} of {done} runs were left incomplete by a kill"
        proc = run_cli("runs", "import", "--mlflow", mlflow_uri, "--experiment", "many", cwd=project.root)
        assert proc.returncode == 0, proc.stderr
        assert counts() == (count, 0)
    print(f"SIGKILL landed mid-import in {landed} of {n} trials")
    assert landed >= (n + 1) // 2, f"the kill landed mid-import in {landed} of {n} trials"
