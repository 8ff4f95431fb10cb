"""Checkout never overwrites content that exists nowhere else, whatever DVC's status says.

DVC reports "not in cache" before "modified" when the object the ``.dvc`` file records is gone
(a disk-full add, a `dvc gc`, a cache cleared by hand); mlnb used to read that as "nothing to
lose" and overwrite the user's edits. mlnb now hashes the working copy itself.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

import mlnb
from mlnb.errors import UsageError
from tests.conftest import run_cli
from tests.faults._harness import assert_one_line_error, snapshot
from tests.faults.conftest import fill


def drop_from_cache(project, md5: str) -> None:
    """Lose a version's cache object, as a full disk or a hand-cleared cache does."""
    obj = project.root / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    obj.chmod(0o644)
    obj.unlink()


def two_versions(project) -> tuple[Path, mlnb.data.DataVersion, mlnb.data.DataVersion]:
    f = project.root / "t.txt"
    f.write_text("version one\n")
    v1 = mlnb.data.add("t.txt", name="t")
    f.write_text("version two\n")
    v2 = mlnb.data.add("t.txt", name="t")
    return f, v1, v2


def test_edits_over_a_version_missing_from_the_cache_are_kept(project):
    f, v1, v2 = two_versions(project)
    drop_from_cache(project, v2.md5)  # the checked-out version's object is gone
    f.write_text("edits nobody saved\n")
    before = snapshot(project.root)

    out = run_cli("data", "checkout", "t@1", cwd=project.root)
    line = assert_one_line_error(out, 2)
    assert "t.txt has changes that are not saved as a version" in line and "--force" in line
    assert f.read_text() == "edits nobody saved\n"
    assert snapshot(project.root) == before
    assert {r["name"]: r["state"] for r in mlnb.data.status().to_dict()} == {"t": "modified"}

    with pytest.raises(UsageError, match="not saved as a version"):
        mlnb.data.checkout("t@1")
    assert f.read_text() == "edits nobody saved\n"

    mlnb.data.checkout("t@1", force=True)
    assert f.read_text() == "version one\n"


def test_a_version_whose_only_copy_is_the_working_file_is_kept(project):
    f, v1, v2 = two_versions(project)
    drop_from_cache(project, v2.md5)  # unedited, but the working file is now t@2's only copy
    assert {r["name"]: r["state"] for r in mlnb.data.status().to_dict()} == {"t": "latest"}
    with pytest.raises(UsageError, match=r"t.txt holds t@2, whose content is not in the cache \(its only copy\)"):
        mlnb.data.checkout("t@1")
    assert f.read_text() == "version two\n"
    assert mlnb.data.add("t.txt").ref == "t@2"  # what the message advises: caches it again
    mlnb.data.checkout("t@1")
    assert f.read_text() == "version one\n"
    assert mlnb.data.checkout("t@2").md5 == hashlib.md5(f.read_bytes()).hexdigest() == v2.md5


def test_a_folder_edited_over_a_missing_listing_is_kept(project):
    folder = project.root / "imgs"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    mlnb.data.add("imgs", name="imgs")
    (folder / "b.txt").write_text("b")
    v2 = mlnb.data.add("imgs", name="imgs")
    drop_from_cache(project, v2.md5)  # the .dir listing of the checked-out version
    (folder / "c.txt").write_text("precious")
    before = snapshot(project.root)
    assert_one_line_error(run_cli("data", "checkout", "imgs@1", cwd=project.root), 2)
    assert snapshot(project.root) == before
    mlnb.data.checkout("imgs@1", force=True)
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt"]


def test_a_working_copy_holding_another_saved_version_may_be_replaced(project):
    """Content that is a registered, cached version is not "unsaved", even if the .dvc file
    says otherwise (as after a checkout killed between its two renames)."""
    f, v1, v2 = two_versions(project)
    shutil.copyfile(project.root / ".dvc/cache/files/md5" / v1.md5[:2] / v1.md5[2:], f)  # t@1's bytes, .dvc says t@2
    assert mlnb.data.checkout("t@2").ref == "t@2"
    assert f.read_text() == "version two\n"


def test_pull_keeps_edits_over_a_missing_cache_object(project):
    f, v1, v2 = two_versions(project)
    mlnb.data.push()
    drop_from_cache(project, v2.md5)
    f.write_text("edits nobody saved\n")
    out = run_cli("data", "pull", cwd=project.root)
    line = assert_one_line_error(out, 2)
    assert "t.txt has changes not saved as a version" in line
    assert f.read_text() == "edits nobody saved\n"


def test_checkout_after_a_disk_full_add_keeps_the_edits(small_fs, tmp_path):
    """The way users get there: an add that ran out of space, then a checkout."""
    disk = small_fs(48 * 1024**2)
    root = disk / "p"
    run_cli("init", str(root), "--remote", str(tmp_path / "remote"), check=True)
    f = root / "t.bin"
    f.write_bytes(b"version one\n")
    run_cli("data", "add", "t.bin", "--name", "t", cwd=root, check=True)
    f.write_bytes(os.urandom(8 * 1024**2))  # edits, then no room left to cache them
    edited = hashlib.md5(f.read_bytes()).hexdigest()
    fill(disk, leave=2 * 1024**2)
    assert run_cli("data", "add", "t.bin", cwd=root).returncode != 0
    line = assert_one_line_error(run_cli("data", "checkout", "t@1", cwd=root), 2)
    assert "t.bin" in line and "--force" in line
    assert hashlib.md5(f.read_bytes()).hexdigest() == edited
