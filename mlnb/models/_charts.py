"""Evaluation charts from pre-aggregated numbers (never raw rows): a confusion matrix and a ROC
curve for classifiers, a residual histogram for regressors."""

from __future__ import annotations

from typing import Any

from .._display import Record

#: most points a ROC curve keeps (thresholds are thinned evenly beyond this)
ROC_POINTS = 200
RESIDUAL_BINS = 30


def chart_data(model: Any, X: Any, y: Any, task: str) -> dict[str, Any]:
    """What the charts draw, small enough to keep: counts, curve points, bin counts."""
    import numpy as np
    from sklearn import metrics as skm

    pred = model.predict(X)
    if task == "regression":
        counts, edges = np.histogram(np.asarray(y, dtype=float) - np.asarray(pred, dtype=float), bins=RESIDUAL_BINS)
        return {"residuals": [{"start": float(a), "end": float(b), "rows": int(c)}
                              for a, b, c in zip(edges[:-1], edges[1:], counts)]}
    labels = list(model.classes_)
    matrix = skm.confusion_matrix(y, pred, labels=labels)
    out: dict[str, Any] = {"confusion": [{"actual": str(a), "predicted": str(p), "rows": int(matrix[i, j])}
                                         for i, a in enumerate(labels) for j, p in enumerate(labels)]}
    if len(labels) == 2 and hasattr(model, "predict_proba"):
        fpr, tpr, _ = skm.roc_curve(y, model.predict_proba(X)[:, 1], pos_label=labels[1])
        keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), ROC_POINTS)).astype(int))
        out["roc"] = [{"fpr": float(fpr[i]), "tpr": float(tpr[i])} for i in keep]
    return out


def evaluation_chart(data: dict[str, Any], title: str) -> Any:
    """The Altair chart of :func:`chart_data`."""
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
