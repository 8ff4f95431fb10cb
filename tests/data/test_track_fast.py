"""`mlnb data add` of a new file without DVC's Python API (mlnb/data/_track_fast.py): what it
writes is what `dvc add` writes, DVC itself accepts it (status, checkout, push), the registry gets
the full path's row, and everything outside the plain case goes to the full path."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mlnb
from mlnb.data._track_fast import add_new
from tests.conftest import git, run_cli

DVC = str(Path(sys.executable).parent / "dvc")


def dvc(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DVC, *args], cwd=root, capture_output=True, text=True)


def test_what_it_writes_is_what_dvc_add_writes_and_dvc_accepts_it(project):
    root = project.root
    (root / "data").mkdir()
    body = os.urandom(3 * 1024**2)
    (root / "data/ours.bin").write_bytes(body)
    (root / "data/theirs.bin").write_bytes(body)
    code = ("import sys; from mlnb.cli import main; rc = main(['data', 'add', 'data/ours.bin', '-m', 'm1']);"
            "print(sorted(m for m in ('dvc', 'sqlalchemy', 'pandas') if m in sys.modules), rc)")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "[] 0"  # neither DVC, SQLAlchemy nor pandas imported
    assert dvc(root, "add", "-q", "data/theirs.bin").returncode == 0
    ours, theirs = (root / "data/ours.bin.dvc").read_text(), (root / "data/theirs.bin.dvc").read_text()
    assert ours == theirs.replace("theirs.bin", "ours.bin")
    assert (root / "data/.gitignore").read_text().splitlines() == ["/ours.bin", "/theirs.bin"]
    staged = git(root, "diff", "--cached", "--name-only").splitlines()
    assert "data/ours.bin.dvc" in staged and "data/.gitignore" in staged
    md5 = hashlib.md5(body).hexdigest()
    obj = root / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    assert obj.read_bytes() == body
    assert oct(obj.stat().st_mode & 0o777) == "0o444"
    # DVC accepts it: nothing to do, a deleted file comes back, the push sends the object
    status = dvc(root, "status", "data/ours.bin.dvc")
    assert status.returncode == 0 and "up to date" in status.stdout, status.stdout + status.stderr
    (root / "data/ours.bin").unlink()
    assert dvc(root, "checkout", "data/ours.bin.dvc").returncode == 0
    assert (root / "data/ours.bin").read_bytes() == body
    assert dvc(root, "push", "data/ours.bin.dvc").returncode == 0
    remote = Path(git(root, "rev-parse", "--show-toplevel")).parent / "remote"
    assert (remote / "files/md5" / md5[:2] / md5[2:]).read_bytes() == body
    # the registry row is the full path's: the API reads it back; a second content is version 2
    v1 = mlnb.data.log("ours").to_dict()
    assert [(r["version"], r["md5"], r["size"], r["rows"], r["message"]) for r in v1] == [(1, md5, len(body), None, "m1")]
    (root / "data/ours.bin").write_bytes(body[::-1])
    assert run_cli("data", "add", "data/ours.bin", cwd=root).returncode == 0
    assert mlnb.data.load is not None and mlnb.data.path("ours@2").read_bytes() == body[::-1]
    assert mlnb.data.path("ours@1").read_bytes() == body
    assert "ours@2" in run_cli("data", "add", "data/ours.bin", cwd=root).stdout  # unchanged: the stamp


def test_an_add_the_full_path_knows_better_is_left_to_it(project):
    root = project.root
    (root / "data").mkdir()
    (root / "data/t.csv").write_text("a\n1\n")
    assert add_new("data/t.csv", None, "") is None  # tabular: the full path summarises it
    (root / "data/in_git.bin").write_bytes(b"x")
    git(root, "add", "data/in_git.bin")
    assert add_new("data/in_git.bin", None, "") is None  # git tracks it: DVC refuses, in its words
    (root / "data/a.bin").write_bytes(b"a")
    assert add_new("data/a.bin", None, "").ref == "a@1"
    assert add_new("data/a.bin", "other", "") is None  # the path is dataset a: the full path says so
    line = run_cli("data", "add", "data/a.bin", "--name", "other", cwd=root)
    assert line.returncode == 2 and "already dataset 'a'" in line.stderr
    (root / "data/a.bin.dvc").write_text((root / "data/a.bin.dvc").read_text() + "desc: raw crawl\n")
    (root / "data/a.bin").write_bytes(b"a2")
    assert add_new("data/a.bin", None, "") is None  # DVC keeps the description: its own add
    assert run_cli("data", "add", "data/a.bin", cwd=root).returncode == 0
    assert "desc: raw crawl" in (root / "data/a.bin.dvc").read_text()
    (root / "data/b.bin").write_bytes(b"b")
    assert dvc(root, "config", "cache.type", "hardlink").returncode == 0
    assert add_new("data/b.bin", None, "") is None  # DVC links: its own add
    assert run_cli("data", "add", "data/b.bin", cwd=root).returncode == 0
    assert (root / "data/b.bin").stat().st_nlink == 2


@pytest.mark.parametrize("name", ["with space.bin", "x#y.bin"])
def test_names_that_need_quoting_are_left_to_dvc(project, name):
    (project.root / name).write_bytes(b"z")
    assert add_new(name, "q", "") is None
