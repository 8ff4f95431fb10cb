"""The SQLite registry file without SQLAlchemy: soundness checks, and the read-only fast path
that lets ``mlnb data list`` / ``mlnb runs list`` answer from a few SQL statements in a fresh
process without importing SQLAlchemy (~0.3 s)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import MlnbError

if TYPE_CHECKING:  # pragma: no cover
    from .._project import Project


class RegistryDamaged(MlnbError):
    """The registry file exists but is no sound SQLite database: it is never silently recreated."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"the registry {path} {problem}: restore it from a backup (or try `sqlite3 {path} .recover`); "
            "to start an empty registry instead, move it away and run `mlnb init`"
        )


#: the first 16 bytes of every SQLite database file
SQLITE_HEADER = b"SQLite format 3\x00"


def check_registry_file(path: Path) -> None:
    """A registry file that exists must be a SQLite database; a missing one is created (a new clone).

    A file another process is creating this instant is empty for a few milliseconds, until SQLite
    writes its header: an empty file is looked at again for a moment before it is refused.
    """
    for _ in range(10):
        try:
            with open(path, "rb") as f:
                head = f.read(100)
                size = f.seek(0, 2)
        except FileNotFoundError:
            return
        if head:
            break
        time.sleep(0.05)
    if not head:
        raise RegistryDamaged(path, "is empty (0 bytes), not a database")
    if not head.startswith(SQLITE_HEADER) or len(head) < 100:
        raise RegistryDamaged(path, "is not a SQLite database")
    expected = _declared_size(head)
    if size < expected and not _has_wal(path):  # with a WAL, SQLite may be mid-checkpoint: let it recover
        raise RegistryDamaged(path, f"is truncated ({size:,} bytes; its header says {expected:,})")


def _has_wal(path: Path) -> bool:
    try:
        return path.with_name(path.name + "-wal").stat().st_size > 0
    except FileNotFoundError:
        return False


def _declared_size(header: bytes) -> int:
    """The database size SQLite's file header states, when the header says that field is valid.

    (sqlite.org/fileformat.html: the page size at offset 16, the page count at 28, valid when the
    change counter at 24 equals the version-valid-for number at 92.) Without a WAL beside it, a
    sound file is never shorter than this; with one, a checkpoint may be writing it right now.
    """
    page = int.from_bytes(header[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(header[28:32], "big")
    return page * pages if header[24:28] == header[92:96] else 0


def _open(project: Project, schema_version: int) -> sqlite3.Connection | None:
    """A plain ``sqlite3`` connection to the project's registry for reading, or None when the fast
    path does not apply and the caller must take the full path (which then raises whatever error
    is due): a registry that is not a SQLite file given as ``sqlite:///PATH``, a file that does not
    exist yet (the full path creates it), or a schema older than ``schema_version`` (the first
    version holding the tables the caller reads; the full path migrates it).

    A damaged file raises :class:`RegistryDamaged`, exactly as the full path does. The reader
    never writes: migrations that later versions add run on the next full-path command; they
    only add tables, so they cannot change what an older table lists.
    """
    url = project.registry_url
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    database = url[len(prefix):]
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database)
    if not path.is_file():
        return None
    check_registry_file(path)
    try:
        conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT value FROM mlnb_meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.Error:
        conn.close()
        return None
    if row is None or int(row[0]) < schema_version:
        conn.close()
        return None
    return conn


class NoFastPath(Exception):
    """Raised inside :func:`fast_read` to give up the fast path (the caller takes the full one)."""


@contextmanager
def fast_read(project: Project, schema_version: int) -> Iterator[sqlite3.Connection | None]:
    """:func:`_open` as one read transaction, closed after; yields None when it does not
    apply. A ``sqlite3.Error`` inside (a table missing, a column renamed) ends in None being the
    caller's answer too: the caller catches :class:`NoFastPath`."""
    conn = _open(project, schema_version)
    if conn is None:
        yield None
        return
    try:
        conn.execute("BEGIN")  # one snapshot for every statement of the listing
        yield conn
    except sqlite3.Error as exc:
        raise NoFastPath(str(exc)) from exc
    finally:
        conn.close()
