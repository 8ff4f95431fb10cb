"""Project locks: one writer at a time, across threads and processes, on local and shared disks.

A lock is ``flock`` on a file under ``.mlnb/locks/``. The kernel drops it when its holder dies,
so SIGKILL leaves no stale lock to clean up. ``flock`` belongs to the open file description, not
to the process, so closing some other descriptor of the same file (as SQLite's POSIX locks
suffer) never releases it, and two threads of one process exclude each other like two processes
do. On NFS, Linux maps ``flock`` to the server's byte-range locks, so clients on other machines
are excluded too. A thread that already holds a lock may take it again (re-entrant).

>>> with project_lock(project.root, "data-train"):  # doctest: +SKIP
...     ...  # nobody else saves or checks out train meanwhile
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import Busy, UsageError

#: How long a writer waits for another before giving up with :class:`Busy` (seconds).
DEFAULT_TIMEOUT = 600.0

_held = threading.local()  # lock path -> depth, for the thread that holds it


def lock_path(root: str | os.PathLike[str], name: str) -> Path:
    """The file that backs lock ``name`` of the project at ``root``."""
    if not name or "/" in name or name.startswith("."):
        raise UsageError(f"bad lock name {name!r}")
    return Path(root) / ".mlnb" / "locks" / f"{name}.lock"


def _make_folder(folder: Path) -> None:
    """The locks folder, which git ignores (its own .gitignore: also in projects made before it)."""
    if not (folder / ".gitignore").exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ".gitignore").write_text("*\n")


@contextmanager
def project_lock(
    root: str | os.PathLike[str], name: str, timeout: float = DEFAULT_TIMEOUT, what: str | None = None
) -> Iterator[None]:
    """Hold lock ``name`` of the project at ``root`` for the ``with`` block.

    Waits up to ``timeout`` seconds for another holder, then raises :class:`Busy` naming
    ``what`` was being done.
    """
    path = lock_path(root, name)
    depths: dict[str, int] = _held.__dict__.setdefault("depths", {})
    key = str(path)
    if depths.get(key):
        depths[key] += 1
        try:
            yield
        finally:
            depths[key] -= 1
        return
    _make_folder(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        _acquire(fd, timeout, what or name)
        depths[key] = 1
        try:
            yield
        finally:
            depths.pop(key, None)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.005
    while not _try_lock(fd):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Busy(
                f"another mlnb process is busy with {what} (waited {timeout:g} s): "
                "let it finish, then run this again"
            )
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.1)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        return False
