"""Aliases and their audit log: promote (with gates), set, remove, rollback, history.

An alias names one version of a model. Every move is one transaction that changes the alias
and appends one event. The move is a compare-and-set on the holder read before the gates ran:
when another process moved the alias meanwhile, this one changes nothing and says so.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from .._display import Table, format_time
from .._project import Project, current_project
from .._lock import project_lock
from .._undo import rollback_target
from ..errors import Conflict, GateFailed, MlnbError, NotFound, UsageError, ValidationFailed
from ..store import registry
from ..store._schema import alias_events as ev
from ..store._schema import model_evaluations as me
from ..store._schema import aliases as al
from ..store._schema import model_versions as mv
from . import _gates, _gto
from ._refs import (ModelVersion, by_id, model_id, resolve_in, split_ref, to_versions, validate_alias,
                    versions_query)
from ._register import _user

_GATE_COLUMNS = ["gate", "passed", "value", "detail"]


class Promotion(Table):
    """What a promotion did: the gate table, whether the alias moved, and the event recorded."""

    def __init__(self, ref: str, alias: str, rows: list[dict[str, Any]], moved: bool, forced: bool,
                 previous: str | None) -> None:
        self.ref, self.alias, self.moved, self.forced, self.previous = ref, alias, moved, forced, previous
        if moved:
            how = " (forced past failing gates)" if forced and not all(r["passed"] for r in rows) else ""
            title = f"{alias} -> {ref}{how}" + (f" (was {previous})" if previous else "")
        else:
            failed = sum(not r["passed"] for r in rows)
            title = f"REFUSED: {ref} not promoted to {alias}: {failed} of {len(rows)} gates failed; nothing moved"
        super().__init__(rows, _GATE_COLUMNS, title=title, empty="no gates")

    @property
    def ok(self) -> bool:
        return self.moved

    @property
    def exit_code(self) -> int:
        return 0 if self.moved else 1

    def raise_for_failures(self) -> Promotion:
        """Raise :class:`GateFailed` when the promotion was refused; else return self."""
        if not self.moved:
            failed = "; ".join(r["gate"] for r in self.rows if not r["passed"])
            raise GateFailed(f"{self.ref} not promoted to {self.alias}: failing gates: {failed}")
        return self

    def to_dict(self) -> dict[str, Any]:  # type: ignore[override]
        return {"ref": self.ref, "alias": self.alias, "moved": self.moved, "forced": self.forced,
                "previous": self.previous, "gates": Table.to_dict(self)}

    def to_frame(self):  # type: ignore[no-untyped-def]
        """The gate table as a DataFrame."""
        import pandas as pd

        return pd.DataFrame(Table.to_dict(self), columns=self.columns)


def promote(ref: str, to: str, gates: Sequence[str] = (), force: bool = False, reason: str = "",
            data: str | None = None, target: str | None = None, git_tag: bool = False) -> Promotion:
    """Move alias ``to`` to version ``ref`` when every gate passes (one transaction, one event).

    A refused promotion moves nothing and returns the gate table with ``exit_code`` 1 (call
    ``.raise_for_failures()`` to get :class:`GateFailed` instead). ``force=True`` with a ``reason``
    moves it anyway and records it as forced. ``data``/``target``: the holdout that ``schema``
    and ``drift.share`` gates read (default: the data of a ``not worse than`` gate). ``git_tag=True``
    also writes the git tags DVC's GTO reads (``churn@v4.0.0``, ``churn#champion#N``).

    >>> mlnb.models.promote("churn@4", to="champion", gates=["auc >= champion.auc - 0.005"])  # doctest: +SKIP
    """
    project = current_project()
    alias = validate_alias(to)
    if isinstance(gates, str):
        gates = [gates]
    parsed = [_gates.parse(g) for g in gates]
    if force and not (isinstance(reason, str) and reason.strip()):
        raise UsageError("a forced promotion needs a reason: pass reason='...' (--reason '...'); it is recorded")
    if git_tag:
        _gto.check(project, split_ref(ref)[0], alias)
    with registry(project).read() as conn:
        candidate = resolve_in(conn, ref)
        holder = _holder(conn, candidate.name, alias)
        holders = {a: _holder(conn, candidate.name, a) for a in _aliases_named(parsed, alias)}
    if holder is not None and holder.id == candidate.id:
        raise UsageError(f"{candidate.ref} already holds {alias}: nothing to move")
    metrics = _gate_metrics(project, parsed, candidate, holders)
    _check_names(parsed, candidate, holders, metrics)
    rows = _run_gates(project, parsed, candidate, holders, data, target, metrics)
    passed = all(r["passed"] for r in rows)
    if not passed and not force:
        return Promotion(candidate.ref, alias, rows, moved=False, forced=False,
                         previous=holder.ref if holder else None)
    _move(project, candidate.name, alias, holder, candidate, "promote", reason, rows, force, git_tag=git_tag)
    return Promotion(candidate.ref, alias, rows, moved=True, forced=force, previous=holder.ref if holder else None)


def set_alias(ref: str, alias: str, reason: str = "", git_tag: bool = False) -> Promotion:
    """Point ``alias`` at ``ref`` without gates (recorded as a ``set`` event)."""
    project = current_project()
    alias = validate_alias(alias)
    if git_tag:
        _gto.check(project, split_ref(ref)[0], alias)
    with registry(project).read() as conn:
        candidate = resolve_in(conn, ref)
        holder = _holder(conn, candidate.name, alias)
    if holder is not None and holder.id == candidate.id:
        raise UsageError(f"{candidate.ref} already holds {alias}: nothing to move")
    _move(project, candidate.name, alias, holder, candidate, "set", reason, [], False, git_tag=git_tag)
    return Promotion(candidate.ref, alias, [], moved=True, forced=False, previous=holder.ref if holder else None)


def remove_alias(name: str, alias: str, reason: str = "", git_tag: bool = False) -> Promotion:
    """Take ``alias`` off model ``name`` (recorded; ``rollback`` can put it back)."""
    project = current_project()
    name, _ = split_ref(name)
    alias = validate_alias(alias)
    if git_tag:
        _gto.check(project, name, alias)
    with registry(project).read() as conn:
        model_id(conn, name)
        holder = _holder(conn, name, alias)
    if holder is None:
        raise NotFound(f"model {name} has no alias {alias!r}: `mlnb models show {name}` lists its aliases")
    _move(project, name, alias, holder, None, "remove", reason, [], False, git_tag=git_tag)
    return Promotion(f"{name} (none)", alias, [], moved=True, forced=False, previous=holder.ref)


def rollback(name: str, alias: str, reason: str = "", git_tag: bool = False) -> Promotion:
    """Give ``alias`` back to its previous holder, read from the event log; a second rollback goes
    one further back. ``git_tag=True`` writes GTO's tags for the move, as in :func:`promote`.

    >>> mlnb.models.rollback("churn", "champion")  # doctest: +SKIP
    """
    project = current_project()
    name, _ = split_ref(name)
    alias = validate_alias(alias)
    if git_tag:
        _gto.check(project, name, alias)
    with registry(project).read() as conn:
        mid = model_id(conn, name)
        holder = _holder(conn, name, alias)
        target = by_id(conn, rollback_target(conn.execute(
            select(ev.c.action, ev.c.from_version_id).where(ev.c.model_id == mid, ev.c.alias == alias)
            .order_by(ev.c.id))))
    if target is None:
        raise NotFound(f"{alias} of {name} has no earlier holder to roll back to: "
                       f"`mlnb models history {name}` shows its moves")
    _move(project, name, alias, holder, target, "rollback", reason, [], False, git_tag=git_tag)
    return Promotion(target.ref, alias, [], moved=True, forced=False, previous=holder.ref if holder else None)


_HISTORY_COLUMNS = ["time", "alias", "action", "from", "to", "user", "host", "forced", "reason", "gates"]


def history(name: str, alias: str | None = None, version: int | None = None, limit: int | None = None,
            offset: int = 0) -> Table:
    """Every alias move of model ``name`` (or of one ``alias``, or to or from one ``version``
    number), newest first: who, when, from, to, why, gates; ``limit``/``offset`` give a page.

    >>> mlnb.models.history("churn", alias="champion", limit=20)  # doctest: +SKIP
    """
    project = current_project()
    name, _ = split_ref(name)
    before, after = mv.alias("before"), mv.alias("after")
    q = (select(ev, before.c.version.label("from_number"), after.c.version.label("to_number"))
         .outerjoin(before, before.c.id == ev.c.from_version_id).outerjoin(after, after.c.id == ev.c.to_version_id)
         .order_by(ev.c.id.desc()).limit(limit).offset(offset or None))
    if alias is not None:
        q = q.where(ev.c.alias == validate_alias(alias))
    if version is not None:
        q = q.where((before.c.version == version) | (after.c.version == version))
    with registry(project).read() as conn:
        events = conn.execute(q.where(ev.c.model_id == model_id(conn, name))).fetchall()

    def ref(number: int | None) -> str | None:
        return f"{name}@{number}" if number is not None else None

    rows = [{"time": e.created_at, "alias": e.alias, "action": e.action, "from": ref(e.from_number),
             "to": ref(e.to_number), "user": e.user, "host": e.host, "forced": bool(e.forced),
             "reason": e.reason, "gates": json.loads(e.gates or "[]")} for e in events]
    return Table(rows, _HISTORY_COLUMNS, title=f"alias history of {name}", empty=f"no alias of {name} moved yet",
                 formatters={"time": format_time,
                             "gates": lambda g: f"{sum(r['passed'] for r in g)}/{len(g)} passed" if g else ""})


# -- internals -------------------------------------------------------------------------------


def _holder(conn: Any, name: str, alias: str) -> ModelVersion | None:
    mid = model_id(conn, name)
    vid = conn.execute(select(al.c.model_version_id).where(al.c.model_id == mid, al.c.alias == alias)).scalar()
    return by_id(conn, vid)


def _aliases_named(parsed: list[_gates.Gate], alias: str) -> set[str]:
    named = {n.owner for g in parsed for n in g.names() if n.owner not in (None, "drift")}
    named |= {g.alias for g in parsed if g.kind == "regression"}
    for a in named:
        validate_alias(a)
    return named | {alias}


#: ``{(version id, data reference or None): metrics}``: what a metric gate reads of each version
Metrics = dict[tuple[int, str | None], dict[str, float]]


def _gate_metrics(project: Project, parsed: list[_gates.Gate], candidate: ModelVersion,
                  holders: dict[str, ModelVersion | None]) -> Metrics:
    """The metrics each gate reads: those given at register; for a gate ending ``on DATA``, those
    overlaid with the metrics of the version's stored evaluation on that data version (the latest
    one, whatever its target). A version without that evaluation is refused before any gate runs."""
    from .. import data as data_area

    versions = [candidate, *(h for h in holders.values() if h is not None)]
    table: Metrics = {(v.id, None): v.metrics for v in versions}
    for gate in parsed:
        if gate.kind != "metric" or gate.data is None:
            continue
        data_version = data_area.resolve(gate.data, project)
        with registry(project).read() as conn:
            for version in versions:
                if not any(getattr(_owner_of(n, candidate, holders), "id", None) == version.id for n in gate.names()):
                    continue  # a version this gate does not read
                found = conn.execute(select(me.c.metrics).where(me.c.model_version_id == version.id,
                                                                me.c.data_version_id == data_version.id)
                                     .order_by(me.c.id.desc())).scalar()
                if found is None:
                    raise UsageError(f"gate {gate.text!r} reads evaluations on {data_version.ref}, and {version.ref} "
                                     f"has none: run `mlnb models evaluate {version.ref} --data {data_version.ref}` first")
                table[(version.id, gate.data)] = {**version.metrics, **json.loads(found)}
    return table


def _owner_of(n: _gates.Name, candidate: ModelVersion, holders: dict[str, ModelVersion | None]) -> ModelVersion | None:
    return candidate if n.owner is None else holders.get(n.owner)


def _check_names(parsed: list[_gates.Gate], candidate: ModelVersion, holders: dict[str, Any], metrics: Metrics) -> None:
    """Every metric a gate names exists, before any gate runs."""
    for gate in parsed:
        for n in gate.names():
            if n.owner == "drift":
                if n.key != "share":
                    raise UsageError(f"gate {gate.text!r} at column {n.pos + 1}: drift has 'share' only "
                                     "(the share of columns that drifted)")
                continue
            owner = _owner_of(n, candidate, holders)
            have = metrics[(owner.id, gate.data)] if owner is not None else {}
            if owner is not None and n.key not in have:
                where = f" on {gate.data}" if gate.data else ""
                raise UsageError(f"gate {gate.text!r} at column {n.pos + 1}: {owner.ref} has no metric "
                                 f"{n.key!r}{where} (it has: {', '.join(sorted(have)) or 'none'}); "
                                 "register it with metrics=, evaluate it, or fix the gate")
        if gate.kind in ("schema", "drift") and not candidate.signature:
            raise UsageError(f"gate {gate.text!r} needs the training signature, and {candidate.ref} was "
                             "registered without data=: register it with data=X_train")


def _run_gates(project: Project, parsed: list[_gates.Gate], candidate: ModelVersion,
               holders: dict[str, ModelVersion | None], data: str | None, target: str | None,
               metrics: Metrics) -> list[dict[str, Any]]:
    from . import _evaluate

    frames: dict[str, Any] = {}
    holdout = data or next((g.data for g in parsed if g.kind == "regression"), None)
    rows = []
    for gate in parsed:
        if gate.kind == "metric":
            rows.append(_metric_gate(gate, candidate, holders, metrics))
            continue
        if gate.kind == "regression":
            holder = holders.get(gate.alias or "")
            if holder is None:
                rows.append(_row(gate, True, "", f"no {gate.alias} yet: nothing to compare with"))
                continue
            frame = _evaluate.holdout(frames, gate.data or "")
            result = _evaluate.regression_test(project, candidate, holder, frame, target, gate.margin)
            value = f"{result['difference']:+.4g} [{result['ci_low']:+.4g}, {result['ci_high']:+.4g}]"
            detail = (f"{result['test']} on {result['rows']:,} rows: {result['metric']} {result['challenger']:.4g} "
                      f"vs {holder.ref} {result['holder']:.4g}; margin {result['margin']:.4g}")
            rows.append(_row(gate, result["passed"], value, detail))
            continue
        if holdout is None:
            raise UsageError(f"gate {gate.text!r} needs holdout data: pass data='holdout@2' (--data holdout@2)")
        frame = _evaluate.holdout(frames, holdout)
        if gate.kind == "schema":
            from ._query import check_signature

            try:
                check_signature(candidate, frame.drop(columns=_evaluate.target_of(candidate, frame, target)), full=True)
                rows.append(_row(gate, True, "valid", f"{holdout} matches {candidate.ref}'s signature"))
            except ValidationFailed as exc:
                rows.append(_row(gate, False, "invalid", str(exc)))
            continue
        share = _evaluate.drift_share(project, candidate, frame)
        ok, left, right = _gates.holds(gate.expr, lambda n: share if n.owner == "drift" else
                                       metrics[(_owner_of(n, candidate, holders).id, None)][n.key])  # type: ignore[union-attr]
        rows.append(_row(gate, ok, f"{left:.4g} vs {right:.4g}", f"{holdout} against {candidate.ref}'s training profile"))
    return rows


def _metric_gate(gate: _gates.Gate, candidate: ModelVersion, holders: dict[str, ModelVersion | None],
                 metrics: Metrics) -> dict[str, Any]:
    missing = sorted({n.owner for n in gate.names() if n.owner is not None and holders.get(n.owner) is None})
    if missing:
        return _row(gate, True, "", f"no {', '.join(missing)} yet: nothing to compare with")
    ok, left, right = _gates.holds(
        gate.expr, lambda n: metrics[(_owner_of(n, candidate, holders).id, gate.data)][n.key])  # type: ignore[union-attr]
    return _row(gate, ok, f"{left:.4g} vs {right:.4g}", f"evaluations on {gate.data}" if gate.data else "")


def _row(gate: _gates.Gate, passed: bool, value: str, detail: str) -> dict[str, Any]:
    return {"gate": gate.text, "passed": bool(passed), "value": value, "detail": detail}


def _move(project: Project, name: str, alias: str, expected: ModelVersion | None, to: ModelVersion | None,
          action: str, reason: str, rows: list[dict[str, Any]], forced: bool, git_tag: bool = False) -> None:
    """Compare-and-set: move ``alias`` from ``expected`` (as read before the gates ran) to ``to``,
    and append the event, in one transaction; then, with ``git_tag``, GTO's tags of the move."""
    now = time.time()
    expected_id = expected.id if expected else None
    try:
        with registry(project).write() as conn:
            mid = model_id(conn, name)
            where = (al.c.model_id == mid) & (al.c.alias == alias)
            if expected_id is None:
                conn.execute(al.insert().values(model_id=mid, alias=alias, model_version_id=to.id, moved_at=now))  # type: ignore[union-attr]
            elif to is None:
                changed = conn.execute(al.delete().where(where & (al.c.model_version_id == expected_id))).rowcount
                if changed != 1:
                    raise _Moved()
            else:
                changed = conn.execute(al.update().where(where & (al.c.model_version_id == expected_id))
                                       .values(model_version_id=to.id, moved_at=now)).rowcount
                if changed != 1:
                    raise _Moved()
            conn.execute(ev.insert().values(
                model_id=mid, alias=alias, action=action, from_version_id=expected_id,
                to_version_id=to.id if to else None, reason=reason or "", gates=json.dumps(rows),
                forced=int(forced), user=_user(), host=socket.gethostname(), created_at=now))
    except (_Moved, sa_exc.IntegrityError):
        with registry(project).read() as conn:
            now_holder = _holder(conn, name, alias)
        where_now = now_holder.ref if now_holder else "nobody"
        raise Conflict(f"{alias} moved to {where_now} since you looked: nothing changed; "
                       f"look again (`mlnb models show {name}`) and repeat if still wanted") from None
    if git_tag:
        _write_tags(project, name, alias, expected, to, f"{action} by {_user()}" + (f": {reason}" if reason else ""))


def _write_tags(project: Project, name: str, alias: str, previous: ModelVersion | None, to: ModelVersion | None,
                message: str) -> None:
    """GTO's tags of a move that is already recorded; a failure says the move stands."""
    with registry(project).read() as conn:
        versions = to_versions(conn, conn.execute(versions_query().where(mv.c.model_id == model_id(conn, name)))
                               .fetchall())
    try:
        with project_lock(project.root, "gto", what=f"writing GTO tags of {name}"):
            _gto.write(project, name, alias, versions, previous, to, message)
    except MlnbError as exc:
        raise MlnbError(f"{alias} of {name} moved, but its GTO tags were not written ({exc}); "
                        "the registry holds the move: fix git, then tag it with `gto assign`") from None


class _Moved(Exception):
    """The alias's holder is no longer the one the gates were run against."""
