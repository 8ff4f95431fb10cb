"""The monitoring report: one row per (window, metric), a verdict, the alerting rows, charts.

``Report.to_frame()`` is the contract other code builds on (alert rules, Prometheus gauges):

=========  =====================================================================
window     int, 0-based position of the window
start/end  UTC Timestamps (``start <= time < end``)
n          rows of the log in the window
metric     accuracy, precision, recall, f1, roc_auc / mae, rmse, r2;
           ``estimated.<metric>`` with its interval as ``estimated.<metric>.lower`` /
           ``.upper`` rows; prediction.drift, drift.share, ``drift.<feature>``,
           ``missing.<feature>``, schema.failures, latency.p50, latency.p99, error_rate
value      float, NaN when not computable (``note`` says why)
lower/up   the threshold band, NaN when none (an open side is NaN too)
alert      bool: outside the band (drift and missing rows: the drift test's decision)
note       str
=========  =====================================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ._windows import Window

FRAME_COLUMNS = ["window", "start", "end", "n", "metric", "value", "lower", "upper", "alert", "note"]


class Report:
    """Result of :func:`mlnb.monitor.report`.

    >>> report.verdict          # one line: alerting windows and metrics        # doctest: +SKIP
    >>> report.alerts           # the alerting rows of to_frame()               # doctest: +SKIP
    >>> report.chart()          # metrics over time with bands; drift heatmap    # doctest: +SKIP
    """

    def __init__(self, model: str, window: str, rows: list[dict[str, Any]], windows: list[Window], *,
                 baseline: list[int], notes: list[str], task: str) -> None:
        self.model, self.window, self.rows, self.windows = model, window, rows, windows
        self.baseline, self.notes, self.task = baseline, notes, task

    def to_frame(self) -> pd.DataFrame:
        """One row per (window, metric); see the module docstring for the columns."""
        import pandas as pd

        frame = pd.DataFrame(self.rows, columns=FRAME_COLUMNS)
        for c in ("start", "end"):
            frame[c] = pd.to_datetime(frame[c].astype(float), unit="s", utc=True)
        frame["window"] = frame["window"].astype(int)
        frame["n"] = frame["n"].astype(int)
        for c in ("value", "lower", "upper"):
            frame[c] = frame[c].astype(float)
        frame["alert"] = frame["alert"].astype(bool)
        frame["metric"] = frame["metric"].astype(str)
        frame["note"] = frame["note"].fillna("").astype(str)
        return frame

    @property
    def alerts(self) -> pd.DataFrame:
        """The alerting rows of :meth:`to_frame`."""
        frame = self.to_frame()
        return frame[frame["alert"]].reset_index(drop=True)

    @property
    def alerting(self) -> bool:
        return any(r["alert"] for r in self.rows)

    @property
    def exit_code(self) -> int:
        """1 when the latest window alerts (``mlnb monitor report`` exits with it), else 0."""
        last = len(self.windows) - 1
        return 1 if any(r["alert"] and r["window"] == last for r in self.rows) else 0

    @property
    def verdict(self) -> str:
        """One line: how many windows alert, on which metrics, latest window first."""
        n = len(self.windows)
        head = f"{self.model}: {n} window{'s' if n != 1 else ''} of {self.window}, {sum(w.n for w in self.windows):,} predictions"
        by_metric: dict[str, list[int]] = {}
        for r in self.rows:
            if r["alert"]:
                by_metric.setdefault(r["metric"], []).append(r["window"])
        if not by_metric:
            return f"OK — {head}; no metric outside its threshold"
        windows = sorted({w for ws in by_metric.values() for w in ws})
        latest = n - 1 in windows
        worst = sorted(by_metric.items(), key=lambda kv: (-(n - 1 in kv[1]), -len(kv[1]), kv[0]))
        shown = ", ".join(f"{m} ({_spans(ws)})" for m, ws in worst[:6]) + (" ..." if len(worst) > 6 else "")
        state = "ALERT in the latest window" if latest else "ALERTS in earlier windows"
        return f"{state} — {head}; {len(windows)} alerting window{'s' if len(windows) != 1 else ''}: {shown}"

    def to_dict(self) -> dict[str, Any]:
        frame = self.to_frame()
        frame["start"] = frame["start"].map(lambda t: t.isoformat())
        frame["end"] = frame["end"].map(lambda t: t.isoformat())
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        return {"model": self.model, "window": self.window, "task": self.task, "verdict": self.verdict,
                "alerting": self.alerting, "baseline": self.baseline, "notes": self.notes,
                "windows": [{"window": w.index, "n": w.n} for w in self.windows], "rows": records}

    def to_json(self) -> str:
        import json

        return json.dumps(self.to_dict(), indent=2, default=str)

    def table(self) -> Any:
        """The latest window's metrics as a table (the terminal's view)."""
        from .._display import Table

        last = len(self.windows) - 1
        rows = [{k: r[k] for k in ("metric", "value", "lower", "upper", "alert", "note")}
                for r in self.rows if r["window"] == last and not r["metric"].endswith((".lower", ".upper"))]
        return Table(rows, ["metric", "value", "lower", "upper", "alert", "note"],
                     title=f"{self.verdict}\nlatest window ({last}):")

    def chart(self) -> Any:
        """Altair: each metric over the windows with its band and alert marks, and the feature-drift heatmap."""
        from ._charts import report_chart

        return report_chart(self.to_frame())

    def __str__(self) -> str:
        return str(self.table())

    def __repr__(self) -> str:
        return f"<Report: {self.verdict}>"

    def _repr_html_(self) -> str:
        from ._charts import report_html

        return report_html(self)

    def save_html(self, path: str | Path) -> Path:
        """A standalone page (verdict, charts; Vega inlined, opens offline)."""
        from .._charts import standalone_page
        from ._charts import verdict_html

        out = Path(path)
        out.write_text(standalone_page(f"mlnb monitoring report: {self.model}", verdict_html(self), self.chart()),
                       encoding="utf-8")
        return out


def _spans(indices: list[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``"windows 0–2, 5"``."""
    parts, run = [], [indices[0]]
    for i in indices[1:]:
        if i == run[-1] + 1:
            run.append(i)
        else:
            parts.append(run)
            run = [i]
    parts.append(run)
    text = ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in parts)
    return ("windows " if len(indices) > 1 else "window ") + text
