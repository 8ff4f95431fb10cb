"""The SQL a run writes: one transaction to start it, one per flush, one to end it.

Upserts use each dialect's ``ON CONFLICT`` (SQLite and PostgreSQL); other databases fall back to
delete-then-insert inside the same transaction. A flush goes through :func:`write_salvaging`, so a
row the database refuses is set aside instead of failing the whole flush.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, delete, exc, update

from ..store._engine import copy_rows
from ..store._schema import run_artifacts, run_data, run_latest, run_metrics, run_params, run_tags, runs

#: a metric point as buffered in memory: (key, step, value, logged_at)
Point = tuple[str, int, float, float]


_upserts: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], Any] = {}


def upsert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> None:
    """Insert ``rows``; where a row with the same ``keys`` exists, overwrite its other columns."""
    if not rows:
        return
    name = conn.dialect.name
    if name not in ("sqlite", "postgresql"):  # pragma: no cover - other dialects
        for row in rows:
            conn.execute(delete(table).where(and_(*(table.c[k] == row[k] for k in keys))))
        conn.execute(table.insert(), list(rows))
        return
    others = tuple(c for c in rows[0] if c not in keys)
    cache_key = (name, table.name, tuple(keys), others)
    stmt = _upserts.get(cache_key)
    if stmt is None:  # building an ON CONFLICT statement costs more than running it: build once
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        stmt = insert(table)
        if others:
            stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in others})
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
        _upserts[cache_key] = stmt
    conn.execute(stmt, list(rows))


def encode_value(value: float) -> tuple[float | None, int]:
    """(value, is_nan): NaN is stored as NULL plus a flag, since SQLite cannot hold it."""
    return (None, 1) if math.isnan(value) else (value, 0)


def decode_value(value: float | None, is_nan: int | bool) -> float | None:
    return math.nan if is_nan else value


def param_rows(run_id: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, value in params.items():
        num = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            num = float(value)
            if math.isnan(num):
                num = None
        rows.append({"run_id": run_id, "key": key, "value": json.dumps(value, default=str), "num": num})
    return rows


def insert_run(conn: Connection, row: Mapping[str, Any], params: Mapping[str, Any], tags: Iterable[str]) -> None:
    row = dict(row)
    row["lifecycle"] = row.get("lifecycle") or "active"  # a run exported before runs had one
    conn.execute(runs.insert(), [row])
    upsert(conn, run_params, param_rows(row["id"], params), ["run_id", "key"])
    upsert(conn, run_tags, [{"run_id": row["id"], "tag": t} for t in tags], ["run_id", "tag"])


def write_batch(
    conn: Connection,
    run_id: str,
    points: Sequence[Point] = (),
    params: Mapping[str, Any] | None = None,
    tags: Iterable[str] = (),
    artifacts: Sequence[Mapping[str, Any]] = (),
    data: Iterable[tuple[str, int]] = (),
    run_fields: Mapping[str, Any] | None = None,
) -> None:
    """Everything buffered for one run, in the caller's transaction."""
    if points:
        rows = []
        latest: dict[str, tuple[Any, ...]] = {}
        for key, step, value, logged_at in points:
            stored, is_nan = encode_value(value)
            row = (run_id, key, step, stored, is_nan, logged_at)
            rows.append(row)
            latest[key] = row
        insert_points(conn, rows)
        upsert(conn, run_latest, [
            {"run_id": run_id, "key": k, "value": r[3], "is_nan": r[4], "step": r[2]} for k, r in latest.items()
        ], ["run_id", "key"])
    if params:
        upsert(conn, run_params, param_rows(run_id, params), ["run_id", "key"])
    upsert(conn, run_tags, [{"run_id": run_id, "tag": t} for t in tags], ["run_id", "tag"])
    upsert(conn, run_artifacts, [{"run_id": run_id, **a} for a in artifacts], ["run_id", "path"])
    upsert(conn, run_data, [{"run_id": run_id, "direction": d, "data_version_id": i} for d, i in data],
           ["run_id", "data_version_id", "direction"])
    if run_fields:
        fields = tuple(sorted(run_fields))
        stmt = _updates.get(fields)
        if stmt is None:
            stmt = _updates[fields] = update(runs).where(runs.c.id == bindparam("run_id_"))
        conn.execute(stmt, {"run_id_": run_id, **run_fields})


#: errors that say nothing about the rows (a busy, locked or unreachable database): the whole batch
#: is kept for the next try. Any other error is the database refusing something in the batch.
TRANSIENT = (exc.OperationalError, exc.InterfaceError, exc.DisconnectionError, exc.TimeoutError)


def write_salvaging(
    conn: Connection,
    run_id: str,
    points: Sequence[Point] = (),
    params: Mapping[str, Any] | None = None,
    tags: Sequence[str] = (),
    artifacts: Sequence[Mapping[str, Any]] = (),
    data: Sequence[tuple[str, int]] = (),
    run_fields: Mapping[str, Any] | None = None,
) -> list[tuple[str, BaseException]]:
    """:func:`write_batch`, but a row the database refuses never takes the good ones down with it.

    The batch is tried whole in a savepoint; when it is refused, each part is retried on its own
    (metric points by halves, so one bad point among 10,000 costs about 30 small tries) and the
    refused parts are returned as ``(what, error)`` instead of raised. Transient errors are raised.
    """
    whole = _attempt(conn, lambda: write_batch(conn, run_id, points, params, tags, artifacts, data, run_fields))
    if whole is None:
        return []
    refused: list[tuple[str, BaseException]] = []
    _halves(conn, list(points), lambda part: write_batch(conn, run_id, points=part), refused)
    parts: list[tuple[str, Any]] = [
        *((f"param {k!r}", lambda k=k, v=v: write_batch(conn, run_id, params={k: v})) for k, v in (params or {}).items()),
        *((f"tag {t!r}", lambda t=t: write_batch(conn, run_id, tags=[t])) for t in tags),
        *((f"artifact {a['path']!r}", lambda a=a: write_batch(conn, run_id, artifacts=[a])) for a in artifacts),
        *((f"{d} data version {i}", lambda d=d, i=i: write_batch(conn, run_id, data=[(d, i)])) for d, i in data),
    ]
    if run_fields:
        parts.append(("the run's status fields", lambda: write_batch(conn, run_id, run_fields=run_fields)))
    for what, write in parts:
        error = _attempt(conn, write)
        if error is not None:
            refused.append((what, error))
    return refused


def _attempt(conn: Connection, write: Any) -> BaseException | None:
    """Run ``write`` in a savepoint: None when it was written, the error when the database refused it."""
    savepoint = conn.begin_nested()
    try:
        write()
    except TRANSIENT:
        raise
    except Exception as error:  # noqa: BLE001 - a refusal of these rows, whatever its type
        savepoint.rollback()
        return error
    savepoint.commit()
    return None


def _halves(conn: Connection, points: list[Point], write: Any, refused: list[tuple[str, BaseException]]) -> None:
    if not points:
        return
    error = _attempt(conn, lambda: write(points))
    if error is None:
        return
    if len(points) == 1:
        key, step = points[0][0], points[0][1]
        refused.append((f"metric {key!r} at step {step}", error))
        return
    middle = len(points) // 2
    _halves(conn, points[:middle], write, refused)
    _halves(conn, points[middle:], write, refused)


def scrub_code(registry: Any, run_id: str, secrets: Sequence[str]) -> None:
    """Take ``secrets`` out of a run's stored code (one write, for a credential logged as a param)."""
    from sqlalchemy import func

    from ._capture import REDACTED

    code = runs.c.code
    for secret in secrets:
        code = func.replace(code, secret, REDACTED)
    with registry.write() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id, runs.c.code.is_not(None)).values(code=code))


def storable_text(text: str | None) -> str | None:
    """Free text (code, an error message) as both databases store it: no NUL, no lone surrogate."""
    if text is None or (text.isascii() and "\x00" not in text):
        return text
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


_updates: dict[tuple[str, ...], Any] = {}
_REVIVE = (update(runs).where(runs.c.id == bindparam("run_id_"), runs.c.status == "crashed")
           .values(status="running", ended_at=None, error=None))


def revive(conn: Connection, run_id: str) -> None:
    """A run taken for crashed (a silent heartbeat, e.g. a suspended laptop) that writes again runs again."""
    conn.execute(_REVIVE, {"run_id_": run_id})


_REOPEN = (update(runs).where(runs.c.id == bindparam("run_id_"), runs.c.status == "finished")
           .values(status="running", ended_at=None, error=None))


def reopen(conn: Connection, run_id: str) -> bool:
    """A finished run runs again (a notebook stage continued by its next cell); False when it was not finished."""
    return bool(conn.execute(_REOPEN, {"run_id_": run_id}).rowcount)
_POINT_COLUMNS = ("run_id", "key", "step", "value", "is_nan", "logged_at")


def insert_points(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Metric points straight through the driver's executemany: at thousands of rows per flush,
    SQLAlchemy's per-row parameter handling would cost more than the database."""
    if conn.dialect.name not in ("sqlite", "postgresql"):  # pragma: no cover - other dialects
        conn.execute(run_metrics.insert(), [dict(zip(_POINT_COLUMNS, r)) for r in rows])
        return
    if conn.dialect.driver == "psycopg":  # PostgreSQL: one COPY, not one INSERT a row
        copy_rows(conn, run_metrics.name, _POINT_COLUMNS, rows)
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {run_metrics.name} ({', '.join(_POINT_COLUMNS)}) "
           f"VALUES ({', '.join([mark] * len(_POINT_COLUMNS))})")
    conn.exec_driver_sql(sql, rows)
