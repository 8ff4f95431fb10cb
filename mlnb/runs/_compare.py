"""Comparing runs side by side: params and metrics (differences first, identical params folded
away, the best value of each metric marked) and charts — histories overlaid, parallel
coordinates of params → a chosen metric, each param against that metric.

The same :class:`RunComparison` serves the notebook (``_ipython_display_``), the terminal
(``__str__``, ``--json``) and the JupyterLab panel (:meth:`RunComparison.panel`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select

from .._display import _CSS, Record, Table, format_value
from .._project import current_project
from ..errors import UsageError
from ..store import registry
from ..store._schema import runs
from . import _charts, _compare_charts
from ._charts import finite
from ._query import _details, histories, reap, resolve_id

#: most runs in one comparison (each is a column and a line in every chart)
MAX_RUNS = 100
#: points drawn over all the history series in the panel (its charts are small; the notebook draws
#: ``_compare_charts.POINTS``)
PANEL_POINTS = 4000
#: metric names for which a lower value is better, unless ``minimize=`` says otherwise
LOWER_IS_BETTER = re.compile(r"loss|err|mse|mae|mape|rmse|perplexity|latency|time|duration|regret|\bwer\b|\bcer\b",
                             re.IGNORECASE)


def lower_is_better(metric: str, minimize: Iterable[str] | None = None) -> bool:
    """Whether the best value of ``metric`` is its smallest: named in ``minimize`` when given,
    else when its name says loss, error, mse, mae, time ... (``val/loss`` is; ``accuracy`` is not).

    >>> lower_is_better("val_loss"), lower_is_better("accuracy"), lower_is_better("auc", ["auc"])
    (True, False, True)
    """
    return metric in set(minimize) if minimize is not None else bool(LOWER_IS_BETTER.search(metric))


class RunComparison(Table):
    """Rows are params and metrics, columns are runs. ``differs`` marks rows whose values are not all
    equal; ``best`` names the run(s) holding the best value of a metric that differs.

    ``.metric`` is the metric the charts relate params to; ``.charts()`` gives Vega-Lite specs.
    """

    def __init__(self, records: Sequence[Any], metric: str | None = None,
                 minimize: Iterable[str] | None = None) -> None:
        self.runs = [r.to_dict() for r in records]
        self.minimize = None if minimize is None else list(minimize)
        self.labels = _charts.run_labels(self.runs)
        names = [self.labels[r["id"]] for r in self.runs]
        rows: list[dict[str, Any]] = []
        for kind in ("params", "metrics"):
            for key in sorted({k for r in self.runs for k in r[kind]}):
                values = [r[kind].get(key) for r in self.runs]
                row = {"field": f"{kind}.{key}", "differs": len({format_value(v) for v in values}) > 1,
                       "best": self._best(key, values, names) if kind == "metrics" else []}
                row.update(zip(names, values))
                rows.append(row)
        rows.sort(key=lambda r: (not r["field"].startswith("params"), not r["differs"], r["field"]))
        self.metric = self._choose(metric, {r["field"][len("metrics."):] for r in rows if r["differs"]})
        super().__init__(rows, ["field", "differs", "best", *names], title=f"compare {len(self.runs)} runs",
                         formatters={"differs": lambda d: "*" if d else "", "best": ", ".join})

    def _best(self, key: str, values: list[Any], names: list[str]) -> list[str]:
        numbers = [v for v in values if finite(v)]
        if len(set(numbers)) < 2:
            return []
        best = min(numbers) if lower_is_better(key, self.minimize) else max(numbers)
        return [name for name, v in zip(names, values) if finite(v) and v == best]

    def _choose(self, metric: str | None, differs: set[str]) -> str | None:
        """The metric asked for, or the one most runs have (one that differs first, then by name)."""
        have = {k for r in self.runs for k in r["metrics"]}
        if metric is not None:
            if metric not in have:
                known = ", ".join(sorted(have)) or "none"
                raise UsageError(f"no run in the comparison has metric {metric!r}: choose one of {known}")
            return metric
        counts = {k: sum(k in r["metrics"] for r in self.runs) for k in have}
        return min(have, key=lambda k: (-counts[k], k not in differs, k)) if have else None

    def rows_of(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["field"].startswith(kind + ".")]

    @property
    def differing_params(self) -> list[str]:
        return [r["field"][len("params."):] for r in self.rows_of("params") if r["differs"]]

    def charts(self, points: int = _compare_charts.POINTS) -> list[dict[str, Any]]:
        """Vega-Lite specs: metric histories overlaid (metrics logged at several steps), then, for a
        chosen metric and params that differ, parallel coordinates and a scatter per param."""
        return list(self._specs(points).values())

    def _specs(self, points: int) -> dict[str, dict[str, Any]]:
        specs = {"history": _compare_charts.history_spec(self.runs, self.labels, points)}
        if self.metric is not None:
            params = _compare_charts.drawable_params(self.runs, self.differing_params)
            specs["parallel"] = _compare_charts.parallel_spec(self.runs, self.labels, params, self.metric)
            specs["scatter"] = _compare_charts.scatter_spec(self.runs, self.labels, params, self.metric)
        return {name: spec for name, spec in specs.items() if spec is not None}

    def panel(self, points: int = PANEL_POINTS) -> dict[str, Any]:
        """What the JupyterLab panel draws: runs, rows (formatted values, best marked), the chosen
        metric, every metric to choose from, and the chart specs by name."""
        names = [self.labels[r["id"]] for r in self.runs]
        rows = [{"field": r["field"], "differs": r["differs"], "values": [format_value(r.get(n)) for n in names],
                 "best": [names.index(b) for b in r["best"]]} for r in self.rows]
        return {
            "runs": [{"id": r["id"], "name": r["name"], "label": self.labels[r["id"]], "status": r["status"]}
                     for r in self.runs],
            "rows": rows, "metric": self.metric,
            "metrics": sorted({k for r in self.runs for k in r["metrics"]}),
            "lower_is_better": None if self.metric is None else lower_is_better(self.metric, self.minimize),
            "charts": self._specs(points),
        }

    def _repr_html_(self) -> str:
        esc = html.escape
        names = [self.labels[r["id"]] for r in self.runs]
        head = "<tr><th></th>" + "".join(f"<th>{esc(n)}</th>" for n in names) + "</tr>"

        def row(r: dict[str, Any]) -> str:
            cells = []
            for n in names:
                text = esc(format_value(r.get(n)))
                if n in r["best"]:
                    cells.append(f"<td style='font-weight:bold;background:#dff0d8' title='best'>{text} ★</td>")
                else:
                    cells.append(f"<td>{text}</td>")
            mark = " style='background:#fff8e1'" if r["differs"] and r["field"].startswith("params.") else ""
            return f"<tr{mark}><th>{esc(r['field'])}</th>{''.join(cells)}</tr>"

        shown = [r for r in self.rows if r["differs"] or r["field"].startswith("metrics.")]
        same = [r for r in self.rows if r not in shown]
        out = (f"{_CSS}<table class='mlnb-table mlnb-compare'><caption>{esc(self.title)}: differences first, "
               f"best value ★</caption><thead>{head}</thead><tbody>{''.join(map(row, shown))}</tbody></table>")
        if same:
            out += (f"<details><summary>{len(same)} identical param(s)</summary><table class='mlnb-table'>"
                    f"<tbody>{''.join(map(row, same))}</tbody></table></details>")
        return out

    def _ipython_display_(self) -> None:
        from IPython.display import display

        from .._charts import chart_bundle

        display({"text/plain": str(self), "text/html": self._repr_html_()}, raw=True)
        for spec in self.charts():
            display(chart_bundle(spec, text=f"<chart: {spec.get('title')}>"), raw=True)


def compare(ids: Sequence[Any], metric: str | None = None, minimize: Iterable[str] | None = None) -> RunComparison:
    """Params side by side (differences first, identical ones folded), the best value of each
    metric marked, and charts relating params to ``metric`` (default: the one most runs have).

    ``minimize`` names the metrics where lower is better (default: names with loss, error, mse ...).

    >>> mlnb.runs.compare(["3fa2c1", "9b0e77"], metric="accuracy")  # doctest: +SKIP
    """
    if isinstance(ids, str):
        ids = ids.replace(",", " ").split()
    ids = list(dict.fromkeys(getattr(i, "id", i) for i in ids))
    if len(ids) < 2:
        raise UsageError(f"compare needs at least two run ids, got {len(ids)}: `mlnb runs list` shows them")
    if len(ids) > MAX_RUNS:
        raise UsageError(f"compare takes at most {MAX_RUNS} runs, got {len(ids)}: narrow the selection with a filter")
    return RunComparison(_records(ids, current_project()), metric=metric, minimize=minimize)


def _records(ids: Sequence[str], project: Any) -> list[Record]:
    """What a comparison reads of each run (id, name, status, params, latest metrics, history), in
    a few queries for all of them; ids may be unique prefixes, as for ``get``."""
    reap(project)
    with registry(project).read() as conn:
        full = [resolve_id(conn, i) for i in ids]
        heads = {r.id: r for r in conn.execute(select(runs.c.id, runs.c.name, runs.c.status).where(runs.c.id.in_(full)))}
        params, latest, _ = _details(conn, full)
        history = histories(conn, full)
    return [Record({"id": i, "name": heads[i].name, "status": heads[i].status, "params": params.get(i, {}),
                    "metrics": latest.get(i, {}), "history": history[i]}) for i in full]
