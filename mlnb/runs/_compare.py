"""Comparing runs side by side: a table of params and metrics (differences first) and charts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._display import Table, format_value
from .._project import current_project
from ..errors import UsageError
from . import _charts
from ._query import get


class RunComparison(Table):
    """Rows are params and metrics, columns are runs; ``differs`` marks params that are not all equal.

    ``.charts()`` gives metric bars, overlaid step series and (for three runs or more) parallel
    coordinates.
    """

    def __init__(self, records: Sequence[Any]) -> None:
        self.runs = [r.to_dict() for r in records]
        labels = _charts.run_labels(self.runs)
        names = [labels[r["id"]] for r in self.runs]
        rows: list[dict[str, Any]] = []
        for kind in ("params", "metrics"):
            keys = sorted({k for r in self.runs for k in r[kind]})
            for key in keys:
                values = [r[kind].get(key) for r in self.runs]
                texts = {format_value(v) for v in values}
                row = {"field": f"{kind}.{key}", "differs": len(texts) > 1}
                row.update({name: v for name, v in zip(names, values)})
                rows.append(row)
        rows.sort(key=lambda r: (not r["field"].startswith("params"), not r["differs"], r["field"]))
        super().__init__(rows, ["field", "differs", *names], title=f"compare {len(self.runs)} runs",
                         formatters={"differs": lambda d: "*" if d else ""})

    def charts(self) -> list[Any]:
        out = []
        if any(r["metrics"] for r in self.runs):
            out.append(_charts.metric_bars(self.runs))
        if any(len(s["step"]) > 1 for r in self.runs for s in r["history"].values()):
            out.append(_charts.history_chart(self.runs))
        if len(self.runs) >= 3:
            out.append(_charts.parallel_coordinates(self.runs))
        return out

    def _ipython_display_(self) -> None:
        from IPython.display import display

        from .._charts import chart_bundle

        display({"text/plain": str(self), "text/html": self._repr_html_()}, raw=True)
        for chart in self.charts():
            display(chart_bundle(chart, text="<chart>"), raw=True)


def compare(ids: Sequence[Any]) -> RunComparison:
    """Params side by side (differences first) and metric charts for two or more runs.

    >>> mlnb.runs.compare(["3fa2c1", "9b0e77"])  # doctest: +SKIP
    """
    if isinstance(ids, str):
        ids = ids.replace(",", " ").split()
    ids = list(dict.fromkeys(getattr(i, "id", i) for i in ids))
    if len(ids) < 2:
        raise UsageError(f"compare needs at least two run ids, got {len(ids)}: `mlnb runs list` shows them")
    project = current_project()
    return RunComparison([get(i, project) for i in ids])
