"""``mlnb.models.ab_test``: the live arms of a model's routing compared on the outcomes of their
predictions, read from the prediction log joined with the outcome log (:mod:`mlnb.monitor`).

The unit is one logged prediction (one instance of a request). Shadow answers are left out.
What is compared (``outcome=``):

- a name (``"converted"``, the default ``"outcome"``): the outcomes logged with
  ``mlnb.models.log_outcomes``; the name is how the result calls them;
- ``"prediction"``, ``"proba"``, ``"latency_ms"`` or ``"feature.<column>"``: that column of the
  prediction log itself (no outcomes needed);
- a callable: given the log joined with the outcomes (a DataFrame, one row per prediction), it
  returns one number per row (NaN where there is none).

Values that are all 0/1 (or true/false) are compared as rates, other numbers as means.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..errors import MlnbError, NotFound, UsageError
from ._abstats import ALPHA, POWER, compare_means, compare_rates, holm, mean_interval, wilson
from ._charts import ChartRecord

#: columns of the prediction log that ``outcome=`` may name directly
LOG_VALUES = ("prediction", "proba", "latency_ms")
FRAME_COLUMNS = ["arm", "control", "versions", "n", "n_outcome", "value", "ci_low", "ci_high", "difference",
                 "diff_low", "diff_high", "p_value", "p_adjusted", "test", "n_needed", "mde"]


def ab_test(model: str, outcome: str | Callable[[Any], Any] = "outcome", *, control: str | None = None,
            start: Any = None, end: Any = None, routing: int | None = None) -> ABTest:
    """Compare the live arms of ``model`` on ``outcome``: per arm n, rate or mean with its 95 %
    interval; each arm against the control (``control=``, by default the heaviest live arm of the
    routing, the first on ties) with the difference, its 95 % interval, a p-value and a power note.

    ``start`` / ``end`` limit the prediction times (``start <= time < end``); ``routing`` keeps
    only the predictions served under that routing number (``mlnb deploy history``).

    >>> mlnb.models.log_outcomes("churn", ids, converted)                    # doctest: +SKIP
    >>> mlnb.models.ab_test("churn", outcome="converted", routing=3)         # doctest: +SKIP
    """
    from ._refs import split_ref, validate_name

    name, _ = split_ref(model)
    validate_name(name)
    if routing is not None and (isinstance(routing, bool) or not isinstance(routing, int)):
        raise UsageError(f"routing must be a routing number (see `mlnb deploy history {name}`), not {routing!r}")
    frame, label = _read(name, outcome, start, end, routing)
    values, kind = _values(frame, outcome, label)
    arms = list(dict.fromkeys(frame["arm"]))
    history = _history(name)
    where = _window(start, end, routing)
    if len(arms) < 2:
        raise MlnbError(f"only one arm ({arms[0]}) answered {name}'s live predictions{where}: nothing to compare; "
                        f"an A/B routing serves two (`mlnb deploy {name} --ab champion,challenger`)")
    seqs = sorted({int(s) for s in frame["routing"] if s >= 0})
    control = _control(name, control, arms, frame, history, routing if routing is not None else max(seqs, default=None))
    has = values.notna()
    if not has.any():
        if isinstance(outcome, str) and not _joined(outcome):
            raise MlnbError(f"the column {outcome} of {name}'s prediction log has no values for its "
                            f"{len(frame):,} live predictions{where}: nothing to compare")
        raise MlnbError(f"none of the {len(frame):,} live predictions of {name}{where} has an outcome yet: log them "
                        f"with mlnb.models.log_outcomes({name!r}, ids, values) (ids: the request ids, "
                        "'<request id>/<row>' for several instances per request)")
    groups = {arm: values[(frame["arm"] == arm).to_numpy() & has.to_numpy()].to_numpy(dtype=float) for arm in arms}
    if not len(groups[control]):
        raise MlnbError(f"the control arm {control} has no outcomes yet{where}: nothing to compare against; "
                        "log its outcomes or choose another control=")
    rows = [_arm_row(arm, arm == control, frame[frame["arm"] == arm], groups[arm], groups[control], kind)
            for arm in [control, *(a for a in arms if a != control)]]
    tested = [r for r in rows[1:] if r["p_value"] is not None]
    if len(tested) > 1:
        for r, p in zip(tested, holm([r["p_value"] for r in tested])):
            r["p_adjusted"] = p
    fields = {"model": name, "outcome": label, "kind": kind, "control": control, "routing": routing,
              "routings": seqs, "start": start, "end": end, "alpha": ALPHA, "power": POWER, "arms": rows}
    fields["notes"] = _notes(fields, history)
    fields["verdict"] = _verdict(fields)
    return ABTest(fields, title=f"A/B test of {name}: {label}")


# -- reading ---------------------------------------------------------------------------------


def _read(name: str, outcome: Any, start: Any, end: Any, routing: int | None) -> tuple[Any, str]:
    from ..monitor._log import read_log

    if callable(outcome):
        columns, joined = None, True
        label = getattr(outcome, "__name__", "") or "outcome"
        label = "outcome" if label == "<lambda>" else label
    elif isinstance(outcome, str) and outcome:
        own = outcome in LOG_VALUES or outcome.startswith("feature.")
        columns, joined, label = ["arm", "version", "routing", *([outcome] if own else [])], not own, outcome
    else:
        raise UsageError(f"outcome must be a name, a column of the prediction log or a callable, not {outcome!r}")
    frame = read_log(name, columns, start=start, end=end, outcomes=joined)
    if frame.empty and read_log(name, ["arm"], outcomes=False, shadow=True).empty:
        raise NotFound(f"{name} has no prediction log yet: serve it (`mlnb serve {name}`) or log batch predictions "
                       "with mlnb.monitor.log_predictions")
    if routing is not None:
        seqs = sorted({int(s) for s in frame["routing"] if s >= 0})
        frame = frame[frame["routing"] == routing].reset_index(drop=True)
        if frame.empty:
            seen = ", ".join(f"#{s}" for s in seqs) or "none"
            raise NotFound(f"no live predictions of {name} under routing #{routing}{_window(start, end, None)} "
                           f"(routings logged: {seen}): see `mlnb deploy history {name}`")
    if frame.empty:
        raise NotFound(f"no live predictions of {name}{_window(start, end, None)}: widen start/end "
                       "(shadow answers are not counted)")
    return frame, label


def _values(frame: Any, outcome: Any, label: str) -> tuple[Any, str]:
    """The compared value per row (NaN where none) and ``"rate"`` or ``"mean"``."""
    import numpy as np
    import pandas as pd

    if callable(outcome):
        raw = outcome(frame)
        raw = pd.Series(np.asarray(raw) if not isinstance(raw, pd.Series) else raw.to_numpy())
        if len(raw) != len(frame):
            raise UsageError(f"the outcome callable returned {len(raw)} values for {len(frame)} predictions: "
                             "return one per row of the frame it gets")
    else:
        raw = frame["outcome" if _joined(outcome) else outcome].reset_index(drop=True)
    if raw.dtype == bool or raw.dtype == object and raw.dropna().map(type).eq(bool).all():
        raw = raw.astype("float64")
    try:
        values = pd.to_numeric(raw, errors="raise").astype("float64")
    except (TypeError, ValueError):
        shown = ", ".join(repr(v) for v in raw.dropna().unique()[:3])
        raise UsageError(f"{label} holds values that are not numbers ({shown}): log 0/1 or numbers, or give "
                         "outcome= a callable that maps each row to one") from None
    seen = values.dropna()
    kind = "rate" if len(seen) and seen.isin([0.0, 1.0]).all() else "mean"
    return values, kind


def _joined(outcome: str) -> bool:
    return not (outcome in LOG_VALUES or outcome.startswith("feature."))


def _history(name: str) -> list[dict[str, Any]]:
    """The model's routings (newest first); none for a model only ever logged by batch jobs."""
    from ..serve._deploy import deploy_history

    try:
        return deploy_history(name).rows
    except NotFound:
        return []


def _control(name: str, control: str | None, arms: list[str], frame: Any, history: list[dict[str, Any]],
             seq: int | None) -> str:
    if control is not None:
        if control not in arms:
            raise UsageError(f"control {control!r} is not an arm of {name}'s logged predictions: they are "
                             f"{', '.join(arms)}")
        return control
    for event in history:
        if event["routing"] == seq:
            live = sorted((a for a in event["arms"] if not a["shadow"] and a["name"] in arms),
                          key=lambda a: -a["weight"])  # stable: the first of equal weights stays first
            if live:
                return str(live[0]["name"])
    counts = frame["arm"].value_counts(sort=False)
    return max(arms, key=lambda a: counts[a])  # the first of the largest


# -- statistics per arm ---------------------------------------------------------------------


def _arm_row(arm: str, is_control: bool, rows: Any, x: Any, x_control: Any, kind: str) -> dict[str, Any]:
    versions = sorted({int(v) for v in rows["version"] if v >= 0})
    out: dict[str, Any] = {"arm": arm, "control": is_control, "versions": versions, "n": len(rows),
                           "n_outcome": len(x), "value": None, "ci_low": None, "ci_high": None}
    out.update({c: None for c in FRAME_COLUMNS[8:]})
    if not len(x):
        return out
    if kind == "rate":
        k = int(x.sum())
        out.update(value=k / len(x), positives=k)
        out["ci_low"], out["ci_high"] = wilson(k, len(x))
        if not is_control:
            c = compare_rates(k, len(x), int(x_control.sum()), len(x_control))
    else:
        out["value"] = float(x.mean())
        out["ci_low"], out["ci_high"] = mean_interval(x)
        if not is_control:
            c = compare_means(x, x_control)
    if not is_control:
        out.update(diff_low=c.pop("ci_low"), diff_high=c.pop("ci_high"), **c)
        out["p_adjusted"] = out["p_value"]
    return out


# -- words -----------------------------------------------------------------------------------


def _window(start: Any, end: Any, routing: int | None) -> str:
    parts = ([f"from {start}"] if start is not None else []) + ([f"before {end}"] if end is not None else [])
    parts += [f"under routing #{routing}"] if routing is not None else []
    return (" " + " ".join(parts)) if parts else ""


def _value(kind: str, v: float | None) -> str:
    if v is None:
        return ""
    return f"{100 * v:.1f} %" if kind == "rate" else f"{v:.4g}"


def _diff(kind: str, d: float | None) -> str:
    if d is None:
        return ""
    if kind == "rate":
        return f"{100 * d:+.{3 if 0 < abs(d) < 0.001 else 1}f} points"  # -0.003, not a misleading -0.0
    return f"{d:+.4g}"


def _size(kind: str, d: float | None) -> str:
    return _diff(kind, d).lstrip("+")


def _p(p: float | None) -> str:
    return "" if p is None else "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _interval(kind: str, low: float | None, high: float | None, diff: bool = False) -> str:
    if low is None or high is None:
        return ""
    show = (lambda v: _diff(kind, v).replace(" points", "")) if diff else (lambda v: _value(kind, v).replace(" %", ""))
    return f"{show(low)} to {show(high)}"


def _verdict(f: dict[str, Any]) -> str:
    kind, control, label = f["kind"], f["control"], f["outcome"]
    others = [r for r in f["arms"][1:] if r["p_adjusted"] is not None]
    significant = [r for r in others if r["p_adjusted"] < f["alpha"]]
    adjusted = " (Holm-adjusted)" if len(others) > 1 else ""
    base = next(r for r in f["arms"] if r["arm"] == control)
    if not others:
        return f"No test yet: no arm besides {control} has {label} values to compare"
    if len(f["arms"]) == 2:
        r = f["arms"][1]
        what = (f"{_value(kind, r['value'])} vs {_value(kind, base['value'])}: "
                f"{_diff(kind, r['difference'])} (95 % CI {_interval(kind, r['diff_low'], r['diff_high'], True)}), "
                f"{_p(r['p_value'])}, {r['test']}")
        if significant:
            way = "higher" if r["difference"] > 0 else "lower"
            return f"{r['arm']}'s {label} {kind} is {way} than {control}'s — {what}"
        return f"No significant difference between {r['arm']} and {control} in {label} {kind} at 5 % — {what}"
    if significant:
        listed = "; ".join(f"{r['arm']} {_diff(kind, r['difference'])} ({_p(r['p_adjusted'])})" for r in significant)
        return f"{len(significant)} of {len(others)} arms differ from {control} in {label} at 5 %{adjusted}: {listed}"
    return f"No arm differs from {control} in {label} at 5 %{adjusted}"


def _notes(f: dict[str, Any], history: list[dict[str, Any]]) -> list[str]:
    kind, rows = f["kind"], f["arms"]
    notes = []
    for r in rows[1:]:
        if r["n_outcome"] == 0:
            notes.append(f"{r['arm']} has no {f['outcome']} values yet: not compared")
            continue
        if r["mde"] is None:
            notes.append(f"{r['arm']}: too few values (or no spread) for a test: need 2 or more per arm, not all equal")
            continue
        have = f"have {rows[0]['n_outcome']:,} and {r['n_outcome']:,}"
        need = (f"detecting {_diff(kind, r['difference'])} needs about {r['n_needed']:,} per arm ({have})"
                if r["n_needed"] else f"no difference observed ({have})")
        notes.append(f"power{'' if len(rows) == 2 else ' (' + r['arm'] + ')'} at alpha 5 % and 80 %: {need}; "
                     f"the smallest difference detectable at these counts is {_size(kind, r['mde'])}")
    if any(r["test"] == "Fisher exact" for r in rows):
        notes.append("small counts (an expected count below 5): Fisher's exact test instead of the z-test")
    if kind == "mean" and min(r["n_outcome"] for r in rows) < 30:
        notes.append("small samples (under 30 values in an arm): Welch's t-test assumes roughly normal means")
    seqs = f["routings"] if f["routing"] is None else [f["routing"]]
    events = {e["routing"]: e for e in history}
    shares = {tuple((a["name"], a["weight"]) for a in events[s]["arms"] if not a["shadow"])
              for s in seqs if s in events}
    if len(shares) > 1:
        notes.append(f"these predictions span routings {', '.join(f'#{s}' for s in seqs)} with different shares: "
                     "a change over time then biases the comparison; routing= compares one")
    keys = {events[s]["key"] for s in seqs if s in events} - {None}
    if keys:
        notes.append(f"sticky on {', '.join(sorted(keys))}: each prediction counts as one independent unit; "
                     "where a key came back several times, its predictions are not independent and the "
                     "intervals are too narrow")
    return notes


# -- the result ------------------------------------------------------------------------------


def _json(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json(x) for x in v]
    return v.item() if hasattr(v, "item") else v


class ABTest(ChartRecord):
    """The result of :func:`ab_test`: ``verdict``, ``arms`` (one dict per arm, control first),
    ``notes``; ``to_frame()``, ``to_dict()``, ``chart()`` (rate or mean per arm with its 95 %
    interval), a table in a notebook and a terminal."""

    chart_text = "<A/B chart>"
    exit_code = 0

    def to_dict(self) -> dict[str, Any]:
        return _json({k: (str(v) if k in ("start", "end") and v is not None else v) for k, v in self.fields.items()})

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([{c: r.get(c) for c in FRAME_COLUMNS} for r in self.fields["arms"]], columns=FRAME_COLUMNS)

    def _table(self) -> Any:  # type: ignore[override]
        from .._display import Table

        kind, label = self.kind, f"{self.outcome} {self.kind}"
        shown = []
        for r in self.arms:
            shown.append({
                "arm": r["arm"] + (" (control)" if r["control"] else ""),
                "versions": ", ".join(f"{self.model}@{v}" for v in r["versions"]),
                "n": f"{r['n']:,}", "with outcome": f"{r['n_outcome']:,}",
                label: _value(kind, r["value"]), "95 % CI": _interval(kind, r["ci_low"], r["ci_high"]),
                "vs control": _diff(kind, r["difference"]),
                "95 % CI ": _interval(kind, r["diff_low"], r["diff_high"], True),
                "p": _p(r["p_adjusted"]).replace("p ", "").lstrip("= "), "test": r["test"] or ""})
        columns = ["arm", "versions", "n", "with outcome", label, "95 % CI", "vs control", "95 % CI ", "p", "test"]
        return Table(shown, columns, title=self.verdict)

    def __str__(self) -> str:
        return "\n".join([str(self._table()), *(f"note: {n}" for n in self.notes)])

    def _repr_html_(self) -> str:
        import html

        table = self._table()
        table.title = ""
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (f"<div class='mlnb-abtest'><p style='font-weight:bold'>{html.escape(self.verdict)}</p>"
                f"{table._repr_html_()}" + (f"<ul style='font-size:12px;margin:4px 0'>{notes}</ul>" if notes else "")
                + "</div>")

    def chart(self) -> Any:
        """Altair: each arm's rate (or mean) with its 95 % interval; the control's value dashed."""
        import altair as alt

        kind = self.kind
        data = [{"arm": r["arm"], "role": "control" if r["control"] else "arm", "value": _round(r["value"]),
                 "low": _round(r["ci_low"]), "high": _round(r["ci_high"]), "n": r["n_outcome"]}
                for r in self.arms if r["value"] is not None]
        axis = alt.Axis(format="%") if kind == "rate" else alt.Axis()
        y = alt.Y("value:Q", title=f"{self.outcome} ({kind}, 95 % CI)", axis=axis, scale=alt.Scale(zero=False))
        base = alt.Chart(alt.Data(values=data)).encode(x=alt.X("arm:N", sort=None, title=None))
        colour = alt.Color("role:N", scale=alt.Scale(domain=["control", "arm"], range=["#4c78a8", "#f58518"]),
                           legend=None)
        bars = base.mark_rule(strokeWidth=2).encode(y=alt.Y("low:Q", title=None), y2="high:Q", color=colour)
        points = base.mark_point(filled=True, size=70).encode(
            y=y, color=colour, tooltip=["arm:N", "value:Q", "low:Q", "high:Q", "n:Q"])
        control = [r for r in data if r["role"] == "control"]
        line = alt.Chart(alt.Data(values=control)).mark_rule(strokeDash=[4, 3], color="#4c78a8").encode(y="value:Q")
        return (line + bars + points).properties(width=max(120, 70 * len(data)), height=180,
                                                 title=f"{self.outcome} by arm")


def _round(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(f"{v:.4g}")
