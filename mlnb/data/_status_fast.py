"""``mlnb data status`` without DVC or SQLAlchemy, and the status table both paths print.

The full path (:func:`mlnb.data._storage.status`) asks DVC for each working copy's hash. For a
plain file the answer is the md5 of its bytes, which this module finds without DVC: from the
stamp an add or a checkout left when the file's stat is still the stamped one
(:mod:`mlnb.data._add_fast`), else by hashing the file itself when it is small. A folder, a
symlink, a large file with no matching stamp, or a registry that is not a SQLite file hands the
whole answer to the full path, which prints the same table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from .._display import Table
from .._project import Project, current_project
from ..store._file import NoFastPath, fast_read
from ._add_fast import file_stat, load_stamp, recorded_md5

STATUS_COLUMNS = ["name", "path", "checked_out", "latest", "state"]

#: a file without a matching stamp is hashed here up to this size; a larger one goes to DVC,
#: whose state database may know its hash without reading it
HASH_MAX_BYTES = 16 * 1024**2

#: the registry schema version that created the data tables (mlnb/store/_schema.py, migration 1)
_DATA_SCHEMA = 1

_QUERY = """
SELECT d.name, d.path, v.version, v.md5 FROM datasets AS d JOIN data_versions AS v ON v.dataset_id = d.id
ORDER BY d.name, v.version
"""


def status_table(rows: list[dict[str, Any]]) -> Table:
    """The status's table: one row per dataset."""
    return Table(rows, STATUS_COLUMNS, title="working copy", empty="no datasets yet")


def status_rows(project: Project, registered: Iterable[tuple[str, str, int, str]],
                working_md5: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """One status row per dataset from ``(name, path, version, md5)`` rows ordered by name and
    version; ``working_md5(path)`` is the working copy's hash (None when it is absent).

    ``state`` is ``latest``, ``older version``, ``modified``, ``missing`` or ``untracked``
    (see :func:`mlnb.data.status`).
    """
    versions: dict[str, dict[str, int]] = {}
    paths: dict[str, str] = {}
    for name, rel, number, md5 in registered:
        versions.setdefault(name, {})[md5] = number
        paths[name] = rel
    rows = []
    for name, rel in paths.items():
        latest = max(versions[name].values())
        row = {"name": name, "path": rel, "checked_out": None, "latest": f"{name}@{latest}"}
        recorded = recorded_md5(project, rel)
        if recorded is None:
            rows.append({**row, "state": "untracked"})
            continue
        number = versions[name].get(recorded)
        row["checked_out"] = f"{name}@{number}" if number else None
        current = working_md5(rel)
        if current is None:
            state = "missing"
        elif current != recorded:
            state = "modified"
        else:
            state = "latest" if number == latest else "older version"
        rows.append({**row, "state": state})
    return rows


def file_md5(project: Project, rel: str) -> str | None:
    """The md5 DVC would give the working copy at ``rel`` (None when absent), from its stamp or
    its bytes; raises :class:`NoFastPath` where only DVC can tell (folders, links, large files)."""
    full = project.root / rel
    stat = file_stat(full)
    if stat is None:
        if full.exists():  # a link to something not there, or no permission: DVC decides
            raise NoFastPath(rel)
        return None
    if full.is_symlink() or not full.is_file():
        raise NoFastPath(rel)
    stamp = load_stamp(project, rel)
    if stamp is not None and stamp.get("stat") == stat and stamp.get("md5"):
        return stamp["md5"]
    if stat[2] > HASH_MAX_BYTES:
        raise NoFastPath(rel)
    digest = hashlib.md5()
    try:
        with open(full, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise NoFastPath(rel) from exc
    return digest.hexdigest()


def status_fast() -> Table | None:
    """The status table from SQLite and the stamps, or None when the full path must answer."""
    project = current_project()
    try:
        with fast_read(project, _DATA_SCHEMA) as conn:
            if conn is None:
                return None
            registered = conn.execute(_QUERY).fetchall()
        return status_table(status_rows(project, registered, lambda rel: file_md5(project, rel)))
    except NoFastPath:
        return None
