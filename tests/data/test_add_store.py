"""`mlnb data add` stores a file in DVC's cache with one pass through Python (mlnb/data/_ingest.py:
the kernel copies it, the copy is hashed; or one read that is hashed and written), and what it
leaves is what DVC itself accepts: `dvc status` is clean, `dvc checkout` restores the file,
`dvc push` sends the object, `dvc add` of the same bytes changes nothing."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import mlnb
from mlnb._project import current_project
from mlnb.data import _ingest

DVC = str(Path(sys.executable).parent / "dvc")
SIZE = 12 * 1024**2


def dvc(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DVC, *args], cwd=root, capture_output=True, text=True)


def read_bytes_of_this_process() -> int:
    """Bytes this process read through system calls (read, sendfile, copy_file_range ...)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def test_add_reads_the_file_once_and_dvc_accepts_the_result(project):
    data = os.urandom(SIZE)
    (project.root / "big.bin").write_bytes(data)
    md5 = hashlib.md5(data).hexdigest()
    current_project().dvc  # opened before counting: only the add's own reads count
    before = read_bytes_of_this_process()
    v = mlnb.data.add("big.bin")
    read = read_bytes_of_this_process() - before
    assert v.md5 == md5 and v.size == SIZE
    # copy_file_range's kernel-side read counts too (1x), then the copy is hashed (1x); DVC hashing
    # it again, or copying it itself, would make it 3x or more
    assert SIZE <= read < 2.5 * SIZE, f"the add read {read / SIZE:.2f}x the file"

    obj = project.root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    assert hashlib.md5(obj.read_bytes()).hexdigest() == md5
    assert stat.S_IMODE(obj.stat().st_mode) == 0o444  # DVC protected it, as its own add does
    assert not list(obj.parent.parent.glob("*.tmp")) and not list(obj.parent.glob("*.tmp"))

    status = dvc(project.root, "status", "big.bin.dvc")
    assert status.returncode == 0 and "up to date" in status.stdout.lower(), status.stdout + status.stderr
    (project.root / "big.bin").unlink()
    assert dvc(project.root, "checkout", "big.bin.dvc").returncode == 0
    assert hashlib.md5((project.root / "big.bin").read_bytes()).hexdigest() == md5
    pushed = dvc(project.root, "push", "big.bin.dvc")
    assert pushed.returncode == 0, pushed.stderr
    remote = Path(dvc(project.root, "remote", "list").stdout.split()[1])
    assert hashlib.md5((remote / "files" / "md5" / md5[:2] / md5[2:]).read_bytes()).hexdigest() == md5
    # DVC re-adding the same bytes finds nothing to change
    dvcfile = (project.root / "big.bin.dvc").read_text()
    assert dvc(project.root, "add", "big.bin").returncode == 0
    assert (project.root / "big.bin.dvc").read_text() == dvcfile


def test_a_file_changed_while_stored_is_hashed_again_by_dvc(project, monkeypatch):
    """The hash given to DVC is only ever the hash of what the file holds when DVC adds it."""
    path = project.root / "f.bin"
    path.write_bytes(os.urandom(1024))
    real = _ingest._copy_hashing

    def copy_then_edit(src, dest, advance):  # another program writes the file meanwhile
        oid = real(src, dest, advance)
        src.write_bytes(b"edited meanwhile")
        return oid

    monkeypatch.setattr(_ingest, "_copy_hashing", copy_then_edit)
    v = mlnb.data.add("f.bin")
    assert v.md5 == hashlib.md5(b"edited meanwhile").hexdigest()
    objects = [p for p in (project.root / ".dvc/cache/files/md5").glob("*/*")]
    assert [p.parent.name + p.name for p in objects] == [v.md5]  # the stale copy is gone


@pytest.mark.parametrize("cache_type", ["hardlink", "symlink"])
def test_link_caches_are_left_to_dvc(project, cache_type):
    assert dvc(project.root, "config", "cache.type", cache_type).returncode == 0
    current_project().close()  # reopened with the new cache type
    data = os.urandom(4096)
    (project.root / "l.bin").write_bytes(data)
    v = mlnb.data.add("l.bin")
    assert v.md5 == hashlib.md5(data).hexdigest()
    assert dvc(project.root, "status", "l.bin.dvc").returncode == 0
    assert hashlib.md5((project.root / "l.bin").read_bytes()).hexdigest() == v.md5


@pytest.mark.parametrize("kernel", [True, False], ids=["copy_file_range", "read-hash-write"])
def test_both_copies_name_the_object_by_the_md5_of_its_bytes(tmp_path, monkeypatch, kernel):
    if not kernel:
        monkeypatch.delattr(os, "copy_file_range", raising=False)  # another OS: read, hash, write
    data = os.urandom(3 * _ingest.CHUNK + 12345)
    (tmp_path / "src").write_bytes(data)
    seen = []
    md5 = _ingest._copy_hashing(tmp_path / "src", tmp_path / "dest", seen.append)
    assert md5 == hashlib.md5(data).hexdigest() and (tmp_path / "dest").read_bytes() == data
    assert sum(seen) == len(data)  # the progress bar saw every byte once
