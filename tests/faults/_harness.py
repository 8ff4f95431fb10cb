"""What the fault-injection tests share: a project's saved state, one-line errors, children to kill.

``snapshot(root)`` is everything a user has saved in a project — working files, ``.dvc`` files,
git's HEAD, index and status, DVC's cache and the registry's rows — so that a test can assert a
refused or interrupted command changed none of it.

Trial counts, one meaning in every file: ``trials(quick)`` is the number of trials per case.
Unset (or ``0``), ``MLNB_FAULT_TRIALS`` gives each case its ``quick`` count, CI's default, small
enough for the suite's time budget; ``MLNB_FAULT_TRIALS=N`` runs ``N`` trials per case, for a
thorough run (e.g. 20 or 100). Whatever the count, an interrupt test spreads its signals over the
whole measured span of the operation (``delays``) and asserts with ``assert_most_landed`` that
more than half of them landed mid-operation; a test whose signals mostly missed proved nothing.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT

#: Files that change without anything being saved: git internals (compared through git itself),
#: DVC's scratch space, lock files, SQLite's WAL side files (the rows are compared instead).
_VOLATILE_DIRS = {".git", "tmp", "locks"}
_VOLATILE_SUFFIXES = ("-wal", "-shm", "-journal")


def snapshot(root: Path) -> dict[str, object]:
    """The saved state of the project at ``root``, as comparable plain data."""
    files: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        dirnames[:] = [d for d in dirnames if not (d in _VOLATILE_DIRS and _volatile_parent(rel_dir, d))]
        for name in filenames:
            if name.endswith(_VOLATILE_SUFFIXES) or name == "registry.db":
                continue
            path = Path(dirpath) / name
            files[str(rel_dir / name)] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "?"
    return {"files": files, "git": _git_state(root), "registry": registry_rows(root)}


def _volatile_parent(rel_dir: Path, name: str) -> bool:
    if name == ".git":
        return True
    parent = rel_dir.parts[-1:] if rel_dir.parts else ()
    return (name == "tmp" and parent == (".dvc",)) or (name == "locks" and parent == (".mlnb",))


def _git_state(root: Path) -> dict[str, str]:
    if not (root / ".git").exists():
        return {}

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True).stdout

    return {"head": git("rev-parse", "HEAD"), "index": git("ls-files", "-s"), "status": git("status", "--porcelain")}


def registry_rows(root: Path) -> dict[str, list[tuple]]:
    """Every row of every table of the project's SQLite registry, sorted."""
    db = root / ".mlnb" / "registry.db"
    if not db.exists():
        return {}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
        return {t: sorted(map(tuple, conn.execute(f'select * from "{t}"')), key=repr) for t in tables}
    finally:
        conn.close()


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """The command failed with exit ``code`` and said why on exactly one line; returns that line."""
    err = proc.stderr.strip()
    assert proc.returncode == code, f"exit {proc.returncode}, expected {code}: {err}"
    assert "Traceback" not in err and err.count("\n") == 0 and err, f"not one line: {err!r}"
    return err


def spawn(code: str, cwd: Path, **env: str) -> subprocess.Popen[str]:
    """A child Python running ``code`` with this checkout's mlnb; its stdout is a text pipe."""
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )


def trials(quick: int) -> int:
    """Trials per case: ``MLNB_FAULT_TRIALS`` when set to N > 0, else ``quick`` (CI's default)."""
    return int(os.environ.get("MLNB_FAULT_TRIALS", "0") or 0) or quick


def delays(count: int, span: float, seed: object) -> list[float]:
    """``count`` delays covering ``[0, span)`` evenly: one random point in each of ``count`` equal
    slices, in a shuffled order. Few trials still hit the start, the middle and the end of the
    operation, where independent uniform draws would often bunch up."""
    rng = random.Random(str(seed))
    points = [span * (k + rng.random()) / count for k in range(count)]
    rng.shuffle(points)
    return points


def assert_most_landed(landed: int, count: int, what: str) -> None:
    """More than half of ``count`` signals landed mid-``what``: otherwise the test proved little."""
    print(f"\n{what}: {landed} of {count} signals landed mid-operation")
    assert landed * 2 > count, f"only {landed} of {count} signals landed mid-{what}: the test proves little"


def time_child(child: subprocess.Popen[str], ready: str = "start") -> float:
    """Seconds an uninterrupted ``child`` took from printing ``ready`` to printing ``done``; reaps it."""
    line = child.stdout.readline().strip()
    assert line == ready, f"child did not start: {line!r} {child.stderr.read()}"
    began = time.monotonic()
    line = child.stdout.readline().strip()
    took = time.monotonic() - began
    assert line == "done", f"child did not finish: {line!r} {child.stderr.read()}"
    child.communicate(timeout=60)
    return took


def interrupt(child: subprocess.Popen[str], sig: int, delay: float, ready: str = "start") -> tuple[bool, str]:
    """Wait for ``child`` to print ``ready``, send ``sig`` after ``delay`` seconds, reap it.

    Returns ``(landed, stdout)``: ``landed`` is True when the signal ended the child before it
    printed ``done`` — the only trials that prove anything about an interruption.
    """
    line = child.stdout.readline().strip()
    assert line == ready, f"child did not start: {line!r} {child.stderr.read()}"
    time.sleep(delay)
    child.send_signal(sig)
    out, _err = child.communicate(timeout=300)
    landed = "done" not in out and child.returncode in (-sig, 130, -signal.SIGINT)
    return landed, out


def cache_objects(root: Path) -> list[Path]:
    """Objects under their hash names; DVC writes each to a hidden temp name first and renames it
    when complete, so a killed writer can leave only such temp files behind, never a bad object."""
    base = root / ".dvc/cache/files/md5"
    if not base.exists():
        return []
    return [p for p in base.glob("*/*") if p.is_file() and not p.name.startswith(".")]


def assert_cache_is_sound(root: Path) -> None:
    """Every object in DVC's cache holds the content its name (its md5) promises."""
    for obj in cache_objects(root):
        digest = hashlib.md5(obj.read_bytes()).hexdigest()
        assert digest == (obj.parent.name + obj.name).removesuffix(".dir"), f"corrupt cache object {obj}"
