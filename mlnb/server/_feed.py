"""A cheap fingerprint of the registry, so the panel can poll for changes every second or so.

For SQLite it is the size and modification time of the database and its write-ahead log (two
``stat`` calls, no query); every committed write changes one of them. For a server database it is
the largest id and row count of each registry table, which a new or updated run also changes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .._project import Project


def registry_version(project: Project) -> str:
    """A short string that changes whenever the project's registry changes."""
    database = sqlite_file(project)
    return _table_stamp(project) if database is None else _file_stamp(database)


def sqlite_file(project: Project) -> Path | None:
    """The registry's SQLite database file, or None for a server database (or ``:memory:``)."""
    from sqlalchemy.engine import make_url

    url = project.registry_url
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            return Path(database)
    return None


def _file_stamp(db: Path) -> str:
    parts = []
    for path in (db, db.with_name(db.name + "-wal")):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            parts.append("-")
            continue
        parts.append(f"{st.st_mtime_ns}:{st.st_size}")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


def _table_stamp(project: Project) -> str:
    from sqlalchemy import func, select

    from ..store import registry

    reg = registry(project)
    parts = []
    with reg.read() as conn:
        for table in reg.tables.metadata.sorted_tables:
            cols = [func.count()]
            cols += [func.max(table.c[c]) for c in ("id", "updated_at", "ended_at") if c in table.c]
            parts.append(f"{table.name}:{conn.execute(select(*cols).select_from(table)).one()}")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]
