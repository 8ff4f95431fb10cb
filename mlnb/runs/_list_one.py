"""A page of runs from a PostgreSQL registry in one statement, one round trip.

The full listing (:func:`mlnb.runs._query.list_runs`) costs six round trips on PostgreSQL: the
pool's liveness ping, BEGIN, the look for running runs whose process died, the page, its params,
metrics and tags, ROLLBACK. On a busy server each waits its turn for a core, so a listing costs
six scheduler waits (issue 16 §6: 16 writers on 2 cores). Here one statement returns the page
— each run with its params, latest metrics and tags as JSON arrays — and the running runs once
(an uncorrelated sub-select PostgreSQL evaluates once), sent on an autocommit connection without
a ping (:meth:`mlnb.store._engine.Registry.one_statement`). It gives the full path's table; it
hands over to the full path (returns None) when that must act or look further:

- a running run whose process is gone (the full path marks it crashed, then lists);
- an empty page (the running runs came back with the page's rows);
- a page sorted by a metric or param that runs short of runs with that key (the full path adds
  the runs without it).

The statement of a listing is built once for its arguments and kept (:func:`planned`): building
and compiling it cost more CPU than the rest of the listing, and a panel lists the same page
again and again. The running runs come on the first row only (the others would repeat them).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict, defaultdict
from types import SimpleNamespace
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from ..store._schema import run_latest, run_params, run_tags, runs
from . import _query
from ._store import decode_value

Details = tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, list[str]]]
#: a listing's arguments: (filter, sort, experiment, lifecycle, limit, offset)
Args = tuple[Any, Any, Any, str, int, int]

#: how many listings' statements are kept (a panel shows a few filters and pages at a time)
KEPT = 64
_kept: OrderedDict[Args, tuple[Any, bool]] = OrderedDict()
_kept_lock = threading.Lock()


def statement(first: Any, terms: list[Any], limit: int, offset: int, running: Any) -> Any:
    """The one statement: the page of ``first`` (ordered by ``terms``) with its details, and the
    running runs (``running``: their condition) as one JSON array on every row."""
    page = (first.add_columns(func.row_number().over(order_by=terms).label("pos"))
            .order_by(*terms).limit(limit).offset(offset).subquery("page"))

    def agg(table: Any, value: Any, key: Any) -> Any:
        return (select(func.json_agg(aggregate_order_by(value, key)))
                .where(table.c.run_id == page.c.id).scalar_subquery())

    alive = (select(func.json_agg(func.json_build_array(runs.c.id, runs.c.host, runs.c.pid, runs.c.proc_start,
                                                        runs.c.heartbeat_at)))
             .where(running).scalar_subquery())
    return select(
        *(c for c in page.c if c.name != "pos"),
        agg(run_params, func.json_build_array(run_params.c.key, run_params.c.value), run_params.c.key).label("p_"),
        agg(run_latest, func.json_build_array(run_latest.c.key, run_latest.c.value, run_latest.c.is_nan),
            run_latest.c.key).label("m_"),
        agg(run_tags, run_tags.c.tag, run_tags.c.tag).label("t_"),
        case((page.c.pos == offset + 1, alive)).label("running_"),  # on the first row only
    ).order_by(page.c.pos)


def _number(value: Any) -> Any:
    """A float8 from JSON: PostgreSQL writes infinities (and NaN) as strings."""
    return float(value) if isinstance(value, str) else value


def planned(args: Args, running: Any) -> tuple[Any, bool]:
    """(statement, keyed) of a listing's ``args``, built once for arguments of plain types and kept
    (the :data:`KEPT` last used). A bad filter, sort or scope is refused here, as by the full path,
    and never kept. Dates in a filter are read in the local time zone of the first build."""
    plain = all(a is None or type(a) in (str, int) for a in args)
    if plain:
        with _kept_lock:
            found = _kept.get(args)
            if found is not None:
                _kept.move_to_end(args)
                return found
    flt, sort, experiment, lifecycle, limit, offset = args
    first, terms, keyed = _query.first_query(*_query.listing(flt, sort, experiment, lifecycle))
    made = statement(first, terms, limit, offset, running), keyed
    if plain:
        with _kept_lock:
            _kept[args] = made
            while len(_kept) > KEPT:
                _kept.popitem(last=False)
    return made


def list_one(reg: Any, args: Args, running: Any, dead: Any) -> tuple[list[dict[str, Any]], Details] | None:
    """(rows, (params, latest, tags)) of the page the listing ``args`` asks for, or None: the full
    path answers (module doc). ``running``: the condition of running runs; ``dead(rows)`` names
    those whose process is gone (:func:`._query.gone`)."""
    query, keyed = planned(args, running)
    limit = args[4]
    result = reg.one_statement(query)
    if not result or (keyed and len(result) < limit):
        return None
    alive = [SimpleNamespace(id=r[0], host=r[1], pid=r[2], proc_start=r[3], heartbeat_at=r[4])
             for r in result[0].running_ or []]
    if alive and dead(alive):
        return None
    params: dict[str, dict[str, Any]] = defaultdict(dict)
    latest: dict[str, dict[str, Any]] = defaultdict(dict)
    tags: dict[str, list[str]] = defaultdict(list)
    rows = []
    for r in result:
        row = dict(r._mapping)
        rid = row["id"]
        for key, value in row.pop("p_") or []:
            params[rid][key] = json.loads(value)
        for key, value, is_nan in row.pop("m_") or []:
            latest[rid][key] = decode_value(_number(value), is_nan)
        tags[rid].extend(row.pop("t_") or [])
        row.pop("running_")
        rows.append(row)
    return rows, (params, latest, tags)
