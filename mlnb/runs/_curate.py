"""Curating runs after the fact: rename, note, experiment, delete, restore, archive.

A run's lifecycle is MLflow's, plus an archive: ``active`` (listed), ``archived`` (put away,
hidden from listings) or ``deleted`` (soft-deleted, hidden too). Nothing is ever removed from the
registry: ``restore`` makes a run active again. Each change is one transaction that also writes a
row of ``run_events`` (who, on which host, when, the value before and after); a call that changes
nothing writes nothing.

>>> mlnb.runs.rename("3fa2c1", "baseline-v2")           # doctest: +SKIP
>>> mlnb.runs.note("3fa2c1", "lr too high: diverged")   # doctest: +SKIP
>>> mlnb.runs.delete("3fa2c1"); mlnb.runs.restore("3fa2c1")  # doctest: +SKIP
>>> mlnb.runs.history("3fa2c1")                          # doctest: +SKIP
"""

from __future__ import annotations

import getpass
import os
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select, update

from .._display import Record, Table, format_time
from .._project import Project, current_project
from ..errors import UsageError
from ..store import registry
from ..store._schema import run_events, runs
from . import _capture, _store
from ._limits import check_name
from ._query import resolve_id

#: what ``lifecycle=`` of :func:`mlnb.runs.list` accepts; ``all`` lists every run
LIFECYCLES = ("active", "archived", "deleted")
#: longest note, in characters
MAX_NOTE = 10_000

_STATE = ["id", "name", "experiment", "lifecycle", "note"]
_TITLES = {"rename": "renamed", "note": "noted", "experiment": "moved", "delete": "deleted", "archive": "archived",
           "restore": "restored"}


def user() -> str:
    """Who makes a change: the login name (or the uid, in a container without one)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry: any failure means "no name"
        return str(os.getuid())


def check_experiment(name: Any) -> str | None:
    """An experiment name (1 to 255 printable characters), or None for none."""
    return None if name is None else check_name("experiment", name)


def _change(runs_: Any, column: str, value: Any, action: str, project: Project | None,
            allowed: Iterable[str] | None = None) -> Record | Table:
    """Set ``column`` to ``value`` on each run (ids or prefixes) and log one event per run changed.

    ``allowed``: the lifecycles a run may be in for the change (others are refused, naming why).
    """
    project = project or current_project()
    many = isinstance(runs_, (list, tuple))
    wanted = list(runs_) if many else [runs_]
    if not wanted:
        raise UsageError(f"{action}: give at least one run id (`mlnb runs list` shows them)")
    now, who, host = time.time(), user(), _capture.host()
    out = []
    with registry(project).write() as conn:
        for ref in wanted:
            run_id = resolve_id(conn, ref)
            row = conn.execute(select(*(runs.c[c] for c in _STATE)).where(runs.c.id == run_id)).one()._mapping
            if allowed is not None and row["lifecycle"] not in allowed:
                raise UsageError(f"run {run_id} ({row['name']}) is {row['lifecycle']}: "
                                 f"`mlnb runs restore {run_id}` first, then {action} it")
            before = row[column]
            if before != value:
                conn.execute(update(runs).where(runs.c.id == run_id).values({column: value, "curated_at": now}))
                _log(conn, run_id, action, before, value, who, host, now)
            out.append({**row, column: value})
    title = _TITLES[action]
    return Table(out, _STATE, title=f"runs {title}") if many else Record(out[0], title=f"run {title}")


def _log(conn: Connection, run_id: str, action: str, before: Any, after: Any, who: str, host: str, now: float) -> None:
    conn.execute(run_events.insert(), [{"run_id": run_id, "action": action, "before": before, "after": after,
                                        "user": who, "host": host, "created_at": now}])


def rename(run: Any, name: str, project: Project | None = None) -> Record:
    """Give run ``run`` (an id, a 4+ character prefix or a run object) a new name.

    >>> mlnb.runs.rename("3fa2c1", "baseline-v2")  # doctest: +SKIP
    """
    return _change(run, "name", check_name("run", name), "rename", project)  # type: ignore[return-value]


def note(run: Any, text: str | None, project: Project | None = None) -> Record:
    """Set the run's note (free text; ``""`` or None clears it).

    >>> mlnb.runs.note("3fa2c1", "diverged after epoch 3: lr too high")  # doctest: +SKIP
    """
    if text is not None and not isinstance(text, str):
        raise UsageError(f"a note is text, got {type(text).__name__}")
    if text and len(text) > MAX_NOTE:
        raise UsageError(f"a note of {len(text):,} characters: the limit is {MAX_NOTE:,}; keep long reports "
                         "as an artifact (run.log_artifact)")
    value = _capture.redact_text(_store.storable_text(text)) if text else None
    return _change(run, "note", value, "note", project)  # type: ignore[return-value]


def set_experiment(run: Any, experiment: str | None, project: Project | None = None) -> Record:
    """Move the run to ``experiment`` (a name; None takes it out of any).

    >>> mlnb.runs.set_experiment("3fa2c1", "churn-trees")  # doctest: +SKIP
    """
    return _change(run, "experiment", check_experiment(experiment), "experiment", project)  # type: ignore[return-value]


def delete(runs_: Any, project: Project | None = None) -> Record | Table:
    """Soft-delete a run (or a list of runs): hidden from listings, kept in the registry.

    ``mlnb.runs.list(lifecycle="deleted")`` lists them; :func:`restore` brings one back.

    >>> mlnb.runs.delete(["3fa2c1", "9b01"])  # doctest: +SKIP
    """
    return _change(runs_, "lifecycle", "deleted", "delete", project)


def archive(runs_: Any, project: Project | None = None) -> Record | Table:
    """Put a run (or a list) away: hidden from listings like a deleted run, but not deleted.

    ``mlnb.runs.list(lifecycle="archived")`` lists them; :func:`restore` makes one active again.
    A deleted run is restored before it can be archived.
    """
    return _change(runs_, "lifecycle", "archived", "archive", project, allowed=("active", "archived"))


def restore(runs_: Any, project: Project | None = None) -> Record | Table:
    """Make a deleted or archived run (or a list) active again: listed as before."""
    return _change(runs_, "lifecycle", "active", "restore", project)


_HISTORY = ["time", "action", "before", "after", "user", "host"]


def history(run: Any, project: Project | None = None) -> Table:
    """Every curation of a run, oldest first: who did what, when, the value before and after.

    >>> mlnb.runs.history("3fa2c1")  # doctest: +SKIP
    """
    project = project or current_project()
    with registry(project).read() as conn:
        run_id = resolve_id(conn, run)
        rows = [{"time": e.created_at, "action": e.action, "before": e.before, "after": e.after, "user": e.user,
                 "host": e.host} for e in conn.execute(
            select(run_events).where(run_events.c.run_id == run_id).order_by(run_events.c.id))]
    return Table(rows, _HISTORY, title=f"curation of run {run_id}", formatters={"time": format_time},
                 empty="never curated: renamed, noted, deleted, restored or archived")


__all__ = ["archive", "delete", "history", "note", "rename", "restore", "set_experiment"]
