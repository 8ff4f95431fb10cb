"""One path, one dataset: re-adding a tracked path without --name makes its next version."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

import mlnb
from mlnb.errors import UsageError


def test_readd_without_name_is_the_next_version_of_the_dataset_tracking_the_path(project):
    images = project.root / "data/imgs"
    images.mkdir(parents=True)
    (images / "a.txt").write_text("a")
    assert mlnb.data.add("data/imgs", name="images").ref == "images@1"
    (images / "b.txt").write_text("b")
    assert mlnb.data.add("data/imgs", message="second crawl").ref == "images@2"
    assert [r["name"] for r in mlnb.data.list()] == ["images"]


def test_a_second_name_for_a_tracked_path_is_refused(project):
    pd.DataFrame({"x": [1, 2]}).to_csv("t.csv", index=False)
    mlnb.data.add("t.csv", name="t")
    pd.DataFrame({"x": [1, 2, 3]}).to_csv("t.csv", index=False)
    with pytest.raises(UsageError, match="t.csv is already dataset 't'"):
        mlnb.data.add("t.csv", name="other")
    with pytest.raises(UsageError, match="t.csv is already dataset 't'"):
        mlnb.data.save(pd.DataFrame({"y": [1]}), "other", path="t.csv")
    assert [(r["name"], r["versions"]) for r in mlnb.data.list()] == [("t", 1)]
    assert len(pd.read_csv("t.csv")) == 3  # the refused save did not overwrite the working copy
    with pytest.raises(UsageError, match="already tracks t.csv"):
        mlnb.data.save(pd.DataFrame({"y": [1]}), "t", path="elsewhere.parquet")
    assert not (project.root / "elsewhere.parquet").exists()


@pytest.mark.parametrize("path", [".git", ".dvc", ".mlnb", ".dvc/config"])
def test_project_internals_cannot_be_versioned(project, path):
    with pytest.raises(UsageError, match="cannot be versioned"):
        mlnb.data.add(path, name="x")


def test_a_hash_prefix_made_only_of_digits_still_finds_the_version(project):
    (project.root / "f.txt").write_text("first")
    mlnb.data.add("f.txt", name="f")
    content = next(f"x{i}" for i in range(10_000) if hashlib.md5(f"x{i}".encode()).hexdigest()[:8].isdigit())
    (project.root / "f.txt").write_text(content)
    v = mlnb.data.add("f.txt", name="f")
    assert v.md5[:8].isdigit()
    assert mlnb.data.resolve(f"f@{v.md5[:8]}").ref == v.ref == "f@2"
    assert mlnb.data.resolve("f@1").version == 1  # a version number is still a version number
