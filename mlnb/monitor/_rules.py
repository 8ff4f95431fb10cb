"""Alert rules and channels, kept in ``monitoring.yaml`` at the project root (reviewed like code).

    accuracy < 0.85                a metric of the latest window against a static threshold (<, <=, >, >=)
    drift.share > 0.3              share of drifted features
    estimated.roc_auc < 0.7        estimated performance (before labels arrive)
    latency.p99 > 200              serving latency, milliseconds
    accuracy outside band          the window's row alerts against its calibrated band (report's ``alert``)

The file is edited by ``mlnb monitor rule add/remove`` with a round-trip YAML writer: order and
comments a reviewer wrote stay where they were. A rule that does not parse changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import MlnbError, NotFound, UsageError, shown

FILE = "monitoring.yaml"
SEVERITIES = ("warning", "critical")
_PERFORMANCE = ("accuracy", "precision", "recall", "f1", "roc_auc", "mae", "rmse", "r2")
#: metrics a rule may name as they are (the report's ``metric`` column)
METRICS = (*_PERFORMANCE, "prediction.drift", "drift.share", "schema.failures", "latency.p50", "latency.p99",
           "error_rate")
#: prefixes followed by a feature name (``drift.age``) or, for ``estimated.``, a performance metric
_PREFIXES = ("estimated.", "drift.", "missing.")
_OPS = ("<=", ">=", "<", ">")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)?\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
FORMS = ('METRIC < NUMBER, METRIC > NUMBER (also <=, >=) or METRIC outside band, e.g. "accuracy < 0.85", '
         '"drift.share > 0.3", "estimated.roc_auc < 0.7", "latency.p99 > 200", "accuracy outside band"')
_HEADER = ("# mlnb monitoring: alert rules and channels (`mlnb monitor rule add ...` edits this file;\n"
           "# comments and order are kept). See docs/monitoring.md, section Alerts.\n")


@dataclass(frozen=True)
class Condition:
    """A parsed rule expression: ``metric op threshold``, or ``metric`` outside its band (op "band")."""

    metric: str
    op: str
    threshold: float | None = None

    @property
    def text(self) -> str:
        return f"{self.metric} outside band" if self.op == "band" else f"{self.metric} {self.op} {self.threshold:g}"

    def holds(self, value: float, alert: Any = None) -> bool:
        """Whether the condition is met (the alert fires): ``value`` against the threshold, or the
        report row's ``alert`` flag for a band."""
        if self.op == "band":
            return bool(alert)
        t = self.threshold
        return {"<": value < t, "<=": value <= t, ">": value > t, ">=": value >= t}[self.op]  # type: ignore[operator]


@dataclass(frozen=True)
class Rule:
    """One alert rule of ``monitoring.yaml``."""

    name: str
    model: str
    when: str
    window: str = "1D"
    severity: str = "warning"
    cooldown: str = "0s"

    @property
    def condition(self) -> Condition:
        return parse_condition(self.when)

    @property
    def cooldown_seconds(self) -> float:
        return parse_duration(self.cooldown, "--cooldown")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        import json

        return json.dumps(self.to_dict())

    def __str__(self) -> str:
        return (f"rule {self.name}: {self.when} for {self.model} over {self.window} "
                f"({self.severity}, cooldown {self.cooldown}) in {FILE}")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": str(self)}


def parse_condition(text: Any) -> Condition:
    """``"accuracy < 0.85"`` → :class:`Condition`; anything else is one :class:`UsageError` naming
    what is wrong and the accepted forms."""
    if not isinstance(text, str) or not text.strip():
        raise UsageError(f"empty rule: write {FORMS}")
    if len(text) > 300:
        raise UsageError(f"rule {shown(text)} is longer than 300 characters: write {FORMS}")
    head = re.match(r"\s*([^\s<>=]+)\s*(.*?)\s*$", text, re.DOTALL)
    name, rest = (head[1], head[2]) if head else ("", text.strip())
    op = next((o for o in _OPS if rest.startswith(o)), None)
    if not name or (op is None and not re.fullmatch(r"outside\s+band", rest, re.IGNORECASE)):
        wrong = ("a comparison (<, <=, >, >=) or 'outside band' after the metric" if not rest or not name
                 else f"{rest.split()[0]!r} where a comparison (<, <=, >, >=) or 'outside band' belongs")
        raise UsageError(f"rule {shown(text)} does not parse: expected {wrong}; write {FORMS}")
    metric = _metric(name, text)
    if op is None:
        return Condition(metric, "band")
    number = rest[len(op):].split()
    if len(number) != 1:
        raise UsageError(f"rule {shown(text)} does not parse: expected a single number after {op!r}; write {FORMS}")
    try:
        threshold = float(number[0])
    except ValueError:
        threshold = float("nan")
    if threshold != threshold or threshold in (float("inf"), float("-inf")):
        raise UsageError(f"rule {shown(text)} does not parse: {number[0]!r} is not a finite number; write {FORMS}")
    return Condition(metric, op, threshold)


def _metric(name: str, text: str) -> str:
    if name in METRICS:
        return name
    for prefix in _PREFIXES:
        rest = name[len(prefix):]
        if name.startswith(prefix) and rest:
            if prefix == "estimated." and rest not in _PERFORMANCE:
                raise UsageError(f"rule {shown(text)}: estimated.{rest} is not estimated; use estimated. with "
                                 f"one of {', '.join(_PERFORMANCE)}; write {FORMS}")
            return name
    raise UsageError(f"rule {shown(text)}: unknown metric {shown(name, 40)}; use one of {', '.join(METRICS)}, "
                     "estimated.<metric>, drift.<feature> or missing.<feature>; write " + FORMS)


def parse_duration(text: Any, what: str = "duration") -> float:
    """``"90s"``, ``"15m"``, ``"1h"``, ``"1d"`` (a bare number is seconds) → seconds."""
    found = _DURATION.match(str(text))
    if found is None:
        raise UsageError(f"{what} {shown(str(text), 40)}: write a duration such as 90s, 15m, 1h or 1d")
    return float(found[1]) * _UNITS[(found[2] or "s").lower()]


def check_window(spec: Any) -> str:
    """A window the report understands: a period (``1D``, ``6h``) or a row count (``10000``)."""
    from ._windows import parse_window

    text = str(spec).strip()
    try:
        parse_window(text)
    except UsageError:
        raise UsageError(f"--window {shown(text, 40)} does not parse: give a period such as 1D, 6h, 30min "
                         "or a row count such as 10000") from None
    return text


# -- the file ----------------------------------------------------------------------------------


def config_path(root: Path) -> Path:
    return Path(root) / FILE


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip: comments, order and quoting survive an edit
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def read_config(root: Path) -> Any:
    """The parsed ``monitoring.yaml`` (a round-trip mapping), or an empty one when absent."""
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    path = config_path(root)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return CommentedMap()
    try:
        data = _yaml().load(text)
    except YAMLError as exc:
        where = f" (line {exc.problem_mark.line + 1})" if getattr(exc, "problem_mark", None) else ""
        raise MlnbError(f"{path} is not valid YAML{where}: fix it by hand (it is under git) and run again") from None
    if data is None:
        return CommentedMap()
    if not isinstance(data, dict) or not all(isinstance(data.get(k, []) or [], list) for k in ("rules", "channels")):
        raise MlnbError(f"{path}: expected a mapping with lists 'rules' and 'channels': fix it by hand and run again")
    return data


#: per monitoring.yaml: (its stat, its sections as plain dicts), so that one check parses it once
_PARSED: dict[Path, tuple[tuple[int, int, int], dict[str, list[dict[str, Any]]]]] = {}


def config_section(root: Path, section: str) -> list[dict[str, Any]]:
    """The entries of ``section`` (rules, channels) of ``monitoring.yaml`` as plain dicts, parsed
    again only when the file changed (it is always replaced whole, by a rename)."""
    path = config_path(root)
    try:
        st = path.stat()
    except FileNotFoundError:
        return []
    key = (st.st_mtime_ns, st.st_size, st.st_ino)
    hit = _PARSED.get(path)
    if hit is None or hit[0] != key:
        data = read_config(root)
        hit = key, {s: [dict(e) for e in data.get(s) or []] for s in ("rules", "channels")}
        _PARSED[path] = hit
    return [dict(e) for e in hit[1][section]]


def _write_config(root: Path, data: Any) -> None:
    import io

    from .._whole import write_whole

    path = config_path(root)
    buffer = io.StringIO()
    if not path.exists():
        buffer.write(_HEADER)
    _yaml().dump(data, buffer)
    write_whole(path, buffer.getvalue())  # the old file or the new one, never half of one


@contextmanager
def editing() -> Iterator[tuple[Path, Any]]:
    """``(root, data)`` of ``monitoring.yaml`` under the project's lock; written back (whole, by a
    rename) when the block ends without an error, left as it was otherwise."""
    from .._lock import project_lock

    root = _project_root()
    with project_lock(root, "monitoring", what="edit monitoring.yaml"):
        data = read_config(root)
        yield root, data
        _write_config(root, data)


def remove_named(section: str, name: str, listing: str) -> dict[str, Any]:
    """Remove the entry ``name`` of ``section`` (rules, channels); returns it as it was."""
    with editing() as (root, data):
        entries = data.get(section) or []
        for i, raw in enumerate(entries):
            if str(dict(raw).get("name")) == name:
                del entries[i]
                return dict(raw)
        known = ", ".join(str(dict(e).get("name")) for e in entries) or "none yet"
        raise NotFound(f"no {section[:-1]} named {shown(name, 60)} in {FILE} ({section}: {known}): "
                       f"`{listing}` shows them")


def load_rules(root: Path, model: str | None = None) -> list[Rule]:
    """The rules of ``monitoring.yaml`` (of ``model`` only, when given), each checked."""
    rules = []
    for i, raw in enumerate(config_section(root, "rules")):
        try:
            rule = Rule(**{k: str(v) for k, v in raw.items()})
            rule.condition, rule.cooldown_seconds  # noqa: B018 - parse now: a bad rule is named here
        except (TypeError, UsageError) as exc:
            raise MlnbError(f"{config_path(root)}: rule {i + 1} is not valid ({exc}): fix it, or "
                            "remove it with `mlnb monitor rule remove NAME`") from None
        if model is None or rule.model == model:
            rules.append(rule)
    return rules


def _project_root() -> Path:
    from .._project import current_project

    return current_project().root


def add_rule(when: str, model: str, window: str = "1D", severity: str = "warning", cooldown: str = "0s",
             name: str | None = None) -> Rule:
    """Add a rule to ``monitoring.yaml`` (created when missing); nothing changes when it does not parse.

    >>> mlnb.monitor.add_rule("accuracy < 0.85", model="churn", window="1D", severity="critical")  # doctest: +SKIP
    """
    from ..models._refs import validate_name

    validate_name(model)
    condition = parse_condition(when)
    if severity not in SEVERITIES:
        raise UsageError(f"--severity {shown(str(severity), 40)}: use warning or critical")
    parse_duration(cooldown, "--cooldown")
    window = check_window(window)
    if name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", name):
        raise UsageError(f"--name {shown(name, 40)}: use letters, digits, '_', '-' or '.' (at most 100)")
    with editing() as (root, data):
        existing = load_rules(root)
        names = {r.name for r in existing}
        for r in existing:
            if (r.model, r.condition, r.window) == (model, condition, window):
                raise UsageError(f"rule {r.name} already says {condition.text} for {model} over {window}: "
                                 f"change it with `mlnb monitor rule remove {r.name}` first")
        if name is None:
            base = f"{model}.{condition.metric}"
            name = next(n for n in (base, *(f"{base}-{i}" for i in range(2, 10_000))) if n not in names)
        elif name in names:
            raise UsageError(f"a rule named {name} exists: choose another --name, or remove it first")
        rule = Rule(name=name, model=model, when=condition.text, window=window, severity=severity,
                    cooldown=str(cooldown))
        if data.get("rules") is None:
            data["rules"] = []
        data["rules"].append(rule.to_dict())
    return rule


def remove_rule(name: str) -> Rule:
    """Remove the rule ``name`` from ``monitoring.yaml``; its firing alert resolves at the next check."""
    return Rule(**{k: str(v) for k, v in remove_named("rules", name, "mlnb monitor rule list").items()})


def list_rules(model: str | None = None) -> Any:
    """The rules of ``monitoring.yaml`` as a table (of ``model`` only, when given)."""
    from .._display import Table

    rules = load_rules(_project_root(), model)
    return Table([r.to_dict() for r in rules], ["name", "model", "when", "window", "severity", "cooldown"],
                 title=f"{len(rules)} rule(s) in {FILE}", empty="no rules: `mlnb monitor rule add \"accuracy < 0.85\" "
                 "--model MODEL` adds one")
