"""Altair charts of runs: lineage graph and step series (a comparison's charts are in
``_compare_charts``).

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


def finite(value: Any) -> bool:
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


def history_chart(runs: Sequence[dict[str, Any]]) -> Any:
    """Metric series with more than one step, runs overlaid, one panel per metric."""
    import altair as alt

    labels = run_labels(runs)
    values = []
    for r in runs:
        for key, series in r["history"].items():
            if len(series["step"]) > 1:
                values += [{"run": labels[r["id"]], "metric": key, "step": s, "value": v}
                           for s, v in zip(series["step"], series["value"]) if finite(v)]
    return alt.Chart(alt.Data(values=values)).mark_line(point=len(values) <= 200).encode(
        x=alt.X("step:Q"), y=alt.Y("value:Q", title=None), color=alt.Color("run:N", sort=list(labels.values())),
        facet=alt.Facet("metric:N", title=None, columns=3), tooltip=["run:N", "metric:N", "step:Q", "value:Q"],
    ).properties(width=220, height=150).resolve_scale(y="independent")
