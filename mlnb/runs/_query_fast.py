"""``mlnb runs list`` without SQLAlchemy: the default listing (no filter, newest first) read with
the standard library's ``sqlite3`` when the registry is a SQLite file, so a fresh process answers
in a fraction of the full path's start-up. Anything else — a filter, a sort, PostgreSQL, a run
still marked running (the full path checks whether its process died) — takes the full path of
:func:`mlnb.runs._query.list_runs`, which gives the same table.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import defaultdict
from typing import Any

from .._project import current_project
from ..store._file import NoFastPath, fast_read
from ._display import RunTable

LIST_COLUMNS = ["id", "name", "status", "started_at", "ended_at", "duration", "params", "metrics", "tags"]

#: the registry schema version from which runs have every column listed here: the curation
#: columns (``CURATION_SCHEMA`` of mlnb/store/_schema.py, a test checks they agree); an older
#: registry takes the full path, which migrates it
RUNS_SCHEMA = 8

#: what :func:`mlnb.runs._query._page` selects for each run
LIST_FIELDS = ("id", "name", "status", "started_at", "ended_at", "heartbeat_at", "error", "experiment", "note",
               "lifecycle")


def duration(row: dict[str, Any]) -> float | None:
    """Seconds from start to end (or to the last heartbeat of a run still going)."""
    end = row["ended_at"] or row["heartbeat_at"]
    return None if end is None else max(0.0, end - row["started_at"])


def finish_rows(rows: list[dict[str, Any]], params: dict[str, dict[str, Any]], latest: dict[str, dict[str, Any]],
                tags: dict[str, list[str]], query: dict[str, Any]) -> RunTable:
    """The listing's table from its page of runs and their params, latest metrics and tags."""
    for r in rows:
        r["duration"] = duration(r)
        r["params"], r["metrics"], r["tags"] = params.get(r["id"], {}), latest.get(r["id"], {}), tags.get(r["id"], [])
    columns = list(LIST_COLUMNS)
    if any(r.get("experiment") for r in rows):  # a column only where runs are grouped
        columns.insert(columns.index("name") + 1, "experiment")
    if query.get("lifecycle", "active") != "active":
        columns.insert(columns.index("status") + 1, "lifecycle")
    return RunTable(rows, columns, query=query)


def list_runs_fast(filter: str | None = None, sort: str | None = None,  # noqa: A002 - the CLI flag's name
                   limit: int = 50, offset: int = 0, experiment: str | None = None,
                   lifecycle: str = "active") -> RunTable | None:
    """The default listing straight from SQLite, or None when the full path must answer."""
    if filter is not None or sort is not None or type(limit) is not int or type(offset) is not int:
        return None
    if experiment is not None or lifecycle != "active":
        return None
    if limit < 0 or offset < 0:
        return None  # the full path says what is wrong
    try:
        with fast_read(current_project(), RUNS_SCHEMA) as conn:
            if conn is None:
                return None
            if conn.execute("SELECT 1 FROM runs WHERE status = 'running' LIMIT 1").fetchone():
                return None  # maybe crashed: the full path looks at its process and marks it
            rows = _page(conn, limit, offset) if limit else []
            params, latest, tags = _details(conn, [r["id"] for r in rows])
    except NoFastPath:
        return None
    return finish_rows(rows, params, latest, tags, {"filter": filter, "sort": sort, "limit": limit, "offset": offset,
                                                    "experiment": experiment, "lifecycle": lifecycle})


def _page(conn: sqlite3.Connection, limit: int, offset: int) -> list[dict[str, Any]]:
    cur = conn.execute(f"SELECT {', '.join(LIST_FIELDS)} FROM runs WHERE lifecycle = 'active' "
                       "ORDER BY started_at DESC, id DESC "
                       "LIMIT ? OFFSET ?", (limit, offset))
    return [dict(zip(LIST_FIELDS, row)) for row in cur]


def _details(conn: sqlite3.Connection, ids: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, list[str]]]:
    params: dict[str, dict[str, Any]] = defaultdict(dict)
    latest: dict[str, dict[str, Any]] = defaultdict(dict)
    tags: dict[str, list[str]] = defaultdict(list)
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        marks = ", ".join("?" * len(chunk))
        for rid, key, value in conn.execute(
                f"SELECT run_id, key, value FROM run_params WHERE run_id IN ({marks}) ORDER BY key", chunk):
            params[rid][key] = json.loads(value)
        for rid, key, value, is_nan in conn.execute(
                f"SELECT run_id, key, value, is_nan FROM run_latest WHERE run_id IN ({marks}) ORDER BY key", chunk):
            latest[rid][key] = math.nan if is_nan else value
        for rid, tag in conn.execute(f"SELECT run_id, tag FROM run_tags WHERE run_id IN ({marks}) ORDER BY tag", chunk):
            tags[rid].append(tag)
    return params, latest, tags
