"""Alerts in the registry: firing → resolved, one firing alert per (rule, model), cooldowns.

:func:`record` applies one check's evaluations in one transaction; :func:`alerts` lists them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select

from .._display import Table, format_time, format_value
from ..store import registry
from ..store._schema import alerts as al

#: what a rule's evaluation did, shown by ``mlnb monitor check``
FIRED, FIRING, RESOLVED, OK, NO_DATA, COOLDOWN = "fired", "firing", "resolved", "ok", "no data", "cooldown"
#: resolved alerts shown by default: the last week's
RECENT = 7 * 86400
COLUMNS = ["id", "status", "severity", "model", "rule", "expression", "value", "threshold", "window", "started",
           "resolved", "deliveries"]


@dataclass
class Evaluation:
    """One rule on the latest window of its report: ``firing`` None when there is no value to judge."""

    rule: Any  # _rules.Rule
    value: float | None = None
    firing: bool | None = None
    window_start: float | None = None
    window_end: float | None = None
    n: int | None = None
    lower: float | None = None
    upper: float | None = None
    note: str = ""
    state: str = ""
    alert_id: int | None = None


def pending(channels: Sequence[str], event: str, now: float) -> list[dict[str, Any]]:
    """New delivery entries for ``event`` (firing / resolved), one per channel."""
    return [{"channel": c, "event": event, "state": "pending", "attempts": 0, "at": now, "error": None}
            for c in channels]


def _undelivered(entries: list[dict[str, Any]]) -> int:
    return sum(e["state"] in ("pending", "failed") for e in entries)


def record(project: Any, model: str, evaluations: list[Evaluation], rule_names: set[str], channels: Sequence[str],
           now: float | None = None) -> list[Evaluation]:
    """Fire, keep, resolve or hold back (cooldown) an alert per evaluation, in one transaction; an
    alert whose rule left ``monitoring.yaml`` resolves. Sets each evaluation's ``state``."""
    from sqlalchemy.exc import IntegrityError

    now = time.time() if now is None else now
    for attempt in range(3):
        try:
            with registry(project).write() as conn:
                for ev in evaluations:
                    ev.state, ev.alert_id = _apply(conn, model, ev, channels, now)
                _orphans(conn, model, rule_names, channels, now)
            return evaluations
        except IntegrityError:  # another check opened the same alert first (PostgreSQL): read it again
            if attempt == 2:
                raise
    return evaluations  # pragma: no cover


def _firing(conn: Any, rule: str, model: str) -> Any:
    return conn.execute(select(al).where(al.c.rule == rule, al.c.model == model, al.c.status == "firing")).first()


def _apply(conn: Any, model: str, ev: Evaluation, channels: Sequence[str], now: float) -> tuple[str, int | None]:
    rule = ev.rule
    open_ = _firing(conn, rule.name, model)
    seen = {"value": ev.value, "window_start": ev.window_start, "window_end": ev.window_end, "lower": ev.lower,
            "upper": ev.upper, "evaluated_at": now}
    if ev.firing is None:
        return NO_DATA, open_.id if open_ else None
    if open_ is not None:
        if ev.firing:
            conn.execute(al.update().where(al.c.id == open_.id).values(**seen))
            return FIRING, open_.id
        entries = json.loads(open_.deliveries) + pending(channels, "resolved", now)
        conn.execute(al.update().where(al.c.id == open_.id).values(
            **seen, status="resolved", resolved_at=now, note="the condition cleared",
            deliveries=json.dumps(entries), undelivered=_undelivered(entries)))
        return RESOLVED, open_.id
    if not ev.firing:
        return OK, None
    last = conn.execute(select(al.c.resolved_at).where(al.c.rule == rule.name, al.c.model == model)
                        .order_by(al.c.id.desc()).limit(1)).scalar()
    if last is not None and now < last + rule.cooldown_seconds:
        ev.note = f"cooldown until {format_time(last + rule.cooldown_seconds)}"
        return COOLDOWN, None
    condition = rule.condition
    entries = pending(channels, "firing", now)
    new_id = conn.execute(al.insert().values(
        **seen, rule=rule.name, model=model, expression=condition.text, severity=rule.severity,
        window_spec=rule.window, threshold=condition.threshold, status="firing", started_at=now,
        deliveries=json.dumps(entries), undelivered=len(entries))).inserted_primary_key[0]
    return FIRED, int(new_id)


def _orphans(conn: Any, model: str, rule_names: set[str], channels: Sequence[str], now: float) -> None:
    for row in conn.execute(select(al).where(al.c.model == model, al.c.status == "firing")).all():
        if row.rule not in rule_names:
            entries = json.loads(row.deliveries) + pending(channels, "resolved", now)
            conn.execute(al.update().where(al.c.id == row.id).values(
                status="resolved", resolved_at=now, evaluated_at=now, note="its rule was removed",
                deliveries=json.dumps(entries), undelivered=_undelivered(entries)))


def firing_count(project: Any, model: str) -> int:
    with registry(project).read() as conn:
        return len(conn.execute(select(al.c.id).where(al.c.model == model, al.c.status == "firing")).all())


def undelivered(project: Any, model: str) -> list[Any]:
    """Alerts of ``model`` with a delivery not sent yet, oldest first."""
    with registry(project).read() as conn:
        return conn.execute(select(al).where(al.c.model == model, al.c.undelivered > 0).order_by(al.c.id)).all()


def firing_rows(project: Any, model: str) -> list[Any]:
    with registry(project).read() as conn:
        return conn.execute(select(al).where(al.c.model == model, al.c.status == "firing").order_by(al.c.id)).all()


def save_deliveries(project: Any, results: dict[int, list[dict[str, Any]]]) -> None:
    """Write back the delivery entries of each alert id (one transaction)."""
    if not results:
        return
    with registry(project).write() as conn:
        for alert_id, entries in results.items():
            conn.execute(al.update().where(al.c.id == alert_id).values(
                deliveries=json.dumps(entries), undelivered=_undelivered(entries)))


def alert_dict(row: Any) -> dict[str, Any]:
    """An alert row as plain JSON-ready fields (what channels send and the panel shows)."""
    entries = json.loads(row.deliveries)
    return {"id": row.id, "status": row.status, "severity": row.severity, "model": row.model, "rule": row.rule,
            "expression": row.expression, "value": row.value, "threshold": row.threshold, "lower": row.lower,
            "upper": row.upper, "window": row.window_spec, "window_start": row.window_start,
            "window_end": row.window_end, "started_at": row.started_at, "resolved_at": row.resolved_at,
            "evaluated_at": row.evaluated_at, "note": row.note, "deliveries": entries}


def _delivery_summary(entries: list[dict[str, Any]]) -> str:
    if not entries:
        return "no channels"
    parts = []
    for e in entries:
        mark = {"sent": "sent", "pending": "pending", "dropped": "dropped",
                "failed": f"FAILED x{e['attempts']}"}[e["state"]]
        parts.append(f"{e['channel']} {e['event']} {mark}")
    return "; ".join(parts)


class Alerts(Table):
    """Alerts, firing first: one line each; ``to_dict()`` gives every field and delivery."""

    def __init__(self, rows: list[Any], title: str) -> None:
        self.records = [alert_dict(r) for r in rows]
        shown = [{**rec, "threshold": _threshold(rec), "started": rec["started_at"], "resolved": rec["resolved_at"],
                  "deliveries": _delivery_summary(rec["deliveries"])} for rec in self.records]
        super().__init__(shown, COLUMNS, title=title, empty="no alerts",
                         formatters={"started": format_time, "resolved": format_time, "value": format_value})

    @property
    def firing(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["status"] == "firing"]

    def to_dict(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return list(self.records)


def _threshold(rec: dict[str, Any]) -> str:
    if rec["threshold"] is not None:
        return format_value(rec["threshold"])
    if rec["lower"] is not None or rec["upper"] is not None:
        return f"[{format_value(rec['lower'])}, {format_value(rec['upper'])}]"
    return ""


def alerts(model: str | None = None, all: bool = False, limit: int = 200) -> Alerts:  # noqa: A002 - the CLI's --all
    """Firing alerts and those resolved in the last week (``all=True``: every alert), firing first,
    newest first; of ``model`` only when given.

    >>> mlnb.monitor.alerts()               # doctest: +SKIP
    >>> mlnb.monitor.alerts("churn", all=True).to_frame()  # doctest: +SKIP
    """
    from .._project import current_project

    query = select(al)
    if model is not None:
        query = query.where(al.c.model == model)
    if not all:
        query = query.where(or_(al.c.status == "firing", and_(al.c.resolved_at >= time.time() - RECENT)))
    query = query.order_by((al.c.status == "firing").desc(), al.c.id.desc()).limit(limit)
    with registry(current_project()).read() as conn:
        rows = conn.execute(query).all()
    n = sum(r.status == "firing" for r in rows)
    scope = f" of {model}" if model else ""
    title = f"{n} alert(s) firing{scope}" + ("" if all else "; resolved in the last 7 days below")
    return Alerts(rows, title)
