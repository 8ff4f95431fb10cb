"""`data checkout` never throws away changes that are not saved as a version (like `dvc checkout`
without --force); --force does."""

from __future__ import annotations

import pandas as pd
import pytest

import mlnb
from mlnb.errors import UsageError
from tests.conftest import run_cli


def test_checkout_refuses_to_discard_unsaved_changes(project):
    folder = project.root / "data/imgs"
    folder.mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    mlnb.data.add("data/imgs", name="images")
    (folder / "b.txt").write_text("b")
    mlnb.data.add("data/imgs", name="images")
    mlnb.data.checkout("images@1")  # a clean working copy: fine
    (folder / "precious.txt").write_text("not added yet")

    with pytest.raises(UsageError, match=r"data/imgs has changes that are not saved as a version: .*--force"):
        mlnb.data.checkout("images@2")
    assert (folder / "precious.txt").read_text() == "not added yet"
    out = run_cli("data", "checkout", "images@2", cwd=project.root)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and (folder / "precious.txt").exists()

    run_cli("data", "checkout", "images@2", "--force", cwd=project.root, check=True)
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt", "b.txt"]


def test_a_modified_frame_file_is_kept_too(project):
    mlnb.data.save(pd.DataFrame({"x": [1]}), "t")
    mlnb.data.save(pd.DataFrame({"x": [2]}), "t")
    pd.DataFrame({"x": [99]}).to_parquet(project.root / "data/t.parquet")
    with pytest.raises(UsageError, match="not saved as a version"):
        mlnb.data.checkout("t@1")
    assert pd.read_parquet(project.root / "data/t.parquet")["x"].tolist() == [99]
    (project.root / "data/t.parquet").unlink()  # a deleted working copy has nothing to lose
    assert mlnb.data.checkout("t@1").ref == "t@1"
    assert pd.read_parquet(project.root / "data/t.parquet")["x"].tolist() == [1]


def test_pull_over_unsaved_changes_is_one_line_and_keeps_them(tmp_path):
    root = tmp_path / "p"
    run_cli("init", str(root), "--remote", str(tmp_path / "remote"), check=True)
    (root / "t.txt").write_text("v1")
    run_cli("data", "add", "t.txt", "--name", "t", cwd=root, check=True)
    run_cli("data", "push", cwd=root, check=True)
    (root / "t.txt").write_text("edited, not added")
    out = run_cli("data", "pull", cwd=root)
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "t.txt" in out.stderr and "mlnb data add" in out.stderr
    assert (root / "t.txt").read_text() == "edited, not added"
