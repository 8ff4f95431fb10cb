"""``mlnb monitor check MODEL``: every rule of the model on the latest window of its report.

One report per distinct window (never one per rule); :func:`evaluate` is a pure function of the
reports' frames (``Report.to_frame()``: one row per window and metric), then the alerts are
recorded (:mod:`._alerts`) and the channels told (:mod:`._channels`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from .._display import Table, format_value
from ._alerts import COOLDOWN, FIRED, FIRING, NO_DATA, RESOLVED, Evaluation, firing_count, record
from ._rules import Rule, load_rules

_COLUMNS = ["rule", "when", "window", "value", "state", "alert", "note"]


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def evaluate(rules: list[Rule], frames: Mapping[str, Any]) -> list[Evaluation]:
    """Each rule against the latest window of ``frames[rule.window]``: a :class:`._latest.LatestWindow`
    or a report's ``to_frame()``.

    A rule whose metric has no row or no value in that window (no outcomes yet, a window too
    small, a band not calibrated) is "no data": its alert, if any, neither fires nor resolves.
    """
    from ._latest import LatestWindow

    latest = {w: f if f is None or isinstance(f, LatestWindow) else LatestWindow.from_frame(f) for w, f in frames.items()}
    out = []
    for rule in rules:
        window = latest[rule.window]
        condition = rule.condition
        ev = Evaluation(rule)
        out.append(ev)
        if window is None:
            ev.note = "no predictions logged yet"
            continue
        ev.window_start, ev.window_end, ev.n = window.start, window.end, window.n
        row = window.metrics.get(condition.metric)
        if row is None:
            ev.note = f"no {condition.metric} in the latest window"
            continue
        ev.value = _number(row["value"])
        ev.lower, ev.upper = _number(row["lower"]), _number(row["upper"])
        if ev.value is None:
            ev.note = row["note"] or f"no value of {condition.metric} in this window"
            continue
        if condition.op == "band" and ev.lower is None and ev.upper is None:
            ev.note = f"no calibrated band for {condition.metric}"
            continue
        ev.firing = condition.holds(ev.value, bool(row["alert"]))
    return out


class CheckResult(Table):
    """What a check did, one row per rule; ``exit_code`` 1 while any alert of the model is firing."""

    def __init__(self, model: str, evaluations: list[Evaluation], firing: int, sent: Any = None) -> None:
        self.model, self.evaluations, self.firing = model, evaluations, firing
        self.sent = sent
        rows = [{"rule": ev.rule.name, "when": ev.rule.when, "window": ev.rule.window, "value": ev.value,
                 "state": ev.state or (NO_DATA if ev.firing is None else "ok"), "alert": ev.alert_id,
                 "note": ev.note} for ev in evaluations]
        counts = {s: sum(r["state"] == s for r in rows) for s in (FIRED, FIRING, RESOLVED, COOLDOWN, NO_DATA)}
        head = f"FIRING: {firing} alert(s) of {model}" if firing else f"OK: no alert of {model} firing"
        parts = [f"{v} {k}" for k, v in counts.items() if v]
        title = f"{head} ({len(rows)} rule(s){': ' + ', '.join(parts) if parts else ''})"
        if sent is not None and (sent.sent or sent.failed):
            title += f"; deliveries: {sent.sent} sent, {sent.failed} failed"
            if sent.errors:
                title += " (" + "; ".join(sent.errors) + ")"
        super().__init__(rows, _COLUMNS, title=title, empty=f"no rules for {model}: `mlnb monitor rule add` adds one",
                         formatters={"value": format_value})

    @property
    def exit_code(self) -> int:
        return 1 if self.firing else 0

    def to_dict(self) -> dict[str, Any]:  # type: ignore[override]
        sent = self.sent
        return {"model": self.model, "firing": self.firing, "rules": Table.to_dict(self),
                "deliveries": {"sent": sent.sent if sent else 0, "failed": sent.failed if sent else 0,
                               "errors": (sent.errors or []) if sent else []}}


Reporter = Callable[[str, str], Any]


def _latest_window(model: str, window: str, metrics: Any = None) -> Any:
    """The latest window of ``mlnb.monitor.report(model, window=...)`` (a :class:`._latest.LatestWindow`):
    only that window and the baseline ones (its bands) are computed, and only the groups of
    ``metrics``; kept until an input changes (:mod:`._cache`: an unchanged log is not read again,
    nor numpy or pandas imported)."""
    from .._project import current_project
    from ..models._refs import split_ref
    from . import _cache

    project = current_project()
    name, _ = split_ref(model)
    digest = _cache.key(project, name, model, window, metrics)
    latest = _cache.load(project, name, window, metrics, digest)
    if latest is None:
        from ._latest import LatestWindow
        from ._report import latest_report

        latest = LatestWindow.from_rows(latest_report(model, window, metrics).rows)
        if latest is not None and _cache.key(project, name, model, window, metrics) == digest:  # no file came meanwhile
            _cache.keep(project, name, window, metrics, digest, latest)
    return latest


def check(model: str, *, send: bool = True, now: float | None = None, reporter: Reporter | None = None) -> CheckResult:
    """Evaluate every rule of ``model`` on the latest window, fire / resolve its alerts and tell the
    channels of ``monitoring.yaml``. ``exit_code`` is 1 while any alert of the model is firing.

    ``reporter(model, window)`` gives a report's frame (default: ``mlnb.monitor.report``); it is
    called once per distinct window of the rules.

    >>> mlnb.monitor.check("churn")   # doctest: +SKIP
    """
    from .._lock import project_lock
    from .._project import current_project
    from ..models._refs import validate_name
    from . import _config_cache
    from ._channels import deliver, load_channels

    validate_name(model)
    project = current_project()
    primed = _config_cache.prime(project.root)  # monitoring.yaml as last parsed, when its bytes are the same
    rules = load_rules(project.root, model)
    all_names = {r.name for r in load_rules(project.root)}
    channels = load_channels(project.root)
    _config_cache.save(project.root, primed)
    if reporter is None:
        needed: dict[str, set[str]] = {}
        for r in rules:
            needed.setdefault(r.window, set()).add(r.condition.metric)
        frames = {w: _latest_window(model, w, metrics) for w, metrics in needed.items()}
    else:
        frames = {w: reporter(model, w) for w in dict.fromkeys(r.window for r in rules)}
    with project_lock(project.root, "monitor-check", what=f"check the rules of {model}"):
        evaluations = record(project, model, evaluate(rules, frames), all_names, [c.name for c in channels], now)
        sent = deliver(project, model, channels, now) if send else None  # also drops removed channels' entries
    return CheckResult(model, evaluations, firing_count(project, model), sent)


class Watcher:
    """``check(model)`` every ``every`` seconds in a background thread (``mlnb serve --monitor-every``).

    A round with no rules for the model costs one read of ``monitoring.yaml``; a round that fails
    logs one line and the next round tries again. Nothing here runs on a request path.
    """

    def __init__(self, project: Any, model: str, every: float, reporter: Reporter | None = None) -> None:
        import threading

        self.project, self.model, self.every, self.reporter = project, model, every, reporter
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mlnb-monitor", daemon=True)

    def start(self) -> Watcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        import logging

        from .._project import using_project

        log = logging.getLogger("mlnb.serve")
        last = ""
        with using_project(self.project):
            while not self._stop.wait(self.every):
                try:
                    if not load_rules(self.project.root, self.model):
                        continue
                    result = check(self.model, reporter=self.reporter)
                    self.rounds += 1
                    if result.title != last:  # say what changed, not every round
                        log.info("monitor: %s", result.title)
                        last = result.title
                except Exception as exc:  # a registry or log that cannot be read now: try next round
                    log.warning("monitor: checking %s failed: %s", self.model, " ".join(str(exc).split())[:300])
