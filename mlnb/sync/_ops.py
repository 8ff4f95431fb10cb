"""``push``, ``pull``, ``status``, ``use`` and ``resolve``: the registry shared through the DVC remote.

``push`` sends data and models (``mlnb.data.push``), then the registry's new records as one
segment; ``pull`` merges every segment not seen yet (in one transaction), then fetches data and
models (``mlnb.data.pull``). Both hold the project's "sync" lock, so two on one clone queue.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from .._display import Record
from .._project import Project, current_project
from ..errors import Conflict
from ..store import registry
from ..store._schema import sync_segments as ss
from . import _aliases, _records, _segment, _sharing
from ._remote import Remote


@contextlib.contextmanager
def _locked(project: Project, what: str) -> Iterator[None]:
    from .._lock import project_lock

    with project_lock(project.root, "sync", what=what):
        yield


@contextlib.contextmanager
def _refused_by_database(names: list[str]) -> Iterator[None]:
    """A record the database refuses (a value of the wrong type, a broken constraint) refuses the
    segments it came from: the transaction rolls back, nothing is merged."""
    from sqlalchemy.exc import DataError, IntegrityError

    try:
        yield
    except (DataError, IntegrityError) as exc:
        reason = " ".join(str(exc.orig).split())[:200]
        raise _segment.SegmentRefused(f"segment(s) {', '.join(names)}: the registry refused a record ({reason}): "
                                      "nothing was merged") from None


def _sharing_remote(project: Project, remote: str | None) -> Remote:
    """The remote a push or pull goes through, once it is known to be the sharing one (the first
    push or pull that writes records notes it, in the same transaction)."""
    store = Remote(project, remote)
    with registry(project).read() as conn:
        _sharing.check(conn, store.url)
    return store


def push(remote: str | None = None, data: bool = True) -> Record:
    """Send the data and models, then the registry's records the remote does not have yet
    (runs, params, metrics, artifacts, tags, data and model versions, alias events, routings,
    alerts) as one content-addressed segment. Refused while an alias conflict is unresolved.

    >>> mlnb.sync.push()  # doctest: +SKIP
    """
    project = current_project()
    reg = registry(project)
    started = time.perf_counter()
    with _locked(project, "a push"):
        with reg.read() as conn:
            conflicts = [s for s in _aliases.replay(conn) if s.conflict]
            if conflicts:
                raise Conflict(f"push refused: {_aliases.conflict_line(conn, conflicts[0])}"
                               + (f" (and {len(conflicts) - 1} more conflict(s))" if len(conflicts) > 1 else ""))
        store = _sharing_remote(project, remote)
        if data:
            from ..data import push as push_data

            push_data(remote)
        with reg.read() as conn:
            clean = _records.is_clean(conn)
            seen = _records.revision_now(conn)
            tables, marks = ({}, []) if clean else _records.pending(conn)
        records = sum(len(rows) for _, rows in tables.values())
        name = None
        if records:
            name, blob = _segment.encode(tables)
            store.write(name, blob)
        if not clean:
            with reg.write() as conn:
                _sharing.note(conn, store.url)
                if name and conn.execute(select(ss.c.hash).where(ss.c.hash == name)).first() is None:
                    conn.execute(ss.insert().values(hash=name, direction="push", records=records, at=time.time()))
                _records.keep_marks(conn, marks, "push")
                _records.note_clean(conn, seen)
    return Record({"remote": store.url, "segment": name, "records": records,
                   "tables": {t: len(rows) for t, (_, rows) in tables.items() if rows},
                   "seconds": round(time.perf_counter() - started, 3)},
                  title="pushed" if records else "nothing new to push")


def pull(remote: str | None = None, data: bool = True) -> Record:
    """Fetch the segments not seen yet, check each against its hash (a damaged one is refused by
    name and nothing is merged), merge their records in one transaction, then fetch the data and
    models. Alias conflicts are listed, not settled: ``mlnb sync resolve`` settles them.

    >>> mlnb.sync.pull()  # doctest: +SKIP
    """
    project = current_project()
    reg = registry(project)
    started = time.perf_counter()
    with _locked(project, "a pull"):
        store = _sharing_remote(project, remote)
        with reg.read() as conn:
            seen = {h for (h,) in conn.execute(select(ss.c.hash))}
        new = sorted(store.names() - seen)
        segments = [(name, _segment.decode(name, store.read(name))) for name in new]
        counts: dict[str, int] = {}
        conflicts: list[Any] = []
        if segments:
            with _refused_by_database(new), reg.write() as conn:
                clean = _records.is_clean(conn)  # nothing unsent before: nothing after either
                _sharing.note(conn, store.url)
                counts = _records.merge(conn, segments)
                conn.execute(ss.insert(), [{"hash": n, "direction": "pull", "at": time.time(),
                                            "records": sum(len(r) for _, r in t.values())} for n, t in segments])
                conflicts = _aliases.apply(conn)
                if clean and not conflicts:
                    _records.note_clean(conn, None)
        else:
            with reg.read() as conn:
                conflicts = [s for s in _aliases.replay(conn) if s.conflict]
        with reg.read() as conn:
            lines = [_aliases.conflict_line(conn, c) for c in conflicts]
    if data:
        from ..data import pull as pull_data

        pull_data(remote)
    return Record({"remote": store.url, "segments": len(segments), "merged": counts, "conflicts": lines,
                   "seconds": round(time.perf_counter() - started, 3)},
                  title="pulled" + (f": {len(lines)} alias conflict(s) to resolve" if lines else ""))


def status(remote: str | None = None) -> Record:
    """What a push would send, what a pull would fetch, and the alias conflicts (both sides)."""
    project = current_project()
    reg = registry(project)
    store = Remote(project, remote)
    with reg.read() as conn:
        shared = _sharing.shared_through(conn)
        seen = {h for (h,) in conn.execute(select(ss.c.hash))}
        tables, _ = ({}, []) if _records.is_clean(conn) else _records.pending(conn)
        conflicts = [s for s in _aliases.replay(conn) if s.conflict]
        table = _aliases.conflicts_table(conn, conflicts)
    return Record({"remote": store.url, "shared_through": shared or f"{store.url} (from the first push or pull)",
                   "to_push": {t: len(r) for t, (_, r) in tables.items() if r},
                   "to_pull": len(store.names() - seen), "conflicts": table.rows},
                  title=f"sync status: {len(conflicts)} alias conflict(s)")


def use(remote: str) -> Record:
    """Make ``remote`` (a DVC remote name) the one this registry shares through; its next push
    sends every record there. Pushing and pulling through any other remote is refused.

    >>> mlnb.sync.use("backup")  # doctest: +SKIP
    """
    project = current_project()
    store = Remote(project, remote)
    with _locked(project, "a change of sharing remote"), registry(project).write() as conn:
        was = _sharing.shared_through(conn)
        records = _sharing.switch(conn, store.url)
        _records.forget_clean(conn)
    return Record({"remote": store.url, "was": was, "records_to_send": records},
                  title=f"sharing through {store.url}" + (f" (was {was})" if was and was != store.url else ""))


def resolve(model: str, alias: str, take: str, reason: str = "") -> Record:
    """End an alias conflict: ``take`` is ``mine``, ``theirs`` or a version number; recorded as a
    ``resolve`` event that the next push shares.

    >>> mlnb.sync.resolve("churn", "champion", take="theirs")  # doctest: +SKIP
    """
    project = current_project()
    with _locked(project, "a resolve"), registry(project).write() as conn:
        taken, sides = _aliases.resolve(conn, model, alias, take, reason)
    return Record({"model": model, "alias": alias, "now": taken, "was_between": sides},
                  title=f"{alias} -> {taken}")
