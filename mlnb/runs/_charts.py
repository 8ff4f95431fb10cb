"""Altair charts of runs: lineage graph, metric bars, step series, parallel coordinates.

Charts carry only pre-aggregated values (one point per metric value or node), never raw data.
Labels are run names (with a short id only when two runs share a name), so the same runs give
the same chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def run_labels(runs: Sequence[dict[str, Any]]) -> dict[str, str]:
    """A readable, unique label per run id."""
    names = [r["name"] for r in runs]
    return {r["id"]: r["name"] if names.count(r["name"]) == 1 else f"{r['name']} ({r['id'][:6]})" for r in runs}


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


_KINDS = ["data version", "run", "artifact", "model version"]


def lineage_chart(run: dict[str, Any]) -> Any:
    """Data versions read → run → data versions written, artifacts and model versions registered,
    left to right (``run["models"]``: model refs, optional)."""
    import altair as alt

    columns = {"input": 0, "run": 1, "output": 2}
    nodes: list[dict[str, Any]] = []

    def add(kind: str, label: str, column: str) -> dict[str, Any]:
        row = sum(1 for n in nodes if n["x"] == columns[column])
        node = {"label": label, "kind": kind, "x": columns[column], "y": row}
        nodes.append(node)
        return node

    inputs = [add("data version", d["ref"], "input") for d in run["inputs"]]
    outputs = [add("data version", d["ref"], "output") for d in run["outputs"]]
    versioned = {d["id"] for d in run["outputs"]}
    outputs += [add("artifact", a["path"], "output") for a in run["artifacts"] if a.get("data_version_id") not in versioned]
    outputs += [add("model version", ref, "output") for ref in run.get("models", [])]
    span = max(len(inputs), len(outputs), 1)
    center = add("run", run["name"], "run")
    center["y"] = (span - 1) / 2
    edges = [{"x": n["x"], "y": n["y"], "x2": center["x"], "y2": center["y"]} for n in inputs + outputs]
    height = 60 + 40 * span
    scale_x = alt.Scale(domain=[-0.5, 2.5])
    scale_y = alt.Scale(domain=[span - 0.5, -0.5])
    links = alt.Chart(alt.Data(values=edges)).mark_rule(color="#999").encode(
        x=alt.X("x:Q", scale=scale_x, axis=None), y=alt.Y("y:Q", scale=scale_y, axis=None), x2="x2:Q", y2="y2:Q",
    )
    base = alt.Chart(alt.Data(values=nodes)).encode(
        x=alt.X("x:Q", scale=scale_x, axis=None), y=alt.Y("y:Q", scale=scale_y, axis=None),
    )
    points = base.mark_point(filled=True, size=300).encode(
        color=alt.Color("kind:N", scale=alt.Scale(domain=_KINDS, range=["#4c78a8", "#54a24b", "#f58518", "#b279a2"]),
                        title=None),
        shape=alt.Shape("kind:N", scale=alt.Scale(domain=_KINDS, range=["square", "circle", "diamond", "triangle-up"]),
                        title=None),
        tooltip=["kind:N", "label:N"],
    )
    text = base.mark_text(dy=-16, fontSize=11).encode(text="label:N")
    title = run.get("title") or f"lineage of {run['name']}"
    return (links + points + text).properties(width=480, height=height, title=title)


def metric_bars(runs: Sequence[dict[str, Any]]) -> Any:
    """Latest value of each metric, one bar per run, one panel per metric."""
    import altair as alt

    labels = run_labels(runs)
    values = [{"run": labels[r["id"]], "metric": k, "value": v}
              for r in runs for k, v in r["metrics"].items() if _finite(v)]
    return alt.Chart(alt.Data(values=values)).mark_bar().encode(
        x=alt.X("run:N", title=None, sort=list(labels.values())),
        y=alt.Y("value:Q", title=None),
        color=alt.Color("run:N", sort=list(labels.values())),
        column=alt.Column("metric:N", title=None),
        tooltip=["run:N", "metric:N", "value:Q"],
    ).properties(width=max(60, 28 * len(runs)), height=160).resolve_scale(y="independent")


def history_chart(runs: Sequence[dict[str, Any]]) -> Any:
    """Metric series with more than one step, runs overlaid, one panel per metric."""
    import altair as alt

    labels = run_labels(runs)
    values = []
    for r in runs:
        for key, series in r["history"].items():
            if len(series["step"]) > 1:
                values += [{"run": labels[r["id"]], "metric": key, "step": s, "value": v}
                           for s, v in zip(series["step"], series["value"]) if _finite(v)]
    return alt.Chart(alt.Data(values=values)).mark_line(point=len(values) <= 200).encode(
        x=alt.X("step:Q"), y=alt.Y("value:Q", title=None), color=alt.Color("run:N", sort=list(labels.values())),
        facet=alt.Facet("metric:N", title=None, columns=3), tooltip=["run:N", "metric:N", "step:Q", "value:Q"],
    ).properties(width=220, height=150).resolve_scale(y="independent")


def parallel_coordinates(runs: Sequence[dict[str, Any]]) -> Any:
    """One line per run across numeric params and metrics, each axis scaled to [0, 1]."""
    import altair as alt

    labels = run_labels(runs)
    axes: dict[str, list[float]] = {}
    for r in runs:
        for prefix, values in (("params", r["params"]), ("metrics", r["metrics"])):
            for k, v in values.items():
                if _finite(v):
                    axes.setdefault(f"{prefix}.{k}", []).append(float(v))
    order = sorted(axes, key=lambda a: (not a.startswith("params"), a))
    values = []
    for r in runs:
        for axis in order:
            prefix, key = axis.split(".", 1)
            v = r[prefix].get(key)
            if _finite(v):
                lo, hi = min(axes[axis]), max(axes[axis])
                values.append({"run": labels[r["id"]], "axis": axis, "raw": v,
                               "scaled": 0.5 if hi == lo else (v - lo) / (hi - lo)})
    return alt.Chart(alt.Data(values=values)).mark_line(point=True).encode(
        x=alt.X("axis:N", sort=order, title=None), y=alt.Y("scaled:Q", title="scaled to min–max", axis=alt.Axis(format=".1f")),
        color=alt.Color("run:N", sort=list(labels.values())), detail="run:N", tooltip=["run:N", "axis:N", "raw:Q"],
    ).properties(width=max(240, 90 * len(order)), height=220, title="parallel coordinates")
