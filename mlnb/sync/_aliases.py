"""Aliases after a merge: the alias events replayed in order, and the conflicts they show.

Every move of an alias is an event ``from -> to``. Replayed oldest first (by time, then by the
event's natural key, the same order on every clone), an event that starts from where the alias
is continues its line; one that starts from anywhere else was made without seeing the line's last
move: the alias has forked. Two lines ending at different versions are a conflict, shown with both
sides and left as it was on this clone until ``resolve`` records a ``resolve`` event that ends it.
"""

from __future__ import annotations

import getpass
import socket
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from .._display import Table, format_time
from ..errors import Conflict, NotFound, UsageError
from ..store._schema import alias_events as ev
from ..store._schema import aliases as al
from ..store._schema import model_versions as mv
from ..store._schema import models as mo
from ._records import View, known
from ._tables import specs

RESOLVE = "resolve"


@dataclass
class Line:
    """One line of moves of an alias: where it ends and its last event."""

    version: Any  # model version id, None when the alias was removed
    event: dict[str, Any]
    mine: bool


@dataclass
class AliasState:
    model_id: int
    model: str
    alias: str
    lines: list[Line]

    @property
    def conflict(self) -> bool:
        return len({line.version for line in self.lines}) > 1


def replay(conn: Connection) -> list[AliasState]:
    """Every alias's lines, from its events."""
    wanted = {"models", "model_versions", "alias_events"}
    view = View(known(conn, wanted))
    rows: dict[str, Any] = {}
    for spec in specs():
        if spec.name in wanted:
            rows[spec.name] = view.rows(conn, spec)
    names = dict(conn.execute(select(mo.c.id, mo.c.name)).all())
    events = []
    for key, (pk, _) in rows["alias_events"].items():
        origin = view.known.get(("alias_events", key), (None, "push", None))[1]
        events.append((key, pk, origin == "push"))
    full = {r["id"]: dict(r) for r in conn.execute(select(ev)).mappings()}
    states: dict[tuple[int, str], AliasState] = {}
    for key, pk, mine in sorted(events, key=lambda e: (full[e[1]]["created_at"], e[0])):
        e = full[pk]
        state = states.setdefault((e["model_id"], e["alias"]),
                                  AliasState(e["model_id"], names[e["model_id"]], e["alias"], []))
        line = Line(e["to_version_id"], e, mine)
        if e["action"] == RESOLVE or not state.lines:
            state.lines = [line]
            continue
        follows = [i for i, ln in enumerate(state.lines) if ln.version == e["from_version_id"]]
        if follows:
            state.lines[follows[-1]] = line
        else:
            state.lines.append(line)
        state.lines = _distinct(state.lines)
    return list(states.values())


def _distinct(lines: list[Line]) -> list[Line]:
    """Lines that reached the same version are one line (the later event speaks for it)."""
    out: dict[Any, Line] = {}
    for line in lines:
        out[line.version] = line
    return list(out.values())


def apply(conn: Connection) -> list[AliasState]:
    """Set each alias without a conflict to where its events lead; returns the conflicts."""
    conflicts = []
    for state in replay(conn):
        if state.conflict:
            conflicts.append(state)
            continue
        line = state.lines[0]
        where = (al.c.model_id == state.model_id, al.c.alias == state.alias)
        now = conn.execute(select(al.c.model_version_id).where(*where)).scalar()
        if now == line.version:
            continue
        conn.execute(al.delete().where(*where))
        if line.version is not None:
            conn.execute(al.insert().values(model_id=state.model_id, alias=state.alias,
                                            model_version_id=line.version, moved_at=line.event["created_at"]))
    return conflicts


_CONFLICT_COLUMNS = ["model", "alias", "side", "version", "moved_by", "moved_at", "action"]


def conflicts_table(conn: Connection, conflicts: list[AliasState]) -> Table:
    numbers = dict(conn.execute(select(mv.c.id, mv.c.version)).all())
    rows = []
    for state in conflicts:
        for line in state.lines:
            e = line.event
            rows.append({"model": state.model, "alias": state.alias, "side": "mine" if line.mine else "theirs",
                         "version": _ref(state.model, numbers.get(line.version)),
                         "moved_by": f"{e['user'] or '?'}@{e['host'] or '?'}", "moved_at": e["created_at"],
                         "action": e["action"]})
    return Table(rows, _CONFLICT_COLUMNS, title="alias conflicts (resolve: mlnb sync resolve MODEL ALIAS --take "
                 "mine|theirs|VERSION)", empty="no alias conflicts", formatters={"moved_at": format_time})


def _ref(model: str, number: int | None) -> str:
    return f"{model}@{number}" if number is not None else f"{model} (removed)"


def conflict_line(conn: Connection, state: AliasState) -> str:
    numbers = dict(conn.execute(select(mv.c.id, mv.c.version)).all())
    sides = "; ".join(f"{'mine' if ln.mine else 'theirs'} {_ref(state.model, numbers.get(ln.version))} "
                      f"by {ln.event['user'] or '?'}@{ln.event['host'] or '?'}" for ln in state.lines)
    return (f"alias {state.alias} of {state.model} was moved on two clones at once ({sides}): "
            f"run `mlnb sync resolve {state.model} {state.alias} --take mine|theirs|VERSION`")


def resolve(conn: Connection, model: str, alias: str, take: str, reason: str = "") -> tuple[str, str]:
    """Record the move that ends a conflict (one ``resolve`` event); returns (version taken, what it was)."""
    state = next((s for s in replay(conn) if s.model == model and s.alias == alias), None)
    if state is None or not state.conflict:
        raise NotFound(f"alias {alias} of {model} has no conflict to resolve: `mlnb sync status` lists conflicts")
    numbers = dict(conn.execute(select(mv.c.id, mv.c.version).where(mv.c.model_id == state.model_id)).all())
    if take in ("mine", "theirs"):
        side = [ln for ln in state.lines if ln.mine == (take == "mine")]
        if len(side) != 1:
            raise UsageError(f"alias {alias} of {model} has {len(side)} lines on the {take} side: "
                             "name the version to keep (--take VERSION)")
        target = side[0].version
    else:
        number = take.split("@")[-1]
        if not number.isdigit() or int(number) not in numbers.values():
            raise UsageError(f"--take {take!r}: give mine, theirs or a version number of {model} "
                             f"(it has {', '.join(str(n) for n in sorted(numbers.values()))})")
        target = next(i for i, n in numbers.items() if n == int(number))
    holder = conn.execute(select(al.c.model_version_id).where(al.c.model_id == state.model_id,
                                                              al.c.alias == alias)).scalar()
    sides = ", ".join(_ref(model, numbers.get(ln.version)) for ln in state.lines)
    now = time.time()
    conn.execute(ev.insert().values(model_id=state.model_id, alias=alias, action=RESOLVE, from_version_id=holder,
                                    to_version_id=target, reason=reason or f"sync conflict between {sides}",
                                    gates=None, forced=0, user=_user(), host=socket.gethostname(), created_at=now))
    if apply(conn) and any(s.model == model and s.alias == alias for s in replay(conn) if s.conflict):
        raise Conflict(f"alias {alias} of {model} is still in conflict")  # pragma: no cover - a resolve ends it
    return _ref(model, numbers.get(target)), sides


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no passwd entry
        return None
