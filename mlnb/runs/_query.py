"""Reading runs back: one run, a filtered and sorted page of runs, and lineage both ways.

Before answering, runs still marked ``running`` whose process is gone are marked ``crashed``: on
this host by their pid (and process start time), elsewhere by a heartbeat older than
``MLNB_STALE_SECONDS`` (default 300).
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Float, String, and_, func, literal, select, text, union_all, update

from .._project import Project, current_project
from ..errors import NotFound, UsageError, shown
from ..store import registry
from ..store._schema import data_versions, datasets, run_artifacts, run_data, run_latest, run_metrics
from ..store._schema import model_versions, models, run_params, run_tags, runs
from . import _capture, _filter
from ._display import RunRecord, RunTable
from ._query_fast import LIST_COLUMNS, finish_rows
from ._query_fast import duration as _duration
from ._store import decode_value


_RUNNING = text("runs.status = 'running'")


def _stale_seconds() -> float:
    try:
        return float(os.environ.get("MLNB_STALE_SECONDS", "300"))
    except ValueError:
        return 300.0


def gone(rows: Iterable[Any]) -> list[Any]:
    """The rows of ``running`` runs (with host, pid, proc_start, heartbeat_at) whose process is gone:
    on this host by pid and start time, elsewhere by a heartbeat older than ``MLNB_STALE_SECONDS``."""
    me, here, now = os.getpid(), _capture.host(), time.time()
    dead = []
    for r in rows:
        if r.host == here:
            if r.pid != me and r.pid is not None and not _capture.process_alive(r.pid, r.proc_start):
                dead.append(r)
        elif (r.heartbeat_at or 0) < now - _stale_seconds():
            dead.append(r)
    return dead


def reap(project: Project, conn: Connection | None = None) -> list[str]:
    """Mark ``crashed`` the running runs whose process died; returns their ids. ``conn``: an open
    read connection to look through (a listing checks on the connection it lists with: one
    round trip fewer); the marking itself is always its own write transaction."""
    reg = registry(project)
    if conn is None:
        with reg.read() as own:
            return reap(project, own)
    rows = conn.execute(
        select(runs.c.id, runs.c.host, runs.c.pid, runs.c.proc_start, runs.c.heartbeat_at)
        .where(_RUNNING)  # a literal, so SQLite uses the partial index of running runs
    ).fetchall()
    dead = gone(rows) if rows else []
    if dead:
        with reg.write() as wconn:
            for r in dead:
                wconn.execute(
                    update(runs).where(runs.c.id == r.id, runs.c.status == "running")
                    .values(status="crashed", ended_at=r.heartbeat_at,
                            error="the process running it ended without ending the run")
                )
    return [r.id for r in dead]


#: the shortest run id prefix accepted (shorter ones match too many runs to be meant)
MIN_PREFIX = 4


def resolve_id(conn: Connection, run_id: Any) -> str:
    """A full run id from an id, a unique prefix of at least 4 characters, or a run object."""
    run_id = getattr(run_id, "id", run_id)  # a Run or a RunRecord
    if not isinstance(run_id, str) or not run_id.strip():
        raise UsageError(f"invalid run id {run_id!r}: give the id `mlnb runs list` shows")
    run_id = run_id.strip()
    if conn.execute(select(runs.c.id).where(runs.c.id == run_id)).first():
        return run_id
    if len(run_id) < MIN_PREFIX:
        raise UsageError(f"run id prefix {run_id!r} is too short: give at least {MIN_PREFIX} characters of the id "
                         "(`mlnb runs list` shows them)")
    found = conn.execute(select(runs.c.id).where(runs.c.id.like(f"{_escape(run_id)}%", escape="\\")).limit(2)).all()
    if len(found) == 1:
        return found[0][0]
    if len(found) > 1:
        raise UsageError(f"run id prefix {run_id!r} is ambiguous: give more characters")
    raise NotFound(f"no run {run_id!r}: `mlnb runs list` shows the runs there are")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def get(run_id: Any, project: Project | None = None) -> RunRecord:
    """Everything recorded about one run (an id or a unique prefix of 4+ characters).

    >>> r = mlnb.runs.get("3fa2c1")            # doctest: +SKIP
    >>> r.metrics["accuracy"], r.params["lr"], r.inputs  # doctest: +SKIP
    """
    project = project or current_project()
    reap(project)
    with registry(project).read() as conn:
        full = resolve_id(conn, run_id)
        row = conn.execute(select(runs).where(runs.c.id == full)).one()._mapping
        params, latest, tags = _details(conn, [full])
        history = histories(conn, [full])[full]
        artifacts = [dict(a._mapping) for a in conn.execute(
            select(run_artifacts.c.path, run_artifacts.c.md5, run_artifacts.c.size, run_artifacts.c.data_version_id)
            .where(run_artifacts.c.run_id == full).order_by(run_artifacts.c.logged_at)
        )]
        data = _run_data(conn, [full]).get(full, {})
        children = [c for (c,) in conn.execute(select(runs.c.id).where(runs.c.parent_id == full))]
        made = [f"{name}@{number}" for name, number in conn.execute(
            select(models.c.name, model_versions.c.version).join(models, models.c.id == model_versions.c.model_id)
            .where(model_versions.c.run_id == full).order_by(models.c.name, model_versions.c.version))]
    fields = {
        "id": row["id"], "name": row["name"], "status": row["status"], "error": row["error"],
        "started_at": row["started_at"], "ended_at": row["ended_at"], "duration": _duration(row),
        "params": params.get(full, {}), "metrics": latest.get(full, {}), "history": history,
        "tags": tags.get(full, []), "artifacts": artifacts,
        "inputs": data.get("input", []), "outputs": data.get("output", []), "models": made,
        "notebook": row["notebook"], "code": row["code"], "git_commit": row["git_commit"],
        "git_dirty": None if row["git_dirty"] is None else bool(row["git_dirty"]),
        "environment": json.loads(row["environment"]) if row["environment"] else {},
        "parent_id": row["parent_id"], "children": children, "host": row["host"], "pid": row["pid"],
        "experiment": row["experiment"], "note": row["note"], "lifecycle": row["lifecycle"],
    }
    return RunRecord(fields)


def histories(conn: Connection, ids: Sequence[str]) -> dict[str, dict[str, dict[str, list[Any]]]]:
    """Every metric point of runs ``ids`` (full ids): ``{id: {key: {"step": [...], "value": [...]}}}``."""
    out: dict[str, dict[str, dict[str, list[Any]]]] = {i: {} for i in ids}
    for chunk in _chunks(ids):
        for rid, key, step, value, is_nan in conn.execute(
            select(run_metrics.c.run_id, run_metrics.c.key, run_metrics.c.step, run_metrics.c.value,
                   run_metrics.c.is_nan).where(run_metrics.c.run_id.in_(chunk))
            .order_by(run_metrics.c.run_id, run_metrics.c.key, run_metrics.c.id)
        ).all():  # fetched at once: row by row costs ~3x for a long history
            series = out[rid].setdefault(key, {"step": [], "value": []})
            series["step"].append(step)
            series["value"].append(decode_value(value, is_nan))
    return out


def _details(conn: Connection, ids: Sequence[str]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, list[str]]]:
    """The params, latest metrics and tags of runs ``ids``: one query per 500 runs (a UNION ALL
    of the three tables), so a page costs one round trip for all its details."""
    params: dict[str, dict[str, Any]] = defaultdict(dict)
    latest: dict[str, dict[str, Any]] = defaultdict(dict)
    tags: dict[str, list[str]] = defaultdict(list)
    no_text, no_num = literal(None, String), literal(None, Float)
    for chunk in _chunks(ids):
        q = union_all(
            select(literal(0).label("kind"), run_params.c.run_id, run_params.c.key, run_params.c.value.label("text"),
                   no_num.label("num"), literal(0).label("is_nan")).where(run_params.c.run_id.in_(chunk)),
            select(literal(1), run_latest.c.run_id, run_latest.c.key, no_text, run_latest.c.value,
                   run_latest.c.is_nan).where(run_latest.c.run_id.in_(chunk)),
            select(literal(2), run_tags.c.run_id, run_tags.c.tag, no_text, no_num, literal(0))
            .where(run_tags.c.run_id.in_(chunk)),
        ).order_by("kind", "key")
        for kind, rid, key, value, num, is_nan in conn.execute(q):
            if kind == 0:
                params[rid][key] = json.loads(value)
            elif kind == 1:
                latest[rid][key] = decode_value(num, is_nan)
            else:
                tags[rid].append(key)
    return params, latest, tags


def _chunks(ids: Sequence[str], size: int = 500) -> Iterable[list[str]]:
    ids = list(ids)
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def _run_data(conn: Connection, ids: Sequence[str]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    out: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    q = (
        select(run_data.c.run_id, run_data.c.direction, data_versions.c.id, datasets.c.name,
               data_versions.c.version, data_versions.c.md5, datasets.c.path)
        .join(data_versions, data_versions.c.id == run_data.c.data_version_id)
        .join(datasets, datasets.c.id == data_versions.c.dataset_id)
        .where(run_data.c.run_id.in_(list(ids)))
        .order_by(datasets.c.name, data_versions.c.version)
    )
    for rid, direction, vid, name, version, md5, path in conn.execute(q):
        out[rid][direction].append({"ref": f"{name}@{version}", "md5": md5, "path": path, "id": vid})
    return out


#: most comma-separated keys in one sort (each metric or param key is one more join)
MAX_SORT_KEYS = 10


def parse_sort(sort: str | None) -> list[tuple[_filter.Field, bool]]:
    """``-metrics.accuracy,name`` → [(field, descending), ...]; the default is newest first."""
    sort = sort or "-started_at"
    _filter.check_length(sort, "sort")
    parts = [part.strip() for part in sort.split(",") if part.strip()]
    if len(parts) > MAX_SORT_KEYS:
        raise UsageError(f"invalid sort {shown(sort)}: {len(parts)} sort keys, at most {MAX_SORT_KEYS}; "
                         "sort by fewer fields")
    out = [(_filter.parse_field(part.lstrip("+-")), part.startswith("-")) for part in parts]
    return out or [(_filter.parse_field("started_at"), True)]


def _order(spec: list[tuple[_filter.Field, bool]], first: int = 0) -> tuple[list[Any], list[Any]]:
    """(outer joins, ORDER BY terms) for sort keys ``spec[first:]``, ending with the run id."""
    joins: list[Any] = []
    order: list[Any] = []
    for n, (field, desc) in enumerate(spec[first:], first):
        if field.kind in ("metrics", "params"):
            table = run_latest if field.kind == "metrics" else run_params
            alias = table.alias(f"sort{n}")
            joins.append((alias, and_(alias.c.run_id == runs.c.id, alias.c.key == field.key)))
            cols = [alias.c.value] if field.kind == "metrics" else [alias.c.num, alias.c.value]
        elif field.key == "duration":
            cols = [_filter.duration_column()]
        else:
            cols = [_filter.RUN_FIELDS[field.key]]
        order.extend((c.desc() if desc else c.asc()).nulls_last() for c in cols)
    desc = spec[0][1] if spec else False
    order.append(runs.c.id.desc() if desc else runs.c.id.asc())  # ties: a stable order for paging
    return joins, order


_LIST_SELECT = (runs.c.id, runs.c.name, runs.c.status, runs.c.started_at, runs.c.ended_at, runs.c.heartbeat_at,
                runs.c.error, runs.c.experiment, runs.c.note, runs.c.lifecycle)


def first_query(condition: Any, spec: list[tuple[_filter.Field, bool]]) -> tuple[Any, list[Any], bool]:
    """(select, ORDER BY terms, keyed) of a listing's first query: the whole listing, or when
    ``keyed`` (sorted by a metric or param), the runs that have the sort key, in its order."""
    field, desc = spec[0]
    if field.kind not in ("metrics", "params"):
        joins, order = _order(spec)
        base = runs
        for alias, on in joins:
            base = base.outerjoin(alias, on)
        return select(*_LIST_SELECT).select_from(base).where(condition), order, False
    table = run_latest if field.kind == "metrics" else run_params
    key = table.alias("sortkey")
    present = key.c.value.is_not(None)  # a NaN metric (NULL) sorts with the runs that lack the key
    joins, order = _order(spec, first=1)
    keyed = key.join(runs, runs.c.id == key.c.run_id)
    for alias, on in joins:
        keyed = keyed.outerjoin(alias, on)
    if field.kind == "metrics":  # no NULLs pass `present`: a plain order, which the (key, value) index gives
        head = [key.c.value.desc() if desc else key.c.value.asc()]
    else:
        head = [(c.desc() if desc else c.asc()).nulls_last() for c in (key.c.num, key.c.value)]
    where = and_(key.c.key == field.key, present, condition)
    return select(*_LIST_SELECT).select_from(keyed).where(where), [*head, *order], True


def _page(conn: Connection, condition: Any, spec: list[tuple[_filter.Field, bool]], limit: int, offset: int) -> list[dict[str, Any]]:
    """The rows of one page. Sorting by a metric or param walks that key's index, so the first
    page costs a few probes however many runs there are; runs without the key come last."""
    q, terms, keyed = first_query(condition, spec)
    rows = [dict(r._mapping) for r in conn.execute(q.order_by(*terms).limit(limit).offset(offset))]
    if not keyed or len(rows) == limit:
        return rows
    field = spec[0][0]
    table = run_latest if field.kind == "metrics" else run_params
    joins, order = _order(spec, first=1)
    keyed_from = q.get_final_froms()[0]
    where = q.whereclause
    with_key = offset + len(rows) if rows else conn.execute(
        select(func.count()).select_from(keyed_from).where(where)).scalar()
    rest = runs
    for alias, on in joins:
        rest = rest.outerjoin(alias, on)
    lacking = ~_filter.has(table, table.c.key == field.key, table.c.value.is_not(None))
    q = (select(*_LIST_SELECT).select_from(rest).where(condition, lacking).order_by(*order)
         .limit(limit - len(rows)).offset(max(0, offset - with_key)))
    return rows + [dict(r._mapping) for r in conn.execute(q)]


def list_runs(
    filter: str | None = None,  # noqa: A002 - the CLI flag's name
    sort: str | None = None,
    limit: int = 50,
    offset: int = 0,
    project: Project | None = None,
    experiment: str | None = None,
    lifecycle: str = "active",
) -> RunTable:
    """A page of runs matching ``filter``, ordered by ``sort`` (default: newest first).

    Only active runs are listed unless ``lifecycle`` says ``archived``, ``deleted`` or ``all``;
    ``experiment`` keeps the runs of one experiment.

    ``sort`` is a field, ``-`` for descending, several separated by commas; runs without the
    sort key come last. The filter language is described in :mod:`mlnb.runs._filter`.

    >>> mlnb.runs.list("metrics.accuracy > 0.8 and params.lr < 0.5", sort="-metrics.accuracy", limit=20)  # doctest: +SKIP
    >>> mlnb.runs.list(limit=1000).to_frame()  # doctest: +SKIP
    """
    project = project or current_project()
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise UsageError(f"invalid limit {limit!r}: use a whole number >= 0")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise UsageError(f"invalid offset {offset!r}: use a whole number >= 0")
    reg = registry(project)
    one = None
    if limit and not reg.is_sqlite:  # a server: one round trip when nothing needs the full path
        from ._list_one import list_one

        one = list_one(reg, (filter, sort, experiment, lifecycle, limit, offset), _RUNNING, gone)
    if one is not None:
        rows, (params, latest, tags) = one
    else:
        condition, spec = listing(filter, sort, experiment, lifecycle)
        rows, params, latest, tags = _list_page(project, condition, spec, limit, offset)
    return finish_rows(rows, params, latest, tags, {"filter": filter, "sort": sort, "limit": limit, "offset": offset,
                                                    "experiment": experiment, "lifecycle": lifecycle})


def listing(filter: str | None, sort: str | None, experiment: str | None,  # noqa: A002 - the CLI flag's name
            lifecycle: str) -> tuple[Any, list[tuple[_filter.Field, bool]]]:
    """(condition, sort spec) of a listing's arguments; a bad filter, sort or scope is refused here."""
    return and_(_filter.compile_filter(filter), *scope(experiment, lifecycle)), parse_sort(sort)


def _list_page(project: Project, condition: Any, spec: list[tuple[_filter.Field, bool]], limit: int,
               offset: int) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A page and its details, after marking the runs whose process died."""
    for attempt in range(2):  # a run just marked crashed is listed from a second, fresh read
        with registry(project).read() as conn:
            if attempt or not reap(project, conn):
                rows = _page(conn, condition, spec, limit, offset) if limit else []
                params, latest, tags = _details(conn, [r["id"] for r in rows])
                break
    return rows, params, latest, tags


def scope(experiment: str | None, lifecycle: str) -> list[Any]:
    """The conditions of a listing's ``experiment`` and ``lifecycle`` arguments."""
    from ._curate import LIFECYCLES, check_experiment

    if lifecycle not in (*LIFECYCLES, "all"):
        raise UsageError(f"invalid lifecycle {lifecycle!r}: use active, archived, deleted or all")
    out = [] if lifecycle == "all" else [runs.c.lifecycle == lifecycle]
    if experiment is not None:
        out.append(runs.c.experiment == check_experiment(experiment))
    return out


def lineage(ref_or_run: Any, project: Project | None = None) -> RunTable | RunRecord:
    """Lineage both ways: the runs that read or wrote a data version, or a run's inputs and outputs.

    >>> mlnb.runs.lineage("train@3")     # which runs used train@3 (and which produced it)  # doctest: +SKIP
    >>> mlnb.runs.lineage(run_id)        # the run's record: inputs, outputs, artifacts   # doctest: +SKIP
    """
    project = project or current_project()
    with registry(project).read() as conn:
        try:
            run_id = resolve_id(conn, ref_or_run)
        except NotFound:
            run_id = None
    if run_id is not None:
        return get(run_id, project)
    from ..data import resolve

    try:
        version = resolve(ref_or_run, project)
    except NotFound:
        raise NotFound(f"{ref_or_run!r} is neither a run id nor a data version: "
                       "`mlnb runs list` and `mlnb data list` show what there is") from None
    reap(project)
    with registry(project).read() as conn:
        links = conn.execute(
            select(run_data.c.run_id, run_data.c.direction).where(run_data.c.data_version_id == version.id)
        ).fetchall()
        direction = {}
        for rid, d in links:
            direction[rid] = "read+wrote" if rid in direction and direction[rid] != d else ("read" if d == "input" else "wrote")
        rows = [dict(r._mapping) for r in conn.execute(
            select(*_LIST_SELECT)
            .where(runs.c.id.in_(list(direction))).order_by(runs.c.started_at.desc())
        )]
        params, latest, tags = _details(conn, [r["id"] for r in rows])
    for r in rows:
        r["duration"] = _duration(r)
        r["used_as"] = direction[r["id"]]
        r["params"], r["metrics"], r["tags"] = params.get(r["id"], {}), latest.get(r["id"], {}), tags.get(r["id"], [])
    return RunTable(rows, ["id", "name", "used_as", "status", "started_at", "duration", "metrics"],
                    title=f"runs that used {version.ref}", empty=f"no run read or wrote {version.ref}")
