"""Evaluation charts from pre-aggregated numbers (never raw rows): a confusion matrix and a ROC
curve for classifiers, a residual histogram for regressors."""

from __future__ import annotations

from typing import Any

#: most points a ROC curve keeps (thresholds are thinned evenly beyond this)
ROC_POINTS = 200
RESIDUAL_BINS = 30


def evaluation_chart(data: dict[str, Any], title: str) -> Any:
    """The Altair chart of the chart data :func:`._metrics.scored` gives."""
    import altair as alt

    if "residuals" in data:
        return alt.Chart(alt.Data(values=data["residuals"]), title=f"residuals: {title}").mark_bar().encode(
            x=alt.X("start:Q", bin="binned", title="actual - predicted"), x2="end:Q", y=alt.Y("rows:Q"))
    confusion = alt.Chart(alt.Data(values=data["confusion"]), title=f"confusion: {title}").mark_rect().encode(
        x=alt.X("predicted:N"), y=alt.Y("actual:N"), color=alt.Color("rows:Q", legend=None),
        tooltip=["actual:N", "predicted:N", "rows:Q"])
    confusion = confusion + confusion.mark_text().encode(text="rows:Q", color=alt.value("black"))
    if "roc" not in data:
        return confusion
    roc = alt.Chart(alt.Data(values=data["roc"]), title="ROC").mark_line().encode(
        x=alt.X("fpr:Q", title="false positive rate"), y=alt.Y("tpr:Q", title="true positive rate"))
    return alt.hconcat(confusion, roc)
