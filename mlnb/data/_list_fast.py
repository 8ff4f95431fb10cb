"""``mlnb data list`` without SQLAlchemy: read with the standard library's ``sqlite3`` when the
registry is a SQLite file, so a fresh process answers without the full path's start-up. Where that
does not apply (PostgreSQL, a registry not created yet), :func:`mlnb.data._versions.list_datasets`
answers with the same table.
"""

from __future__ import annotations

from typing import Any

from .._display import Table, format_bytes, format_time
from .._project import current_project
from ..store._file import NoFastPath, fast_read

LIST_COLUMNS = ["name", "latest", "path", "size", "rows", "cols", "versions", "updated"]

#: the registry schema version that created the data tables (mlnb/store/_schema.py, migration 1)
DATA_SCHEMA = 1

_FIELDS = ("name", "path", "latest", "versions", "size", "rows", "cols", "updated")
_QUERY = """
SELECT d.name, d.path, l.latest, l.versions, v.size, v.rows, v.cols, v.created_at
FROM datasets AS d
JOIN (SELECT dataset_id, max(version) AS latest, count(*) AS versions
      FROM data_versions GROUP BY dataset_id) AS l ON l.dataset_id = d.id
JOIN data_versions AS v ON v.dataset_id = d.id AND v.version = l.latest
ORDER BY d.name
"""


def datasets_table(rows: list[dict[str, Any]]) -> Table:
    """The listing's table: one row per dataset."""
    return Table(rows, LIST_COLUMNS, title="datasets", formatters={"size": format_bytes, "updated": format_time},
                 empty="no datasets yet: mlnb.data.save(df, NAME) or `mlnb data add PATH`")


def list_datasets_fast() -> Table | None:
    """One row per dataset straight from SQLite, or None when the full path must answer."""
    try:
        with fast_read(current_project(), DATA_SCHEMA) as conn:
            if conn is None:
                return None
            rows = [dict(zip(_FIELDS, row)) for row in conn.execute(_QUERY)]
    except NoFastPath:
        return None
    return datasets_table(rows)
