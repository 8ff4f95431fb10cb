"""Fixtures of the fault-injection suite: a really full filesystem."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


@pytest.fixture
def small_fs(tmp_path: Path):
    """A factory for a tmpfs of ``size`` bytes mounted in tmp_path (root only): a disk that fills.

    ``fill(fs, leave=N)`` then takes all but ``N`` bytes of it with a filler file.
    """
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root (CI runs as root)")
    mounted: list[Path] = []

    def make(size: int, name: str = "disk") -> Path:
        point = tmp_path / name
        point.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], check=True)
        mounted.append(point)
        return point

    yield make
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=False)


@pytest.fixture
def small_project(small_fs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A factory: a fresh mlnb project on a tmpfs of ``size`` bytes, the working directory its
    root; returns (the filesystem's mount point, the project root)."""
    import mlnb

    def make(size: int) -> tuple[Path, Path]:
        disk = small_fs(size)
        root = disk / "proj"
        root.mkdir()
        monkeypatch.chdir(root)
        mlnb.init(remote=str(tmp_path / "remote"))
        return disk, root

    return make


def fill(fs: Path, leave: int = 0) -> Path:
    """Take all but ``leave`` bytes of the filesystem at ``fs`` with one filler file."""
    filler = fs / ".filler"
    free = os.statvfs(fs).f_bavail * os.statvfs(fs).f_frsize
    with open(filler, "ab") as f:
        f.truncate(0)
        remaining = max(free - leave, 0)
        chunk = b"\0" * (1 << 20)
        while remaining > 0:
            n = f.write(chunk[: min(len(chunk), remaining)])
            remaining -= n
        f.flush()
        os.fsync(f.fileno())
    return filler
