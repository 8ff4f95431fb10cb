"""`mlnb demo --no-lab`: the headless main job, and a demo that never writes into the user's folders."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.conftest import run_cli
from tests.faults._harness import assert_one_line_error, snapshot


def demo_contents(target) -> tuple[list[str], list[str]]:
    versions = json.loads(run_cli("data", "log", "customers", "--json", cwd=target / "project", check=True).stdout)
    runs = json.loads(run_cli("runs", "list", "--json", cwd=target / "project", check=True).stdout)
    return [d["message"] for d in versions], sorted(r["name"] for r in runs)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    target = tmp_path_factory.mktemp("d") / "demo"
    out = run_cli("demo", str(target), "--no-lab", check=True)
    assert "mlnb demo project" in out.stdout and "reopened" not in out.stdout
    return target


def test_demo_seeds_a_project_with_data_and_runs(demo):
    messages, names = demo_contents(demo)
    assert messages == ["drop the over-75s", "raw export"]
    assert names == ["tree-depth-2", "tree-depth-4", "tree-depth-8"]
    runs = json.loads(run_cli("runs", "list", "--json", cwd=demo / "project", check=True).stdout)
    assert all(r["status"] == "finished" and "auc" in r["metrics"] and r["experiment"] == "churn-trees" for r in runs)
    assert sorted(p.name for p in (demo / "project").glob("*.ipynb"))[:1] == ["01-data-versioning.ipynb"]
    assert sum(bool(r["note"]) for r in runs) == 1  # the best run says so


def test_demo_runs_record_their_real_code_and_time(demo):
    """Each run records the training script that made it (not the `mlnb` launcher) and the time it
    took to train: a boosted model per depth, its validation loss at each of its stages."""
    project = demo / "project"
    for run in json.loads(run_cli("runs", "list", "--json", cwd=project, check=True).stdout):
        record = json.loads(run_cli("runs", "show", run["id"], "--json", cwd=project, check=True).stdout)
        assert record["notebook"] == str((project / "train.py").resolve())
        assert record["code"] == (project / "train.py").read_text() and "GradientBoostingClassifier" in record["code"]
        assert record["duration"] > 0.02, record["duration"]  # a fit, not an empty block
        assert len(record["history"]["val_loss"]["step"]) == 20 and record["inputs"][0]["ref"] == "customers@2"


def test_example_notebooks_work_in_the_demo_project(demo):
    """In the demo project the notebooks' first cell keeps them there (their `../remote` is the
    demo's remote, as in their own throw-away folders); anywhere else they go to a throw-away one."""
    import subprocess
    import sys

    check = "import mlnb, os; print(mlnb.in_demo_project(), os.getcwd())"
    out = subprocess.run([sys.executable, "-c", check], cwd=demo / "project", capture_output=True, text=True)
    assert out.stdout.split() == ["True", str((demo / "project").resolve())], out.stderr
    out = subprocess.run([sys.executable, "-c", check], cwd=demo.parent, capture_output=True, text=True)
    assert out.stdout.split()[0] == "False"
    from mlnb._project import Project

    project = Project(demo / "project")
    try:
        conf = project.dvc.config
        assert conf["remote"][conf["core"]["remote"]]["url"] == str((demo / "project" / ".." / "remote").resolve())
    finally:
        project.close()


def test_the_readme_command_twice_reopens_the_demo_as_it_is(demo):
    (demo / "customers-notes.txt").write_text("the user worked here")  # the demo is the user's to play in
    before = snapshot(demo)
    out = run_cli("demo", str(demo), "--no-lab", check=True)
    assert "made earlier, reopened as it is" in out.stdout
    assert snapshot(demo) == before  # nothing added twice, nothing overwritten


def test_an_interrupted_demo_is_finished_without_duplicates(demo):
    (demo / "project/.mlnb/demo.json").write_text('{"state": "seeding"}')  # as if killed before the end
    out = run_cli("demo", str(demo), "--no-lab", check=True)
    assert "reopened" not in out.stdout
    assert demo_contents(demo) == (["drop the over-75s", "raw export"], ["tree-depth-2", "tree-depth-4", "tree-depth-8"])
    assert json.loads((demo / "project/.mlnb/demo.json").read_text()) == {"state": "complete"}


def test_demo_refuses_a_folder_that_is_not_its_own(tmp_path):
    """A user's project (with its own `customers`), a folder with files, a file, a folder inside
    a project: one line, exit 2, nothing written."""
    user = tmp_path / "user"
    run_cli("init", str(user), check=True)
    pd.DataFrame({"x": [1]}).to_parquet(user / "customers.parquet")
    run_cli("data", "add", "customers.parquet", cwd=user, check=True)
    stuff = tmp_path / "stuff"
    stuff.mkdir()
    (stuff / "thesis.tex").write_text("mine")
    (tmp_path / "a-file").write_text("mine")
    cases = {
        user: "is not a demo project",
        stuff: "is not empty",
        tmp_path / "a-file": "is a file",
        user / "sub": "is inside the mlnb project at",
    }
    for target, words in cases.items():
        before = snapshot(tmp_path), snapshot(user)  # the second: the user's registry rows and git too
        line = assert_one_line_error(run_cli("demo", str(target), "--no-lab"), 2)
        assert words in line and "new or empty folder" in line, line
        assert (snapshot(tmp_path), snapshot(user)) == before, target


def test_a_demo_an_earlier_mlnb_made_is_reopened_in_place(tmp_path):
    """Earlier versions put the demo project in the folder itself (no project/ and remote/):
    `mlnb demo` on it reopens it as it is instead of refusing it as somebody else's project."""
    old = tmp_path / "old-demo"
    run_cli("init", str(old), check=True)
    (old / ".mlnb" / "demo.json").write_text('{"state": "complete"}\n')
    before = snapshot(old)
    out = run_cli("demo", str(old), "--no-lab", check=True)
    assert str(old.resolve()) in out.stdout and "made earlier, reopened as it is" in out.stdout
    assert snapshot(old) == before and not (old / "project").exists()
