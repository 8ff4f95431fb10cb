"""Altair charts of drift reports, built from pre-binned counts (never raw rows).

* :func:`summary_chart`: each column's effect size divided by its threshold (1 = threshold).
* :func:`distribution_chart`: reference vs current per column — density histograms on the
  reference-quantile display bins for numeric columns (an axis fitted to the data, not to zero)
  and datetime columns (on a time axis), and grouped bars of the top categories' shares,
  reference beside current on one scale, for categorical ones. Identifier-like columns are not
  tested, so they have no histogram and no chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

COLORS = {"drifted": "#d62728", "ok": "#2ca02c", "not significant": "#ff7f0e", "not tested": "#7f7f7f"}
SIDES = {"reference": "#4c78a8", "current": "#f58518"}


def _r(v: float) -> float | None:
    """Round to 4 significant digits to keep specs small (None for NaN/inf)."""
    if v is None or not math.isfinite(v):
        return None
    return float(f"{v:.4g}")


def status_of(row: dict[str, Any]) -> str:
    if row["drifted"]:
        return "drifted"
    if row["test"] is None:
        return "not tested"
    if row["score"] >= row["threshold"]:
        return "not significant"
    return "ok"


def summary_chart(rows: Sequence[dict[str, Any]]) -> Any:
    import altair as alt

    data = []
    for r in rows:
        if r["test"] is None:
            continue
        ratio = r["score"] / r["threshold"] if r["threshold"] else float("nan")
        data.append({"column": r["column"], "ratio": _r(ratio), "metric": r["metric"], "score": _r(r["score"]),
                     "threshold": r["threshold"], "p_adj": _r(r["p_adjusted"]), "status": status_of(r)})
    base = alt.Chart(alt.Data(values=data)).encode(y=alt.Y("column:N", sort="-x", title=None))
    bars = base.mark_bar().encode(
        x=alt.X("ratio:Q", title="effect size / threshold (1 = threshold)"),
        color=alt.Color("status:N", scale=alt.Scale(domain=list(COLORS), range=list(COLORS.values())),
                        legend=alt.Legend(title=None, orient="top")),
        tooltip=["column:N", "metric:N", "score:Q", "threshold:Q", "p_adj:Q", "status:N"],
    )
    rule = alt.Chart(alt.Data(values=[{"x": 1}])).mark_rule(strokeDash=[4, 3]).encode(x="x:Q")
    return (bars + rule).properties(width=360, height=alt.Step(14), title="Drift by column")


def _histograms(rows: Sequence[dict[str, Any]], key: str):  # type: ignore[no-untyped-def]
    """(column, histogram, reference shares, current shares) of the rows with that kind of histogram."""
    for r in rows:
        h = r.get("hist")
        if h and key in h:
            shares = [[c / (sum(counts) or 1) for c in counts] for counts in (h["ref"], h["cur"])]
            yield r["column"], h, shares[0], shares[1]


def _numeric_rows(rows: Sequence[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """One row per display bin with both densities (folded into long form by the spec); datetime
    bins (seconds since the epoch) as milliseconds, which Vega-Lite's time axis reads."""
    out = []
    scale = 1000.0 if kind == "datetime" else 1.0
    for column, h, ref_shares, cur_shares in _histograms([r for r in rows if r.get("kind") == kind], "edges"):
        e = h["edges"]
        span = (e[-1] - e[0]) or 1.0
        for lo, hi, ref, cur in zip(e[:-1], e[1:], ref_shares, cur_shares):
            if ref or cur:
                width = (hi - lo) or span / 200  # a tie-heavy value gets a visible sliver
                out.append({"column": column, "x0": _r(lo * scale) if scale == 1 else round(lo * scale),
                            "x1": _r((lo + width) * scale) if scale == 1 else round((lo + width) * scale),
                            "reference": _r(ref / width), "current": _r(cur / width)})
    return out


def _categorical_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"column": column, "category": cat, "reference": _r(ref), "current": _r(cur)}
            for column, h, ref_shares, cur_shares in _histograms(rows, "categories")
            for cat, ref, cur in zip(h["categories"], ref_shares, cur_shares)]


def _by_drift(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Column names as the summary shows them: drifted first, then by effect size over threshold."""
    def ratio(r: dict[str, Any]) -> float:
        value = r["score"] / r["threshold"] if r["test"] is not None and r["threshold"] else float("nan")
        return value if math.isfinite(value) else float("-inf")

    return [r["column"] for r in sorted(rows, key=lambda r: (not r["drifted"], -ratio(r)))]


def distribution_chart(rows: Sequence[dict[str, Any]], columns: int = 4) -> Any:
    import altair as alt

    color = alt.Color("side:N", scale=alt.Scale(domain=list(SIDES), range=list(SIDES.values())),
                      legend=alt.Legend(title=None, orient="top"))
    order = _by_drift(rows)
    parts = []
    for kind, x_type in (("numeric", "Q"), ("datetime", "T")):
        num = _numeric_rows(rows, kind)
        if num:
            parts.append(
                alt.Chart(alt.Data(values=num)).transform_fold(list(SIDES), as_=["side", "density"])
                .mark_rect(opacity=0.5).encode(
                    x=alt.X(f"x0:{x_type}", title=None, scale=alt.Scale(zero=False, nice=False)),
                    x2="x1", y=alt.Y("density:Q", title=None, stack=None, axis=alt.Axis(labels=False, ticks=False)),
                    y2=alt.datum(0), color=color, tooltip=["side:N", f"x0:{x_type}", f"x1:{x_type}"],
                ).properties(width=160, height=80)
                .facet(facet=alt.Facet("column:N", title=None, sort=order), columns=columns)
                .resolve_scale(x="independent", y="independent")
            )
    cat = _categorical_rows(rows)
    if cat:
        # one chart per column, concatenated: a faceted band scale with an x offset draws hairlines
        per_column = [
            alt.Chart(alt.Data(values=[c for c in cat if c["column"] == name]))
            .transform_fold(list(SIDES), as_=["side", "share"])
            .mark_bar().encode(
                x=alt.X("category:N", title=None, sort=None, axis=alt.Axis(labelAngle=-40, labelLimit=70)),
                xOffset=alt.XOffset("side:N", sort=list(SIDES)),
                y=alt.Y("share:Q", title=None, axis=alt.Axis(format="%")), color=color,
                tooltip=["side:N", "category:N", alt.Tooltip("share:Q", format=".1%")],
            ).properties(width=160, height=80, title=alt.TitleParams(name, fontSize=11, fontWeight="normal"))
            for name in sorted(dict.fromkeys(c["column"] for c in cat), key=order.index)
        ]
        parts.append(alt.concat(*per_column, columns=columns))
    if not parts:
        return None
    return alt.vconcat(*parts).properties(title="Reference vs current")


def report_chart(rows: Sequence[dict[str, Any]]) -> Any:
    import altair as alt

    dist = distribution_chart(rows)
    summary = summary_chart(rows)
    return summary if dist is None else alt.vconcat(summary, dist).resolve_scale(color="independent")
