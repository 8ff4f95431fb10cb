"""The change feed behind the panel: a token that changes whenever the registry does.

It is the registry's revision (:meth:`mlnb.store.Registry.revision`): a counter that every write
transaction which changed a row bumps before it commits, on SQLite and PostgreSQL alike. Reading
it is one primary-key query, so polling it every second or so costs nothing that grows with the
registry; the server reads it in a worker thread like every registry read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .._project import Project


def registry_version(project: Project) -> str:
    """A short string that changes whenever a committed write changes the project's registry."""
    from ..store import registry

    return registry(project).revision()


def sqlite_file(project: Project) -> Path | None:
    """The registry's SQLite database file, or None for a server database (or ``:memory:``)."""
    from sqlalchemy.engine import make_url

    url = project.registry_url
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            return Path(database)
    return None
