"""Curating runs: rename, note, experiment, soft delete / restore, archive — recorded, and hidden
from listings by lifecycle — on SQLite and PostgreSQL, through the API and the CLI."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

import mlnb
from mlnb.errors import NotFound, UsageError
from mlnb.runs._query_fast import RUNS_SCHEMA
from mlnb.store import registry
from mlnb.store._schema import CURATION_SCHEMA, run_events, runs
from tests.conftest import run_cli
from tests.faults._harness import assert_one_line_error, snapshot


@pytest.fixture
def project(backend_project):  # type: ignore[no-untyped-def]
    return backend_project


def _three() -> list[str]:
    ids = []
    for n, experiment in enumerate(("trees", "trees", None)):
        with mlnb.start_run(f"r{n}", params={"n": n}, experiment=experiment) as run:
            run.log_metric("acc", n / 10)
        ids.append(run.id)
    return ids


def test_experiment_groups_runs_and_filters_the_listing(project):
    a, b, c = _three()
    assert set(mlnb.runs.list(experiment="trees").ids) == {a, b}
    assert mlnb.runs.list("experiment = 'trees' and params.n > 0").ids == [b]
    listing = mlnb.runs.list()
    assert "experiment" in listing.columns and listing.to_dict()[2]["experiment"] == "trees"
    assert mlnb.runs.get(c).experiment is None
    mlnb.runs.set_experiment(c, "linear")
    assert mlnb.runs.list(experiment="linear").ids == [c]


def test_rename_and_note_are_recorded_with_who_and_when(project):
    a, _, _ = _three()
    mlnb.runs.rename(a[:6], "baseline")
    mlnb.runs.note(a, "lr too high")
    record = mlnb.runs.get(a)
    assert record.name == "baseline" and record.note == "lr too high"
    events = mlnb.runs.history(a).to_dict()
    assert [(e["action"], e["before"], e["after"]) for e in events] == [
        ("rename", "r0", "baseline"), ("note", None, "lr too high")]
    assert all(e["user"] and e["host"] and e["time"] > 0 for e in events)
    mlnb.runs.rename(a, "baseline")  # unchanged: nothing written
    assert len(mlnb.runs.history(a)) == 2
    mlnb.runs.note(a, "")
    assert mlnb.runs.get(a).note is None


def test_delete_hides_keeps_and_restore_brings_back(project):
    a, b, c = _three()
    mlnb.runs.delete([a, b])
    assert mlnb.runs.list().ids == [c]
    assert set(mlnb.runs.list(lifecycle="deleted").ids) == {a, b}
    assert set(mlnb.runs.list(lifecycle="all").ids) == {a, b, c}
    assert mlnb.runs.get(a).lifecycle == "deleted"  # still readable by id, nothing removed
    assert len(mlnb.runs.get(a).history["acc"]["step"]) == 1
    mlnb.runs.restore(a)
    assert set(mlnb.runs.list().ids) == {a, c}
    assert [e["action"] for e in mlnb.runs.history(a).to_dict()] == ["delete", "restore"]


def test_archive_is_hidden_but_distinct_from_deleted(project):
    a, b, c = _three()
    mlnb.runs.archive(a)
    mlnb.runs.delete(b)
    assert mlnb.runs.list().ids == [c]
    assert mlnb.runs.list(lifecycle="archived").ids == [a]
    assert mlnb.runs.list(lifecycle="deleted").ids == [b]
    with pytest.raises(UsageError, match="is deleted: `mlnb runs restore"):
        mlnb.runs.archive(b)
    mlnb.runs.restore(a)
    assert mlnb.runs.get(a).lifecycle == "active"


def test_bad_input_is_refused_and_changes_nothing(project):
    a, _, _ = _three()
    before = snapshot(project.root)
    with pytest.raises(NotFound, match="no run 'feedbeef'"):
        mlnb.runs.rename("feedbeef", "x")
    for call in (lambda: mlnb.runs.rename(a, ""), lambda: mlnb.runs.rename(a, " "),
                 lambda: mlnb.runs.set_experiment(a, "x" * 300), lambda: mlnb.runs.note(a, 3),
                 lambda: mlnb.runs.delete([]), lambda: mlnb.runs.list(lifecycle="gone"),
                 lambda: mlnb.start_run("x", experiment="")):
        with pytest.raises(UsageError):
            call()
    with pytest.raises(NotFound):  # one unknown id in a batch: none of the batch is deleted
        mlnb.runs.delete([a, "feedbeef"])
    assert snapshot(project.root) == before


def test_cli_verbs_and_one_line_errors(project):
    a, b, _ = _three()
    root = project.root
    out = run_cli("runs", "rename", a, "renamed", "--json", cwd=root, check=True)
    assert json.loads(out.stdout)["name"] == "renamed"
    run_cli("runs", "note", a, "a note", cwd=root, check=True)
    run_cli("runs", "delete", a, b, cwd=root, check=True)
    listed = json.loads(run_cli("runs", "list", "--json", cwd=root, check=True).stdout)
    assert a not in {r["id"] for r in listed} and all(r["lifecycle"] == "active" for r in listed)
    deleted = json.loads(run_cli("runs", "list", "--deleted", "--json", cwd=root, check=True).stdout)
    assert {r["id"] for r in deleted} == {a, b}
    run_cli("runs", "restore", a, cwd=root, check=True)
    run_cli("runs", "archive", a, cwd=root, check=True)
    archived = json.loads(run_cli("runs", "list", "--archived", "--json", cwd=root, check=True).stdout)
    assert [(r["id"], r["note"]) for r in archived] == [(a, "a note")]
    trees = json.loads(run_cli("runs", "list", "--all", "--experiment", "trees", "--json", cwd=root, check=True).stdout)
    assert {r["id"] for r in trees} == {a, b}
    history = json.loads(run_cli("runs", "history", a, "--json", cwd=root, check=True).stdout)
    assert [e["action"] for e in history] == ["rename", "note", "delete", "restore", "archive"]
    before = snapshot(root)
    assert "no run 'feedbeef'" in assert_one_line_error(run_cli("runs", "rename", "feedbeef", "x", cwd=root), 3)
    assert "invalid run name ''" in assert_one_line_error(run_cli("runs", "rename", a, "", cwd=root), 2)
    assert_one_line_error(run_cli("runs", "list", "--deleted", "--all", cwd=root), 2)
    assert snapshot(root) == before


def test_an_older_registry_is_migrated_with_its_runs_active(project):
    """A registry made before migration 7: its runs gain the columns, active, and list as before."""
    a, _, _ = _three()
    with registry(project).write() as conn:
        conn.execute(text("DROP INDEX ix_runs_lifecycle_started"))
        conn.execute(text("DROP INDEX ix_runs_experiment_started"))
        conn.execute(text("DROP TABLE run_events"))
        for column in ("experiment", "note", "lifecycle"):
            conn.execute(text(f"ALTER TABLE runs DROP COLUMN {column}"))
        conn.execute(text("UPDATE mlnb_meta SET value = '6' WHERE key = 'schema_version'"))
    project.close()
    listed = json.loads(run_cli("runs", "list", "--json", cwd=project.root, check=True).stdout)
    assert len(listed) == 3 and {r["lifecycle"] for r in listed} == {"active"} and {r["experiment"] for r in listed} == {None}
    run_cli("runs", "delete", a, cwd=project.root, check=True)
    with registry(project).read() as conn:
        assert conn.execute(select(runs.c.lifecycle).where(runs.c.id == a)).scalar() == "deleted"
        assert conn.execute(select(run_events.c.action)).scalars().all() == ["delete"]


def test_fast_listing_knows_the_curation_schema():
    assert RUNS_SCHEMA == CURATION_SCHEMA


def test_magic_experiment(project, ipython):
    ipython.run_cell("%%mlops run cell-run --experiment magic\nx = 1", store_history=False)
    assert [r["name"] for r in mlnb.runs.list(experiment="magic").to_dict()] == ["cell-run"]
