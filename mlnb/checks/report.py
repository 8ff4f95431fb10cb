"""The drift report: a verdict, a per-column table and charts, for notebooks, terminals and code."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._display import Table, format_value
from ._html import coloured_table

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ._drift import DriftConfig

__all__ = ["DriftReport"]

#: columns of ``to_frame()`` in order (the display shows a subset)
FRAME_COLUMNS = [
    "column", "kind", "drifted", "status", "reason", "metric", "score", "score_error", "threshold", "test",
    "statistic", "ks_error", "p_value", "p_adjusted", "psi", "missing_ref", "missing_cur", "missing_p_adjusted",
    "n_ref", "n_cur", "reliable", "notes",
]
_SHOWN = ["column", "kind", "status", "metric", "score", "threshold", "test", "statistic", "p_adjusted",
          "psi", "missing_ref", "missing_cur", "notes"]


def _pct(v: Any) -> str:
    return "" if v is None or v != v else f"{v:.1%}"


def _num(v: Any) -> str:
    if isinstance(v, float) and v == v and v != 0 and abs(v) < 1e-3:
        return f"{v:.1e}"
    return format_value(v) if not (isinstance(v, float) and v != v) else ""


_FORMATS = {"missing_ref": _pct, "missing_cur": _pct, "score": _num, "statistic": _num, "p_adjusted": _num,
            "psi": _num, "threshold": _num, "drifted": lambda v: "DRIFT" if v else "ok",
            "status": lambda v: v.upper() if v in ("drift", "removed") else str(v)}


class DriftReport:
    """Result of ``mlnb.checks.drift`` / ``Profile.drift``.

    >>> report = mlnb.checks.drift(train_df, new_df)   # doctest: +SKIP
    >>> report.drifted          # names of drifted columns
    >>> report.to_frame()       # one row per column: statistics, p-values, effect sizes, decision
    >>> report.chart()          # Altair: effect sizes vs thresholds, reference vs current
    """

    def __init__(self, rows: list[dict[str, Any]], config: DriftConfig, n_ref: int, n_cur: int) -> None:
        self.rows = rows
        self.config = config
        self.n_ref, self.n_cur = n_ref, n_cur

    @property
    def drifted(self) -> list[str]:
        """Names of the columns that drifted."""
        return [r["column"] for r in self.rows if r["drifted"]]

    def _with_status(self, status: str) -> list[str]:
        return [r["column"] for r in self.rows if r.get("status") == status]

    @property
    def removed(self) -> list[str]:
        """Reference columns absent from the current data (each counts as drifted)."""
        return self._with_status("removed")

    @property
    def added(self) -> list[str]:
        """Columns only in the current data: a finding, not a failure."""
        return self._with_status("added")

    @property
    def not_tested(self) -> list[str]:
        """Columns whose distribution was not compared (identifier-like, or no values); see notes."""
        return self._with_status("not tested")

    @property
    def n_tested(self) -> int:
        return sum(1 for r in self.rows if r["test"] is not None or r["drifted"])

    @property
    def share(self) -> float:
        return len(self.drifted) / self.n_tested if self.n_tested else 0.0

    @property
    def dataset_drift(self) -> bool:
        """The verdict: any column drifted (or, with ``drift_share``, at least that share)."""
        if self.config.drift_share is None:
            return bool(self.drifted)
        return self.share >= self.config.drift_share

    @property
    def exit_code(self) -> int:
        return 1 if self.dataset_drift else 0

    def verdict(self) -> str:
        n = len(self.drifted)
        head = "DRIFT DETECTED" if self.dataset_drift else "No dataset drift"
        names = f": {', '.join(self.drifted[:8])}{' ...' if n > 8 else ''}" if n else ""
        findings = "".join(f"; {what}: {_names(cols)}" for what, cols in (
            ("removed", self.removed), ("added", self.added), ("not tested", self.not_tested)) if cols)
        return (f"{head} — {n} of {self.n_tested} columns drifted{names}{findings} "
                f"(reference {self.n_ref:,} rows, current {self.n_cur:,} rows)")

    def table(self) -> Table:
        return Table(self.rows, _SHOWN, title=self.verdict(), formatters=_FORMATS)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{c: r.get(c) for c in FRAME_COLUMNS} for r in self.rows], columns=FRAME_COLUMNS)

    def to_dict(self) -> dict[str, Any]:
        cfg = asdict(self.config)
        return {
            "drift": self.dataset_drift, "n_columns": self.n_tested, "n_drifted": len(self.drifted),
            "share": self.share, "drifted": self.drifted, "removed": self.removed, "added": self.added,
            "not_tested": self.not_tested, "n_ref": self.n_ref, "n_cur": self.n_cur,
            "config": cfg,
            "columns": [{c: _json_value(r.get(c)) for c in FRAME_COLUMNS} for r in self.rows],
        }

    def to_json(self) -> str:
        import json

        return json.dumps(self.to_dict(), indent=2, default=str)

    def chart(self) -> Any:
        """Altair chart: effect sizes against thresholds, then reference vs current per column."""
        from .charts import report_chart

        return report_chart(self.rows)

    def __str__(self) -> str:
        return str(self.table())

    def __repr__(self) -> str:
        return f"<DriftReport: {self.verdict()}>"

    def _repr_html_(self) -> str:
        # the drifted columns first (as the chart shows them); the rest in the data's order
        rows = sorted(self.rows, key=lambda r: not r["drifted"])
        return coloured_table(self.verdict(), self.dataset_drift, _SHOWN, rows, _FORMATS, lambda r: bool(r["drifted"]))

    def _ipython_display_(self) -> None:
        from IPython.display import display

        from .._charts import chart_bundle

        display({"text/plain": self.verdict(), "text/html": self._repr_html_()}, raw=True)
        display(chart_bundle(self.chart(), text="<drift chart>"), raw=True)

    def save_html(self, path: str | Path) -> Path:
        """A standalone HTML page: verdict, table and charts, with Vega inlined (opens offline)."""
        from .._charts import standalone_page

        page = standalone_page("mlnb drift report", self._repr_html_(), self.chart())
        out = Path(path)
        out.write_text(page, encoding="utf-8")
        return out


def _names(columns: list[str], shown: int = 8) -> str:
    return ", ".join(columns[:shown]) + (" ..." if len(columns) > shown else "")


def _json_value(v: Any) -> Any:
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return None
    if hasattr(v, "item"):
        return v.item()
    return v
