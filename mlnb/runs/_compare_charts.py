"""The charts of a run comparison, as plain Vega-Lite dicts (the notebook and the panel draw the
same specs): metric histories overlaid per run, parallel coordinates of the differing params to
one metric, and each differing param against that metric.

Series longer than their share of ``POINTS`` are cut to M4 buckets (first, min, max and last point
of each), which keeps every spike; specs carry only those points. Non-finite values are left out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._display import format_value as _text
from ._charts import finite
from ._downsample import m4

V6_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
#: most points drawn over all the series of a history chart (M4 keeps up to 4 a bucket)
POINTS = 8000
#: fewest points a series keeps however many series share ``POINTS``
MIN_SERIES_POINTS = 200
#: most params drawn as axes or scatter panels (the first, in sorted order)
MAX_PARAMS = 12
#: a categorical param with more values than this is not drawn (each value needs room)
MAX_CATEGORIES = 30
_RUN_COLORS = {"scheme": "category20"}


def history_spec(runs: Sequence[Mapping[str, Any]], labels: Mapping[str, str], points: int = POINTS) -> dict[str, Any] | None:
    """Every metric logged at more than one step, one panel per metric, runs overlaid; None if none.

    ``points`` is shared by all series (each keeps at least ``MIN_SERIES_POINTS``); each series is
    one data row of two arrays, flattened by Vega-Lite, so the spec stays about 20 bytes a point.
    """
    series = [(r, key, s) for r in runs for key, s in sorted(r["history"].items()) if len(s["step"]) > 1]
    if not series:
        return None
    each = max(MIN_SERIES_POINTS, points // len(series))
    values = []
    for r, key, s in series:
        steps, ys = m4(s["step"], s["value"], buckets=max(1, each // 4))
        values.append({"run": labels[r["id"]], "metric": key, "step": steps, "value": ys})
    order = [labels[r["id"]] for r in runs]
    drawn = sum(len(v["step"]) for v in values)
    return {
        "$schema": V6_SCHEMA,
        "title": "metric history",
        "data": {"values": values},
        "transform": [{"flatten": ["step", "value"]}],
        "facet": {"field": "metric", "type": "nominal", "title": None, "sort": sorted({key for _, key, _ in series})},
        "columns": 2,
        "spec": {
            "width": 260, "height": 160,
            "mark": {"type": "line", "point": drawn <= 200, "tooltip": True},
            "encoding": {
                "x": {"field": "step", "type": "quantitative"},
                "y": {"field": "value", "type": "quantitative", "title": None, "scale": {"zero": False}},
                "color": {"field": "run", "type": "nominal", "sort": order, "scale": _RUN_COLORS},
            },
        },
        "resolve": {"scale": {"x": "independent", "y": "independent"}},
    }


def drawable_params(runs: Sequence[Mapping[str, Any]], differing: Sequence[str]) -> list[str]:
    """The differing params that can be an axis: numbers, or text with few distinct values."""
    out = []
    for key in differing:
        values = [r["params"].get(key) for r in runs if r["params"].get(key) is not None]
        if not values:
            continue
        if all(finite(v) for v in values) or len({_text(v) for v in values}) <= MAX_CATEGORIES:
            out.append(key)
    return out[:MAX_PARAMS]


def log_scale(values: Iterable[Any]) -> bool:
    """Whether numbers are drawn on a log scale: all positive, spanning 100x or more (a learning
    rate swept 0.001 … 0.3)."""
    numbers = [v for v in values if finite(v)]
    return bool(numbers) and min(numbers) > 0 and max(numbers) >= 100 * min(numbers)


def _axis(runs: Sequence[Mapping[str, Any]], key: str, get: Any) -> tuple[dict[str, float], list[tuple[float, str]]]:
    """Each run's position on one axis in [0, 1] (min–max for numbers, on a log scale when
    :func:`log_scale`; evenly spaced sorted values for text), and the axis's tick labels as
    (position, text)."""
    raw = {r["id"]: get(r) for r in runs}
    present = {i: v for i, v in raw.items() if v is not None and (finite(v) or not isinstance(v, float))}
    if present and all(finite(v) for v in present.values()):
        lo, hi = min(present.values()), max(present.values())
        f = math.log10 if log_scale(present.values()) else float
        pos = {i: 0.5 if hi == lo else (f(v) - f(lo)) / (f(hi) - f(lo)) for i, v in present.items()}
        ticks = [(0.5, _text(lo))] if hi == lo else [(0.0, _text(lo)), (1.0, _text(hi))]
        return pos, ticks
    cats = sorted({_text(v) for v in present.values()})
    spot = {c: 0.5 if len(cats) == 1 else n / (len(cats) - 1) for n, c in enumerate(cats)}
    return {i: spot[_text(v)] for i, v in present.items()}, [(spot[c], c) for c in cats]


def parallel_spec(runs: Sequence[Mapping[str, Any]], labels: Mapping[str, str], params: Sequence[str],
                  metric: str) -> dict[str, Any] | None:
    """One line per run across the params and ``metric`` (last axis), coloured by ``metric``."""
    if not params:
        return None
    axes = [*params, metric]
    lines, ticks = [], []
    score = {r["id"]: r["metrics"].get(metric) for r in runs}
    for n, key in enumerate(axes):
        get = (lambda r, k=key: r["metrics"].get(k)) if n == len(axes) - 1 else (lambda r, k=key: r["params"].get(k))
        pos, labels_at = _axis(runs, key, get)
        for r in runs:
            if r["id"] in pos:
                lines.append({"run": labels[r["id"]], "axis": key, "pos": pos[r["id"]], "value": _text(get(r)),
                              "score": score[r["id"]] if finite(score[r["id"]]) else None})
        ticks += [{"axis": key, "pos": p, "label": t} for p, t in labels_at]
    x = {"field": "axis", "type": "nominal", "sort": axes, "title": None, "axis": {"labelAngle": 0, "orient": "top"}}
    y = {"field": "pos", "type": "quantitative", "axis": None, "scale": {"domain": [0, 1]}}
    return {
        "$schema": V6_SCHEMA,
        "title": f"params → {metric}",
        "width": max(300, 110 * len(axes)), "height": 240,
        "layer": [
            {"data": {"values": [{"axis": a} for a in axes]}, "mark": {"type": "rule", "color": "#bbb"},
             "encoding": {"x": x, "y": {"datum": 0, "type": "quantitative", "scale": {"domain": [0, 1]}, "axis": None},
                          "y2": {"datum": 1}}},
            {"data": {"values": lines}, "mark": {"type": "line", "strokeWidth": 2, "opacity": 0.85},
             "encoding": {"x": x, "y": y, "detail": {"field": "run", "type": "nominal"},
                          "color": {"field": "score", "type": "quantitative", "title": metric,
                                    "scale": {"scheme": "viridis"}},
                          "tooltip": [{"field": "run", "type": "nominal"}, {"field": "axis", "type": "nominal"},
                                      {"field": "value", "type": "nominal"}]}},
            {"data": {"values": ticks}, "mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 10,
                                                  "color": "#555"},
             "encoding": {"x": x, "y": y, "text": {"field": "label", "type": "nominal"}}},
        ],
    }


def scatter_spec(runs: Sequence[Mapping[str, Any]], labels: Mapping[str, str], params: Sequence[str],
                 metric: str) -> dict[str, Any] | None:
    """For each param, its value (x) against ``metric`` (y), a point per run."""
    panels = []
    order = [labels[r["id"]] for r in runs]
    for key in params:
        rows = [{"run": labels[r["id"]], "x": r["params"].get(key), "y": r["metrics"].get(metric)} for r in runs
                if r["params"].get(key) is not None and finite(r["metrics"].get(metric))]
        if not rows:
            continue
        numeric = all(finite(row["x"]) for row in rows)
        if not numeric:
            rows = [{**row, "x": _text(row["x"])} for row in rows]
        panels.append({
            "title": key, "width": 170, "height": 140, "data": {"values": rows},
            "mark": {"type": "point", "filled": True, "size": 70, "tooltip": True},
            "encoding": {
                "x": {"field": "x", "type": "quantitative" if numeric else "nominal", "title": key,
                      **({"scale": {"type": "log"} if log_scale(r["x"] for r in rows) else {"zero": False}}
                         if numeric else {})},
                "y": {"field": "y", "type": "quantitative", "title": metric, "scale": {"zero": False}},
                "color": {"field": "run", "type": "nominal", "sort": order, "scale": _RUN_COLORS, "legend": None},
            },
        })
    if not panels:
        return None
    return {"$schema": V6_SCHEMA, "title": f"each param against {metric}", "concat": panels, "columns": 4}
