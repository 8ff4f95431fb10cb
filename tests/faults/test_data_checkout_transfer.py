"""push/pull never report success while a registered version exists nowhere: they name it
(dataset@version and hash) and exit 3, after transferring everything else."""

from __future__ import annotations

import hashlib
import shutil

import mlnb
from tests.conftest import run_cli
from tests.faults._harness import assert_one_line_error, snapshot
from tests.faults.test_data_checkout_unsaved import drop_from_cache


def three_versions(project) -> list[mlnb.data.DataVersion]:
    f = project.root / "t.txt"
    out = []
    for text in ("one\n", "two\n", "three\n"):
        f.write_text(text)
        out.append(mlnb.data.add("t.txt", name="t"))
    return out


def remote_has(project, md5: str) -> bool:
    remote = project.root.parent / "remote" / "files/md5"
    return (remote / md5[:2] / md5[2:]).is_file()


def test_push_names_a_version_that_is_nowhere_and_sends_the_rest(project):
    v1, v2, v3 = three_versions(project)
    drop_from_cache(project, v1.md5)  # never pushed, now gone from the cache too
    line = assert_one_line_error(run_cli("data", "push", cwd=project.root), 3)
    assert f"t@1 (md5 {v1.md5})" in line and "1 of 3" in line and "the other 2 were pushed" in line
    assert "t@2" not in line and "t@3" not in line
    assert remote_has(project, v2.md5) and remote_has(project, v3.md5) and not remote_has(project, v1.md5)


def test_push_is_fine_when_the_remote_already_has_what_the_cache_lost(project):
    v1, _, _ = three_versions(project)
    mlnb.data.push()
    drop_from_cache(project, v1.md5)
    assert run_cli("data", "push", cwd=project.root, check=True).returncode == 0


def test_pull_names_a_version_that_is_nowhere(project):
    v1, v2, v3 = three_versions(project)
    mlnb.data.push()
    shutil.rmtree(project.root.parent / "remote" / "files/md5" / v2.md5[:2])
    drop_from_cache(project, v2.md5)
    drop_from_cache(project, v3.md5)
    before = snapshot(project.root)
    line = assert_one_line_error(run_cli("data", "pull", cwd=project.root), 3)
    assert f"t@2 (md5 {v2.md5})" in line and "the other 2 were pulled" in line
    after = snapshot(project.root)
    fetched = set(after["files"]) - set(before["files"])
    assert fetched == {f".dvc/cache/files/md5/{v3.md5[:2]}/{v3.md5[2:]}"}  # the rest came, nothing else changed
    assert {k: v for k, v in after.items() if k != "files"} == {k: v for k, v in before.items() if k != "files"}


def test_a_folder_version_missing_one_file_is_named(project):
    folder = project.root / "imgs"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    (folder / "b.txt").write_text("only copy")
    v = mlnb.data.add("imgs", name="imgs")
    drop_from_cache(project, hashlib.md5(b"only copy").hexdigest())
    line = assert_one_line_error(run_cli("data", "push", cwd=project.root), 3)
    assert f"imgs@1 (md5 {v.md5})" in line
