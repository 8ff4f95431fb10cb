"""Charts of a monitoring report (Altair, from the report's own rows: never raw predictions).

* :func:`metrics_chart`: one panel per metric over the windows — the threshold band (grey), the
  value (line), the estimate and its interval beside realized performance (dashed, light area),
  alerting windows marked red.
* :func:`heatmap`: window × feature, coloured by drift effect size, drifted cells outlined.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ._result import Report

#: panels drawn, in order, when the report has a value for them
PANELS = ("accuracy", "roc_auc", "f1", "precision", "recall", "mae", "rmse", "r2", "prediction.drift", "drift.share",
          "schema.failures", "latency.p99", "latency.p50", "error_rate")
ALERT, BAND, LINE, ESTIMATE = "#d62728", "#dddddd", "#4c78a8", "#f58518"


def _r(v: Any) -> float | None:
    return float(f"{v:.4g}") if isinstance(v, (int, float)) and math.isfinite(v) else None


def _points(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One point per (panel, series, window): realized/estimated values, band, interval, alert."""
    by = {(r.metric, r.window): r for r in frame.itertuples(index=False)}
    present = {m for m, _ in by if not math.isnan(by[(m, _)].value)}
    out = []
    for panel in PANELS:
        for series, metric in (("value", panel), ("estimated", f"estimated.{panel}")):
            if metric not in present:
                continue
            for (m, w), r in by.items():
                if m != metric:
                    continue
                lo, hi = by.get((metric + ".lower", w)), by.get((metric + ".upper", w))
                out.append({"panel": panel, "series": series, "window": int(w), "start": r.start.isoformat(),
                            "value": _r(r.value), "lower": _r(r.lower), "upper": _r(r.upper), "alert": bool(r.alert),
                            "ci_lo": _r(lo.value) if lo is not None else None,
                            "ci_hi": _r(hi.value) if hi is not None else None, "n": int(r.n), "note": r.note[:120]})
    return out


def metrics_chart(frame: pd.DataFrame) -> Any:
    import altair as alt

    data = _points(frame)
    if not data:
        return None
    x = alt.X("start:T", title=None)
    base = alt.Chart()
    band = base.mark_area(color=BAND, opacity=0.7).encode(x=x, y=alt.Y("lower:Q", title=None), y2="upper:Q").transform_filter(
        "datum.series == 'value' && isValid(datum.lower) && isValid(datum.upper)")
    interval = base.mark_area(color=ESTIMATE, opacity=0.2).encode(x=x, y="ci_lo:Q", y2="ci_hi:Q").transform_filter(
        "datum.series == 'estimated'")
    line = base.mark_line(point=True).encode(
        x=x, y=alt.Y("value:Q", scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", scale=alt.Scale(domain=["value", "estimated"], range=[LINE, ESTIMATE]),
                        legend=alt.Legend(title=None, orient="top")),
        strokeDash=alt.StrokeDash("series:N", scale=alt.Scale(domain=["value", "estimated"], range=[[1, 0], [4, 3]]),
                                  legend=None),
        tooltip=["panel:N", "series:N", "window:Q", "start:T", "n:Q", "value:Q", "lower:Q", "upper:Q", "note:N"])
    alerts = base.mark_point(color=ALERT, size=90, filled=True, shape="diamond").encode(
        x=x, y="value:Q", tooltip=["panel:N", "series:N", "window:Q", "value:Q", "lower:Q", "upper:Q", "note:N"]
    ).transform_filter("datum.alert")
    layered = alt.layer(band, interval, line, alerts, data=alt.Data(values=data)).properties(width=420, height=90)
    return layered.facet(row=alt.Row("panel:N", title=None, sort=list(PANELS),
                                     header=alt.Header(labelAngle=0, labelAlign="left"))).resolve_scale(y="independent")


def heatmap(frame: pd.DataFrame) -> Any:
    """Window × feature, coloured by drift effect size; drifted cells outlined red."""
    import altair as alt

    rows = frame[frame["metric"].str.startswith("drift.") & (frame["metric"] != "drift.share")]
    data = [{"feature": r.metric[len("drift."):], "window": int(r.window), "start": r.start.strftime("%Y-%m-%d %H:%M"),
             "score": _r(r.value), "drifted": bool(r.alert), "note": r.note[:120]} for r in rows.itertuples(index=False)]
    if not any(d["score"] is not None for d in data):
        return None
    base = alt.Chart(alt.Data(values=data)).encode(
        x=alt.X("window:O", title="window"), y=alt.Y("feature:N", title=None, sort=None))
    cells = base.mark_rect().encode(
        color=alt.Color("score:Q", title="drift", scale=alt.Scale(scheme="orangered")),
        tooltip=["feature:N", "window:O", "start:N", "score:Q", "drifted:N", "note:N"])
    marks = base.mark_rect(fill=None, stroke=ALERT, strokeWidth=1.5).transform_filter("datum.drifted")
    return (cells + marks).properties(width=alt.Step(14), height=alt.Step(14), title="Feature drift (outlined: drifted)")


def report_chart(frame: pd.DataFrame) -> Any:
    import altair as alt

    parts = [c for c in (metrics_chart(frame), heatmap(frame)) if c is not None]
    if not parts:
        return alt.Chart(alt.Data(values=[])).mark_point()
    return parts[0] if len(parts) == 1 else alt.vconcat(*parts).resolve_scale(color="independent")


def verdict_html(report: Report) -> str:
    colour = ALERT if report.alerting else "#2ca02c"
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in report.notes)
    return (f"<div class='mlnb-monitor'><p style='font-weight:bold;color:{colour}'>{html.escape(report.verdict)}</p>"
            f"<ul style='margin:0;font-size:90%'>{notes}</ul></div>")


def report_html(report: Report) -> str:
    """The verdict, then the charts as inline SVG (no script, no network); without the SVG
    converter, the verdict and the alerting rows."""
    head = verdict_html(report)
    try:
        import vl_convert as vlc

        from .._charts import chart_spec

        return head + vlc.vegalite_to_svg(chart_spec(report.chart()))
    except ImportError:
        return head + report.alerts.head(50).to_html(index=False)
