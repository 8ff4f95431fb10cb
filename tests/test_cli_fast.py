"""The CLI's fast paths (docs/cli.md, "Start-up"): `mlnb data list` and `mlnb runs list` read a
SQLite registry with the standard library in a fresh process. They must print byte for byte what
the full path prints, import none of the heavy libraries, and hand over to the full path whenever
they cannot answer alone."""

from __future__ import annotations

import json
import os
import math
import shutil
import subprocess
import sys

import pandas as pd
import pytest

import mlnb
from mlnb.data._list_fast import list_datasets_fast
from mlnb.runs._query_fast import list_runs_fast

from .conftest import ROOT

#: run a verb through mlnb.cli.main in a fresh process; report on stderr what it imported
_CHILD = """
import sys
from mlnb.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("sqlalchemy", "pandas", "dvc", "pyarrow", "nbformat") if m in sys.modules)
print("IMPORTED=" + ",".join(heavy), file=sys.stderr)
sys.exit(code)
"""

HEAVY = ("sqlalchemy", "pandas", "dvc", "pyarrow")


def child(*args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    proc = subprocess.run([sys.executable, "-c", _CHILD, *args], capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    imported = next((line[len("IMPORTED="):] for line in proc.stderr.splitlines() if line.startswith("IMPORTED=")), "")
    return proc, [m for m in imported.split(",") if m]


def slow(args: list[str]) -> str:
    """What the full path prints for a listing, in this process (which has SQLAlchemy loaded)."""
    if args[0] == "data":
        table = mlnb.data.list_datasets()
    else:
        table = mlnb.runs.list()
    return (table.to_json() if "--json" in args else str(table)) + "\n"


@pytest.fixture
def filled(project):
    """Two datasets, three runs with params, NaN/inf metrics and tags."""
    mlnb.data.save(pd.DataFrame({"a": [1, 2, 3]}), "train")
    mlnb.data.save(pd.DataFrame({"a": [1, 2, 4]}), "train")
    mlnb.data.save(pd.DataFrame({"b": [0.5]}), "holdout")
    for i, metrics in enumerate([{"acc": 0.9}, {"acc": math.nan, "loss": math.inf}, {}]):
        with mlnb.start_run(f"r{i}", params={"lr": 0.1 * i, "kind": "x y"}, tags=[f"t{i}", "all"]) as run:
            run.log_metrics(metrics)
    return project


@pytest.mark.parametrize("args", [["data", "list"], ["data", "list", "--json"],
                                  ["runs", "list"], ["runs", "list", "--json"], ["runs"]])
def test_fast_listing_is_byte_identical_and_light(filled, args):
    proc, imported = child(*args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == slow(args)
    assert not set(imported) & set(HEAVY), imported


def test_empty_registry_lists_identically(project):
    for args in (["data", "list"], ["runs", "list"], ["runs", "list", "--json"]):
        proc, imported = child(*args)
        assert (proc.returncode, proc.stdout) == (0, slow(args))
        assert not set(imported) & set(HEAVY)
    assert list_runs_fast() is not None and list_datasets_fast() is not None


def test_paging_matches_the_full_path(filled):
    for limit, offset in ((1, 0), (2, 1), (5, 2), (0, 0)):
        fast = list_runs_fast(limit=limit, offset=offset)
        assert fast is not None
        assert fast.to_json() == mlnb.runs.list(limit=limit, offset=offset).to_json()


def test_what_the_fast_path_leaves_to_the_full_path(filled, monkeypatch):
    # a filter or a sort: the SQL compiler of the full path
    assert list_runs_fast(filter="metrics.acc > 0.5") is None
    assert list_runs_fast(sort="name") is None
    assert list_runs_fast(limit=-1) is None  # the full path says what is wrong
    proc, _ = child("runs", "list", "--limit", "-1")
    assert proc.returncode == 2 and "invalid limit" in proc.stderr
    # a filtered listing in a child goes the full way and still answers
    proc, imported = child("runs", "list", "--filter", "metrics.acc > 0.5")
    assert proc.returncode == 0 and "r0" in proc.stdout and "r1" not in proc.stdout and "sqlalchemy" in imported
    # a registry that is not a SQLite file
    monkeypatch.setenv("MLNB_REGISTRY_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert list_runs_fast() is None and list_datasets_fast() is None


def test_a_running_run_goes_the_full_way_and_is_reaped(filled):
    """A run marked running may belong to a dead process: only the full path looks and marks it."""
    run = mlnb.start_run("alive")
    try:
        assert list_runs_fast() is None
        proc, imported = child("runs", "list", "--json")
        assert proc.returncode == 0 and "sqlalchemy" in imported
        assert [r["status"] for r in json.loads(proc.stdout) if r["name"] == "alive"] == ["running"]
    finally:
        run.end()


def test_a_damaged_registry_is_the_same_error(project):
    registry = project.mlnb_dir / "registry.db"
    registry.write_bytes(b"not a database at all" * 10)
    for args in (["data", "list"], ["runs", "list"]):
        proc, imported = child(*args)
        assert proc.returncode == 3, proc.stderr
        lines = [line for line in proc.stderr.splitlines() if not line.startswith("IMPORTED=")]
        assert lines == [f"mlnb: error: the registry {registry} is not a SQLite database: restore it from a "
                         f"backup (or try `sqlite3 {registry} .recover`); to start an empty registry instead, "
                         "move it away and run `mlnb init`"]
        assert "sqlalchemy" not in imported


def test_unchanged_readd_answers_from_the_stamp_and_a_change_goes_the_full_way(project):
    data = project.root / "t.csv"
    data.write_text("a,b\n1,2\n3,4\n")
    first, imported = child("data", "add", "t.csv")
    assert first.returncode == 0 and "dvc" in imported  # the first add hashes and tracks
    again, imported = child("data", "add", "t.csv")
    assert (again.returncode, again.stdout) == (0, first.stdout) and not set(imported) & set(HEAVY)
    assert str(mlnb.data.resolve("t@1")) + "\n" == again.stdout
    named, imported = child("data", "add", "t.csv", "--name", "t")
    assert named.stdout == first.stdout and "dvc" not in imported

    # same bytes, new mtime: the full path looks (DVC hashes), finds the same version, stamps again
    os.utime(data, ns=(data.stat().st_atime_ns, data.stat().st_mtime_ns + 10**9))
    touched, imported = child("data", "add", "t.csv")
    assert touched.stdout == first.stdout and "dvc" in imported
    assert child("data", "add", "t.csv")[1] == []

    # changed content: the full add registers version 2
    data.write_text("a,b\n1,2\n3,5\n")
    changed, imported = child("data", "add", "t.csv")
    assert changed.returncode == 0 and "dvc" in imported and "version     2" in changed.stdout
    assert child("data", "add", "t.csv")[0].stdout == changed.stdout


def test_what_the_fast_add_leaves_to_the_full_path(project):
    data = project.root / "t.csv"
    data.write_text("a\n1\n")
    assert child("data", "add", "t.csv")[0].returncode == 0
    # another name: the full path refuses, with its own message
    proc, imported = child("data", "add", "t.csv", "--name", "other")
    assert proc.returncode == 2 and "t.csv is already dataset 't'" in proc.stderr and "sqlalchemy" in imported
    # an interrupted write waits to be undone: the full path recovers first
    journal = project.root / ".mlnb" / "tmp" / "data-write"
    journal.mkdir(parents=True)
    proc, imported = child("data", "add", "t.csv")
    assert proc.returncode == 0 and "sqlalchemy" in imported and not journal.exists()
    # the .dvc file points elsewhere (edited by hand, or another checkout): the full path decides
    data.write_text("a\n2\n")
    assert child("data", "add", "t.csv")[0].returncode == 0  # t@2, stamped
    dvcfile = project.root / "t.csv.dvc"
    dvcfile.write_text(dvcfile.read_text().replace(mlnb.data.resolve("t@2").md5, mlnb.data.resolve("t@1").md5))
    proc, imported = child("data", "add", "t.csv")
    assert proc.returncode == 0 and "dvc" in imported and "version     2" in proc.stdout
    # a path outside the project: the same error as the full path, before any stamp is read
    proc, _ = child("data", "add", "/etc/hostname")
    assert proc.returncode == 2 and "outside the project" in proc.stderr


def _status_slow(args: list[str]) -> str:
    table = mlnb.data.status()
    return (table.to_json() if "--json" in args else str(table)) + "\n"


def test_status_answers_every_state_without_dvc_and_byte_identical(project):
    """latest, older version, modified, missing and untracked, read from the stamps and the
    registry in a fresh process, print what the full path (DVC hashing) prints."""
    files = {name: project.root / f"{name}.csv" for name in ("cur", "old", "edited", "gone", "loose")}
    for path in files.values():
        path.write_text("a\n1\n")
        mlnb.data.add(str(path))
    files["old"].write_text("a\n2\n")
    mlnb.data.add(str(files["old"]))
    mlnb.data.checkout("old@1")  # a checkout stamps what it wrote
    files["edited"].write_text("a\n3\n")  # same size, new bytes: hashed, never taken from the stamp
    files["gone"].unlink()
    (project.root / "loose.csv.dvc").unlink()
    expected = {"cur": "latest", "old": "older version", "edited": "modified", "gone": "missing", "loose": "untracked"}
    for args in (["data", "status"], ["data", "status", "--json"]):
        proc, imported = child(*args)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == _status_slow(args)
        assert not set(imported) & set(HEAVY), imported
    assert {r["name"]: r["state"] for r in json.loads(child("data", "status", "--json")[0].stdout)} == expected
    # the checkout's stamp also answers an add of what it put there: the version it is, no DVC
    readd, imported = child("data", "add", "old.csv")
    assert readd.stdout == str(mlnb.data.resolve("old@1")) + "\n" and not set(imported) & set(HEAVY)


def test_status_leaves_folders_links_and_big_unstamped_files_to_dvc(project, monkeypatch):
    from mlnb.data import _status_fast

    (project.root / "small.csv").write_text("a\n1\n")
    mlnb.data.add("small.csv")
    assert _status_fast.status_fast() is not None
    folder = project.root / "images"
    folder.mkdir()
    (folder / "x.txt").write_text("x")
    mlnb.data.add("images")
    assert _status_fast.status_fast() is None  # a folder: only DVC builds its .dir hash
    proc, imported = child("data", "status")
    assert proc.stdout == _status_slow(["data", "status"]) and "dvc" in imported
    shutil.rmtree(folder)
    assert _status_fast.status_fast() is not None  # a missing folder needs no hashing
    # a large file whose stamp no longer matches goes to DVC's state database
    big = project.root / "small.csv"
    monkeypatch.setattr(_status_fast, "HASH_MAX_BYTES", 3)
    assert _status_fast.status_fast() is not None  # its stamp still matches
    os.utime(big, ns=(big.stat().st_atime_ns, big.stat().st_mtime_ns + 10**9))
    assert _status_fast.status_fast() is None
    monkeypatch.setenv("MLNB_REGISTRY_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert _status_fast.status_fast() is None


def test_export_reads_v4_notebooks_as_nbformat_does_without_importing_it(project):
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from mlnb.export._nbread import _v4_cells, notebook_cells

    nb = new_notebook(cells=[
        new_markdown_cell("# title\nsome *text*"),
        new_code_cell("x = 1\n", metadata={"tags": ["parameters"]}),
        new_code_cell("%%mlops stage train\ny = x * 2\ndisplay(y)", metadata={"tags": ["stage:train"]}),
        new_code_cell("", outputs=[nbformat.v4.new_output("stream", name="stdout", text="2\n")]),
    ])
    path = project.root / "nb.ipynb"
    nbformat.write(nb, str(path))  # sources saved split into lists of lines, as Jupyter saves them
    assert isinstance(__import__("json").loads(path.read_text())["cells"][1]["source"], list)
    fast = _v4_cells(path)
    assert fast is not None
    used = ("cell_type", "source", "metadata")  # what export reads of a cell
    assert [[c[k] for k in used] for c in fast] == [[c[k] for k in used] for c in nbformat.read(str(path), as_version=4).cells]

    # other formats and odd shapes are nbformat's to read (convert, or refuse)
    v3 = project.root / "old.ipynb"
    v3.write_text('{"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": '
                  '[{"cells": [{"cell_type": "code", "input": "a = 1", "language": "python", "outputs": []}]}]}')
    assert _v4_cells(v3) is None and [c["source"] for c in notebook_cells(v3)] == ["a = 1"]
    odd = project.root / "odd.ipynb"
    odd.write_text('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code"}]}')
    assert _v4_cells(odd) is None

    proc, imported = child("export", "nb.ipynb", "--out", "pipe")
    assert proc.returncode == 0, proc.stderr
    assert "nbformat" not in imported and "dvc" not in imported
    assert "y = x * 2" in (project.root / "pipe" / "train.py").read_text()
