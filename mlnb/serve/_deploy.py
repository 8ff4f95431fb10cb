"""``deploy``: set, inspect and roll back a model's routing, kept as events in the registry.

Every change is one row of ``routing_events``; the routing in force is the model's latest row.
Before a routing is saved each arm is resolved and its model loaded: a routing that cannot serve
is refused and the one in force stays. The write is a compare-and-set on the routing read before
the models were loaded (a per-model sequence number under a unique constraint), so of two
concurrent deploys exactly one lands and the other changes nothing.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select

from .._display import Table, format_time
from .._project import Project, current_project
from .._undo import rollback_target
from ..errors import Conflict, MlnbError, NotFound, UsageError
from ..store import registry
from ..store._schema import routing_events as rt
from ._routing import Arm, Routing

_ARM_COLUMNS = ["arm", "target", "version", "weight", "role"]


class Deployment(Table):
    """A routing as set (or in force): one row per arm with the version it resolved to."""

    def __init__(self, routing: Routing, resolved: dict[str, int], previous: Routing | None = None,
                 title: str = "") -> None:
        self.routing, self.resolved, self.previous = routing, resolved, previous
        rows = [{"arm": a.label, "target": a.target, "version": resolved.get(a.label), "weight": a.weight,
                 "role": "shadow" if a.shadow else "live"} for a in routing.arms]
        key = f", sticky on {routing.key}" if routing.key else ""
        title = title or f"{routing.model}: {routing.strategy}{key} (routing #{routing.extra.get('seq', '?')})"
        super().__init__(rows, _ARM_COLUMNS, title=title,
                         formatters={"version": lambda v: f"{routing.model}@{v}" if v is not None else ""})

    def to_dict(self) -> dict[str, Any]:  # type: ignore[override]
        return {**self.routing.to_dict(), "resolved": self.resolved,
                "previous": self.previous.to_dict() if self.previous else None}


def deploy(model: str, to: str | None = None, canary: str | None = None, traffic: float | Sequence[float] | None = None,
           ab: Sequence[str] | str | None = None, key: str | None = None, shadow: Sequence[str] | str | None = None,
           rollback: bool = False, reason: str = "") -> Deployment:
    """Set which versions of ``model`` answer its requests (one event in the registry).

    ``to``: one target at 100 % (an alias or a version number; switching it is blue-green).
    ``canary`` with ``traffic`` (percent): the canary gets that share, the stable arm (``to``, or
    the single live arm in force) the rest. ``ab``: two or more targets with equal shares (or the
    shares in ``traffic``), sticky per request field ``key`` when given. ``shadow``: targets that get
    copies of every request; their answers are logged, not returned. ``rollback``: the routing in
    force before the latest change not yet undone. Every arm is resolved and loaded first: a routing
    that cannot serve is refused and the one in force stays.

    >>> mlnb.models.deploy("churn", to="champion")                          # doctest: +SKIP
    >>> mlnb.models.deploy("churn", canary="challenger", traffic=10)        # doctest: +SKIP
    >>> mlnb.models.deploy("churn", ab=["champion", "challenger"], key="customer_id")  # doctest: +SKIP
    >>> mlnb.models.deploy("churn", rollback=True, reason="latency")        # doctest: +SKIP
    """
    from ..models._refs import split_ref

    project = current_project()
    name, _ = split_ref(model)
    if not isinstance(reason, str):
        raise UsageError(f"reason must be text, not {type(reason).__name__}")
    with registry(project).read() as conn:
        mid = _model_id(conn, name)
        current = _in_force(conn, mid, name)
        if rollback:
            if any(x is not None for x in (to, canary, traffic, ab, key, shadow)):
                raise UsageError("--rollback takes no other routing option: it restores the previous routing as it was")
            back = rollback_target((action, seq - 1 or None) for action, seq in conn.execute(
                select(rt.c.action, rt.c.seq).where(rt.c.model_id == mid).order_by(rt.c.seq)))
            target = _routing_at(conn, mid, name, back) if back else None
            if target is None:
                raise NotFound(f"{name} has no earlier routing to roll back to: `mlnb deploy history {name}` "
                               "shows its routings")
            wanted = Routing.from_dict({**target.to_dict(), "reason": reason, "user": None, "created_at": None,
                                        "id": None, "extra": {}})
        else:
            wanted = plan(name, current, to=to, canary=canary, traffic=traffic, ab=ab, key=key, shadow=shadow,
                          reason=reason)
    resolved = check_loads(project, wanted)
    saved = _save(project, mid, wanted, resolved, "rollback" if rollback else "deploy",
                  current.extra["seq"] if current else 0)
    return Deployment(saved, resolved, current)


def plan(model: str, current: Routing | None, to: str | None = None, canary: str | None = None,
         traffic: float | Sequence[float] | None = None, ab: Sequence[str] | str | None = None,
         key: str | None = None, shadow: Sequence[str] | str | None = None, reason: str = "") -> Routing:
    """The routing that the options of :func:`deploy` describe, given the one in force (no I/O)."""
    ab_targets, shadows = _targets(ab, "ab"), _targets(shadow, "shadow")
    if ab_targets and (to or canary):
        raise UsageError("--ab names every live arm: do not combine it with --to or --canary")
    if traffic is not None and not (canary or ab_targets):
        raise UsageError("--traffic is the canary's share (with --canary) or the A/B shares (with --ab)")
    if ab_targets:
        if len(ab_targets) < 2:
            raise UsageError("--ab needs two or more targets, e.g. --ab champion,challenger")
        weights = _ab_weights(traffic, len(ab_targets))
        live = [Arm(t, w) for t, w in zip(ab_targets, weights)]
        strategy = "ab"
    elif canary:
        share = _percent(traffic)
        stable = to or _single_live(model, current, "--canary")
        live = [Arm(stable, 100 - share), Arm(canary, share)]
        strategy = "canary"
    elif to:
        live, strategy = [Arm(to, 100)], "single"
    elif shadows:
        if current is None:
            raise UsageError(f"{model} is not served yet: give the live arm too, e.g. --to champion --shadow challenger")
        live, strategy = list(current.live), current.strategy
        key = key if key is not None else current.key
    else:
        raise UsageError("say what to serve: --to TARGET, --canary TARGET --traffic N, --ab A,B, --shadow TARGET "
                         "or --rollback")
    if shadows and strategy == "single":
        strategy = "shadow"
    arms = tuple(live) + tuple(Arm(s, 0, shadow=True) for s in shadows)
    return Routing(model=model, arms=arms, strategy=strategy, key=key or None, reason=reason)


def check_loads(project: Project, routing: Routing) -> dict[str, int]:
    """Resolve and load every arm's model; ``{arm: version number}``. Raises, naming the arm, when one
    cannot serve (the caller then saves nothing)."""
    from ..models import load
    from ..models._refs import resolve

    resolved = {}
    for arm in routing.arms:
        try:
            version = resolve(arm.ref(routing.model), project)
            load(version.ref)
        except MlnbError as exc:
            exc.args = (f"deploy refused: arm {arm.label!r} ({arm.ref(routing.model)}): {exc}; "
                        "the routing in force stays",)
            raise
        except Exception as exc:  # a file that no loader could read
            raise MlnbError(f"deploy refused: arm {arm.label!r} ({arm.ref(routing.model)}) does not load "
                            f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]}); the routing in force stays") from None
        resolved[arm.label] = version.version
    return resolved


def routing(model: str) -> Deployment:
    """The routing in force for ``model``, with the version each arm resolves to now.

    >>> mlnb.models.routing("churn").routing.live  # doctest: +SKIP
    """
    from ..models._refs import resolve_in, split_ref

    project = current_project()
    name, _ = split_ref(model)
    with registry(project).read() as conn:
        current = _in_force(conn, _model_id(conn, name), name)
        if current is None:
            raise NotFound(f"{name} is not deployed: `mlnb deploy {name} --to champion` serves an alias")
        now = {}
        for arm in current.arms:
            try:
                now[arm.label] = resolve_in(conn, arm.ref(name)).version
            except NotFound:
                pass  # an alias removed since: shown without a version
    return Deployment(current, now)


_HISTORY_COLUMNS = ["routing", "time", "action", "strategy", "arms", "key", "user", "reason"]


def deploy_history(model: str) -> Table:
    """Every routing of ``model``, newest first: when, who, why, and the arms with their versions.

    >>> mlnb.models.deploy_history("churn")  # doctest: +SKIP
    """
    from ..models._refs import split_ref

    project = current_project()
    name, _ = split_ref(model)
    with registry(project).read() as conn:
        mid = _model_id(conn, name)
        events = conn.execute(select(rt).where(rt.c.model_id == mid).order_by(rt.c.seq.desc())).fetchall()
    rows = []
    for e in events:
        r, resolved = _routing_of(e, name), json.loads(e.resolved)
        rows.append({"routing": e.seq, "time": e.created_at, "action": e.action, "strategy": r.strategy,
                     "arms": [{**a.to_dict(), "version": resolved.get(a.label)} for a in r.arms], "key": r.key,
                     "user": e.user, "host": e.host, "reason": e.reason})
    return Table(rows, _HISTORY_COLUMNS, title=f"routings of {name}",
                 empty=f"{name} was never deployed: `mlnb deploy {name} --to champion`",
                 formatters={"time": format_time, "arms": lambda arms: ", ".join(
                     f"{a['name']}={a['version'] if a['version'] is not None else '?'}"
                     f"{' shadow' if a['shadow'] else ' %g%%' % a['weight']}" for a in arms)})


def routing_in_force(project: Project, model: str) -> Routing | None:
    """The routing in force (``None`` when never deployed): one indexed read, for the server's poll."""
    with registry(project).read() as conn:
        return _in_force(conn, _model_id(conn, model), model)


# -- internals -------------------------------------------------------------------------------


def _model_id(conn: Any, name: str) -> int:
    from ..models._refs import model_id

    return model_id(conn, name)


def _routing_of(row: Any, name: str) -> Routing:
    stored = json.loads(row.routing)
    return Routing.from_dict({**stored, "model": name, "reason": row.reason, "user": row.user,
                              "created_at": row.created_at, "id": row.id,
                              "extra": {"seq": row.seq, "action": row.action}})


def _routing_at(conn: Any, mid: int, name: str, seq: int) -> Routing | None:
    row = conn.execute(select(rt).where(rt.c.model_id == mid, rt.c.seq == seq)).first()
    return _routing_of(row, name) if row else None


def _in_force(conn: Any, mid: int, name: str) -> Routing | None:
    latest = select(func.max(rt.c.seq)).where(rt.c.model_id == mid).scalar_subquery()
    row = conn.execute(select(rt).where(rt.c.model_id == mid, rt.c.seq == latest)).first()
    return _routing_of(row, name) if row else None


def _save(project: Project, mid: int, routing: Routing, resolved: dict[str, int], action: str,
          expected: int) -> Routing:
    """Append the routing as event ``expected + 1`` if ``expected`` is still the latest (compare-and-set)."""
    from ..models._register import _user

    stored = {k: v for k, v in routing.to_dict().items() if k in ("strategy", "key", "arms")}
    now = time.time()
    try:
        with registry(project).write() as conn:
            latest = conn.execute(select(func.max(rt.c.seq)).where(rt.c.model_id == mid)).scalar() or 0
            if latest != expected:
                raise _Changed()
            new_id = conn.execute(rt.insert().values(
                model_id=mid, seq=expected + 1, action=action, routing=json.dumps(stored),
                resolved=json.dumps(resolved), reason=routing.reason, user=_user(), host=socket.gethostname(),
                created_at=now)).inserted_primary_key[0]
            row = conn.execute(select(rt).where(rt.c.id == new_id)).one()
    except (_Changed, sa_exc.IntegrityError):
        raise Conflict(f"the routing of {routing.model} changed since you looked: nothing changed; look again "
                       f"(`mlnb deploy history {routing.model}`) and repeat if still wanted") from None
    return _routing_of(row, routing.model)


def _targets(value: Sequence[str] | str | None, option: str) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    out = [str(t).strip() for t in items if str(t).strip()]
    if not out:
        raise UsageError(f"--{option} needs at least one target (an alias or a version number)")
    return out


def _percent(traffic: Any) -> float:
    if traffic is None:
        raise UsageError("--canary needs --traffic N: the canary's share in percent, e.g. --traffic 10")
    try:
        share = float(traffic)
    except (TypeError, ValueError):
        raise UsageError(f"--traffic {traffic!r} is not a number: give the canary's share in percent") from None
    if not 0 < share < 100:
        raise UsageError(f"--traffic {share:g}: a canary's share is above 0 and below 100 (use --to to send it all)")
    return share


def _ab_weights(traffic: Any, n: int) -> list[float]:
    if traffic is None:
        return [100 / n] * n
    items = traffic.split(",") if isinstance(traffic, str) else traffic
    try:
        weights = [float(w) for w in items]
    except (TypeError, ValueError):
        raise UsageError(f"--traffic {traffic!r}: give one share per --ab target, e.g. --traffic 70,30") from None
    if len(weights) != n:
        raise UsageError(f"--traffic has {len(weights)} shares for {n} --ab targets: give one share per target")
    return weights


def _single_live(model: str, current: Routing | None, option: str) -> str:
    if current is None:
        raise UsageError(f"{model} is not served yet: give the stable arm too, e.g. --to champion {option} challenger")
    if len(current.live) != 1:
        raise UsageError(f"{model} has {len(current.live)} live arms: name the stable one with --to")
    return current.live[0].target


class _Changed(Exception):
    """Another deploy of the same model committed after this one read the routing in force."""
