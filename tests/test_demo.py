"""`mlnb demo --no-lab`: the headless main job, and a demo that never writes into the user's folders."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.conftest import run_cli
from tests.faults._harness import assert_one_line_error, snapshot


def demo_contents(target) -> tuple[list[str], list[str]]:
    versions = json.loads(run_cli("data", "log", "customers", "--json", cwd=target, check=True).stdout)
    runs = json.loads(run_cli("runs", "list", "--json", cwd=target, check=True).stdout)
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
    runs = json.loads(run_cli("runs", "list", "--json", cwd=demo, check=True).stdout)
    assert all(r["status"] == "finished" and "accuracy" in r["metrics"] for r in runs)
    assert sorted(p.name for p in demo.glob("*.ipynb"))[:1] == ["01-data-versioning.ipynb"]


def test_the_readme_command_twice_reopens_the_demo_as_it_is(demo):
    (demo / "customers-notes.txt").write_text("the user worked here")  # the demo is the user's to play in
    before = snapshot(demo)
    out = run_cli("demo", str(demo), "--no-lab", check=True)
    assert "made earlier, reopened as it is" in out.stdout
    assert snapshot(demo) == before  # nothing added twice, nothing overwritten


def test_an_interrupted_demo_is_finished_without_duplicates(demo):
    (demo / ".mlnb/demo.json").write_text('{"state": "seeding"}')  # as if killed before the end
    out = run_cli("demo", str(demo), "--no-lab", check=True)
    assert "reopened" not in out.stdout
    assert demo_contents(demo) == (["drop the over-75s", "raw export"], ["tree-depth-2", "tree-depth-4", "tree-depth-8"])
    assert json.loads((demo / ".mlnb/demo.json").read_text()) == {"state": "complete"}


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
