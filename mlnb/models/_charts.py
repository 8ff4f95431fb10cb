"""Evaluation charts from pre-aggregated numbers (never raw rows): a confusion matrix and a ROC
curve for classifiers, a residual histogram for regressors."""

from __future__ import annotations

from typing import Any

from .._display import Record

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


class ChartRecord(Record):
    """A record that a notebook shows with its chart below (``.chart()``: an Altair chart)."""

    #: what a display without charts shows in the chart's place
    chart_text = "<chart>"

    def chart(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _ipython_display_(self) -> None:
        from IPython.display import display

        from .._charts import chart_bundle

        display({"text/plain": str(self), "text/html": self._repr_html_()}, raw=True)
        display(chart_bundle(self.chart(), text=self.chart_text), raw=True)


class VersionRecord(ChartRecord):
    """One version (``mlnb.models.show``); its chart draws data versions → run → version."""

    chart_text = "<lineage chart>"

    def chart(self) -> Any:
        from ..runs._charts import lineage_chart

        f = self.fields
        return lineage_chart({"name": f["run_name"] or "(no run recorded)", "inputs": [{"ref": d} for d in f["data"]],
                              "outputs": [], "artifacts": [], "models": [f["ref"]], "title": f"lineage of {f['ref']}"})
