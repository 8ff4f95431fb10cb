"""The run API against a real registry: what is captured, statuses, errors, buffering, lineage."""

from __future__ import annotations

import math
import platform
import sys
import time

import pandas as pd
import pytest
from sqlalchemy import func, select

import mlnb
from mlnb.errors import NotFound, UsageError
from mlnb.store import registry
from mlnb.store._schema import run_metrics


@pytest.fixture
def project(backend_project):  # type: ignore[no-untyped-def]
    """Every test in this module runs on SQLite and again on PostgreSQL (registry-level tests)."""
    return backend_project


def _count_points(project, run_id: str) -> int:
    with registry(project).read() as conn:
        return conn.execute(select(func.count()).select_from(run_metrics).where(run_metrics.c.run_id == run_id)).scalar()


def test_a_run_records_params_metrics_steps_and_context(backend_project, tmp_path):
    before = time.time()
    with mlnb.start_run("baseline", params={"lr": 0.1, "depth": 6, "optimizer": "adam"}, tags=["churn"]) as run:
        assert mlnb.active_run() is run and run.status == "running"
        for epoch, loss in enumerate([0.9, 0.5, 0.25]):
            mlnb.log_metric("loss", loss, step=epoch)
        run.log_metric("accuracy", 0.91)
        run.log_metric("accuracy", 0.93)  # auto step 1: latest wins
        run.log_metric("nan_metric", float("nan"))
        run.log_metric("pos_inf", float("inf"))
        run.log_metric("neg_inf", -math.inf)
        mlnb.log_param("seed", 7)
    assert mlnb.active_run() is None and run.status == "finished"
    after = time.time()
    rec = mlnb.runs.get(run.id)
    assert rec.name == "baseline" and rec.status == "finished" and rec.error is None
    assert rec.params == {"lr": 0.1, "depth": 6, "optimizer": "adam", "seed": 7}
    assert rec.tags == ["churn"]
    assert rec.metrics["accuracy"] == 0.93 and rec.metrics["loss"] == 0.25
    assert rec.history["loss"] == {"step": [0, 1, 2], "value": [0.9, 0.5, 0.25]}
    assert rec.history["accuracy"]["step"] == [0, 1]
    assert math.isnan(rec.metrics["nan_metric"])
    assert rec.metrics["pos_inf"] == math.inf and rec.metrics["neg_inf"] == -math.inf
    assert before <= rec.started_at <= rec.ended_at <= after
    assert rec.duration == pytest.approx(rec.ended_at - rec.started_at)
    assert rec.environment["python"] == platform.python_version() and rec.environment["executable"] == sys.executable
    # the versions of the key packages this process had imported
    assert rec.environment["packages"]["pandas"] == pd.__version__
    assert rec.environment["packages"]["mlnb"] == mlnb.__version__
    assert rec.git_dirty is True  # a fresh project has staged, uncommitted files
    assert len(run.id) == 12 and mlnb.runs.get(run.id[:6]).id == run.id


def test_git_commit_and_dirty_state_are_captured(project):
    from mlnb.runs import _capture
    from tests.conftest import git

    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", "init")
    _capture._git_cache.clear()
    with mlnb.start_run("clean") as clean:
        pass
    (project.root / ".dvcignore").write_text("# changed\n")  # a tracked file changes
    _capture._git_cache.clear()
    with mlnb.start_run("dirty") as dirty:
        pass
    head = git(project.root, "rev-parse", "HEAD")
    assert mlnb.runs.get(clean.id).git_commit == head and mlnb.runs.get(clean.id).git_dirty is False
    assert mlnb.runs.get(dirty.id).git_commit == head and mlnb.runs.get(dirty.id).git_dirty is True


def test_secret_like_params_are_redacted(project):
    with mlnb.start_run("s", params={"api_key": "sk-123", "hfToken": "abc", "db_password": "pw", "lr": 0.1}) as run:
        run.log_param("AWS_SECRET_ACCESS_KEY", "x")
        run.log_param("num_tokens", 512)  # not a secret: a count of tokens
    params = mlnb.runs.get(run.id).params
    assert params["api_key"] == params["hfToken"] == params["db_password"] == params["AWS_SECRET_ACCESS_KEY"]
    assert params["api_key"] == "***redacted***"
    assert params["lr"] == 0.1 and params["num_tokens"] == 512
    assert "sk-123" not in mlnb.runs.get(run.id).to_json()


def test_failed_and_interrupted_runs_keep_what_was_logged(project):
    with pytest.raises(ValueError, match="boom"):
        with mlnb.start_run("fails") as failed:
            mlnb.log_metric("partial", 1.0)
            raise ValueError("boom")
    with pytest.raises(KeyboardInterrupt):
        with mlnb.start_run("stopped") as stopped:
            raise KeyboardInterrupt
    rec = mlnb.runs.get(failed.id)
    assert rec.status == "failed" and rec.error == "ValueError: boom" and rec.metrics == {"partial": 1.0}
    assert mlnb.runs.get(stopped.id).status == "interrupted"


def test_run_without_with_and_nested_runs(project):
    outer = mlnb.start_run("outer")
    inner = mlnb.start_run("inner")
    mlnb.log_metric("m", 1)  # goes to the innermost run
    inner.end()
    assert mlnb.active_run() is outer
    outer.end()
    assert mlnb.runs.get(inner.id).parent_id == outer.id
    assert mlnb.runs.get(outer.id).children == [inner.id]
    assert mlnb.runs.get(inner.id).metrics == {"m": 1.0} and mlnb.runs.get(outer.id).metrics == {}
    with pytest.raises(UsageError, match="has ended"):
        outer.log_metric("late", 1)


def test_errors_are_one_clear_line(project):
    for call in (lambda: mlnb.log_metric("x", 1), lambda: mlnb.log_param("x", 1), lambda: mlnb.log_artifact("f")):
        with pytest.raises(UsageError, match="needs an active run") as info:
            call()
        assert "\n" not in str(info.value)
    with mlnb.start_run("bad input") as run:
        run.log_metric("ok", 1.0)
        with pytest.raises(UsageError, match=r"metric 'acc' must be a number, got 'high' \(str\)"):
            run.log_metric("acc", "high")
        with pytest.raises(UsageError, match="must be a number"):
            run.log_metric("acc", None)
        with pytest.raises(UsageError, match="invalid metric name"):
            run.log_metric("", 1.0)
        with pytest.raises(NotFound, match="is not a file"):
            run.log_artifact("missing.png")
        run.log_metric("after", 2.0)  # the run goes on
    assert mlnb.runs.get(run.id).metrics == {"after": 2.0, "ok": 1.0}
    with pytest.raises(NotFound, match="no run 'deadbeef0000'"):
        mlnb.runs.get("deadbeef0000")
    with pytest.raises(UsageError, match="at least two"):
        mlnb.runs.compare([run.id])


def test_metrics_are_buffered_and_written_in_batches(project):
    with mlnb.start_run("buffered") as run:
        for i in range(100):
            run.log_metric("loss", 1 / (i + 1))
        assert _count_points(project, run.id) == 0  # nothing written per call
        run.flush()
        assert _count_points(project, run.id) == 100
        run.log_metric("loss", 0.001)
    assert _count_points(project, run.id) == 101


def test_buffer_flushes_itself_when_full(project, monkeypatch):
    from mlnb.runs import _run

    monkeypatch.setattr(_run, "FLUSH_POINTS", 10)
    with mlnb.start_run("big") as run:
        for i in range(25):
            run.log_metric("x", i)
        assert _count_points(project, run.id) == 20
    assert _count_points(project, run.id) == 25


def test_lineage_both_ways_and_artifacts(project):
    df = pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]})
    mlnb.data.save(df, "train")
    mlnb.data.save(df.assign(x=[4, 5, 6]), "train")
    (project.root / "reports").mkdir()
    (project.root / "reports" / "confusion.png").write_bytes(b"not really a png")
    with mlnb.start_run("uses train@1") as run:
        frame = mlnb.data.load("train@1")
        mlnb.data.load("train@1")  # twice, recorded once
        mlnb.data.save(frame.assign(p=[0.1, 0.2, 0.3]), "predictions")
        art = mlnb.log_artifact("reports/confusion.png")
    with mlnb.start_run("uses train@2"):
        mlnb.data.load("train@2")
    rec = mlnb.runs.get(run.id)
    assert [d["ref"] for d in rec.inputs] == ["train@1"]
    assert [d["ref"] for d in rec.outputs] == ["predictions@1"]
    assert rec.artifacts == [{"path": "reports/confusion.png", "md5": art["md5"], "size": 16, "data_version_id": None}]
    users = mlnb.runs.lineage("train@1")
    assert users.ids == [run.id] and users.rows[0]["used_as"] == "read"
    assert mlnb.runs.lineage("predictions@1").rows[0]["used_as"] == "wrote"
    assert mlnb.runs.lineage(run.id).id == run.id == mlnb.runs.lineage(run).id == mlnb.runs.get(rec).id
    (chart,) = [c for c in rec.charts()]
    labels = {n["label"] for n in chart.to_dict()["layer"][1]["data"]["values"]}
    assert labels == {"train@1", "uses train@1", "predictions@1", "reports/confusion.png"}
    with pytest.raises(NotFound, match="neither a run id nor a data version"):
        mlnb.runs.lineage("nothing@1")


def test_versioned_artifact_becomes_an_output(project):
    (project.root / "model.bin").write_bytes(b"\x00\x01")
    with mlnb.start_run("train") as run:
        run.log_artifact("model.bin", version=True)
    rec = mlnb.runs.get(run.id)
    assert [d["ref"] for d in rec.outputs] == ["model@1"]
    assert rec.artifacts[0]["data_version_id"] == rec.outputs[0]["id"]


def test_export_then_import_into_another_registry(backend_project, tmp_path, monkeypatch):
    with mlnb.start_run("a", params={"lr": 0.1}, tags=["t"]) as a:
        for i in range(3):
            a.log_metric("loss", [0.5, float("nan"), float("inf")][i])
    with mlnb.start_run("b"):
        pass
    out = mlnb.runs.export(tmp_path / "runs.jsonl")
    assert out["runs"] == 2
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.delenv("MLNB_REGISTRY_URL", raising=False)
    monkeypatch.chdir(other)
    mlnb.init()
    first = mlnb.runs.import_(tmp_path / "runs.jsonl")
    again = mlnb.runs.import_(tmp_path / "runs.jsonl")
    assert (first["imported"], first["skipped"], again["imported"], again["skipped"]) == (2, 0, 0, 2)
    rec = mlnb.runs.get(a.id)
    assert rec.params == {"lr": 0.1} and rec.tags == ["t"] and rec.status == "finished"
    assert rec.history["loss"]["value"][0] == 0.5 and math.isnan(rec.history["loss"]["value"][1])
    assert rec.metrics["loss"] == math.inf
    (tmp_path / "bad.jsonl").write_text('{"format": "mlnb.run/1", "id": "x"}\nnot json\n')
    with pytest.raises(UsageError, match="line 2 is not JSON"):
        mlnb.runs.import_(tmp_path / "bad.jsonl")
    assert len(mlnb.runs.list()) == 2  # nothing of the bad file was imported


def test_display_escapes_user_text(project):
    evil = "<img src=x onerror=alert(1)>"
    with mlnb.start_run(evil, params={"note": evil}, tags=["<b>t</b>"], code="print('<script>')") as run:
        run.log_metric("m", 1)
    table_html = mlnb.runs.list()._repr_html_()
    record_html = mlnb.runs.get(run.id)._repr_html_()
    for page in (table_html, record_html):
        assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
        assert "<b>t</b>" not in page
    assert "<script>" not in record_html and "&lt;script&gt;" in record_html
    with mlnb.start_run("other"):
        pass
    assert "<img" not in mlnb.runs.compare([run.id, mlnb.runs.list().ids[0]])._repr_html_()


def test_table_and_frame_shapes(project):
    with mlnb.start_run("a", params={"lr": 0.1}, tags=["x"]) as a:
        a.log_metric("acc", 0.8)
    table = mlnb.runs.list()
    assert sorted(table[0]) == ["duration", "ended_at", "error", "experiment", "heartbeat_at", "id", "lifecycle",
                                "metrics", "name", "note", "params", "started_at", "status", "tags"]
    assert table[0]["params"] == {"lr": 0.1} and table[0]["metrics"] == {"acc": 0.8} and table[0]["tags"] == ["x"]
    frame = table.to_frame()
    assert frame.loc[0, "metrics.acc"] == 0.8 and frame.loc[0, "params.lr"] == 0.1
    assert "a" in str(table) and a.id in str(table)


def test_a_secret_param_is_taken_out_of_the_captured_code_wherever_it_appears(project):
    """The captured code uses both secrets again outside any assignment to a secret-looking name."""
    code = ('run = mlnb.start_run("s", params={"service_token": TOKEN, "lr": 0.1})\n'
            'client = Client("tok-9f8e7d6c", password="hunter2hunter2")\n'
            'print("tok-9f8e7d6c", "hunter2hunter2")\n')
    with mlnb.start_run("s", params={"service_token": "tok-9f8e7d6c", "lr": 0.1}, code=code) as run:
        assert "tok-9f8e7d6c" not in mlnb.runs.get(run.id).code  # taken out when the run started
        run.log_param("db_password", "hunter2hunter2")
    kept = mlnb.runs.get(run.id).code
    assert "tok-9f8e7d6c" not in kept and "hunter2hunter2" not in kept
    assert kept == code.replace("tok-9f8e7d6c", "***redacted***").replace("hunter2hunter2", "***redacted***")
