"""How runs look: a table of runs, one run's record, a comparison — in terminals and notebooks.

Names, params, tags and code are user text: every HTML path escapes them (``html.escape`` here,
``textContent`` in the widget).
"""

from __future__ import annotations

import html
from typing import Any

from .._display import Record, Table, format_bytes, format_time, format_value

__all__ = ["RunRecord", "RunTable", "format_duration", "format_mapping"]


#: what curating a run sets (mlnb.runs._curate): in a listing's JSON even when not shown as a column
CURATION_FIELDS = ("experiment", "note", "lifecycle")


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}min"
    return f"{seconds / 3600:.1f}h"


def format_mapping(values: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={format_value(v)}" for k, v in (values or {}).items())


def _format_tags(tags: list[str] | None) -> str:
    return ", ".join(tags or [])


FORMATTERS = {
    "started_at": format_time, "ended_at": format_time, "duration": format_duration,
    "params": format_mapping, "metrics": format_mapping, "tags": _format_tags,
}


def json_safe(value: Any) -> Any:
    """NaN and inf as strings, so a widget or strict JSON reader can take the value."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


class RunTable(Table):
    """Runs as rows; ``.to_frame()`` gives a DataFrame with ``params.*`` / ``metrics.*`` columns.

    In a Jupyter kernel it displays as an interactive table (sort, filter, select, compare).
    """

    def __init__(self, rows: Any, columns: list[str], title: str = "runs", query: dict[str, Any] | None = None,
                 empty: str = "no runs yet: `%%mlops run NAME` or `with mlnb.start_run(NAME):`") -> None:
        super().__init__(rows, columns, title=title, formatters=FORMATTERS, empty=empty)
        self.query = query or {}

    @property
    def ids(self) -> list[str]:
        return [r["id"] for r in self.rows]

    def to_dict(self) -> list[dict[str, Any]]:
        """The shown columns, and a run's experiment, note and lifecycle wherever they were read."""
        extra = [c for c in CURATION_FIELDS if c not in self.columns and self.rows and c in self.rows[0]]
        return [{c: r.get(c) for c in [*self.columns, *extra]} for r in self.rows]

    def to_frame(self):  # type: ignore[no-untyped-def]
        """One column per scalar field, plus ``params.KEY`` and ``metrics.KEY`` columns."""
        import pandas as pd

        flat = []
        for r in self.rows:
            row = {c: r.get(c) for c in self.columns if c not in ("params", "metrics")}
            row.update({f"params.{k}": v for k, v in (r.get("params") or {}).items()})
            row.update({f"metrics.{k}": v for k, v in (r.get("metrics") or {}).items()})
            flat.append(row)
        frame = pd.DataFrame(flat)
        for col in ("started_at", "ended_at"):
            if col in frame:
                frame[col] = pd.to_datetime(frame[col], unit="s")
        return frame

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle = {"text/plain": str(self), "text/html": self._repr_html_()}
        if self.query and _in_kernel():
            try:
                from ._widget import run_table_widget

                bundle = {**run_table_widget(self)._repr_mimebundle_(), **bundle}
            except ImportError:  # no anywidget: the static table is all there is
                pass
        return bundle


def _in_kernel() -> bool:
    import sys

    module = sys.modules.get("IPython")
    shell = module.get_ipython() if module else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def _git_text(commit: str | None, dirty: bool | None) -> str | None:
    if commit is None and dirty is None:
        return None
    return (commit[:12] if commit else "(no commit yet)") + (" + uncommitted changes" if dirty else "")


class RunRecord(Record):
    """Everything about one run. Keys: id, name, status, error, started_at, ended_at, duration,
    params, metrics (latest value per key), history (``{key: {"step": [...], "value": [...]}}``),
    tags, artifacts, inputs, outputs, models (refs of the model versions it registered), notebook,
    code, git_commit, git_dirty, environment, parent_id, children, host, pid."""

    def __init__(self, fields: dict[str, Any]) -> None:
        super().__init__(fields, title=f"run {fields['id']} · {fields['name']}")

    def _summary(self) -> Record:
        f = self.fields
        keep = {
            "id": f["id"], "name": f["name"], "experiment": f.get("experiment"), "status": f["status"],
            "lifecycle": None if f.get("lifecycle") == "active" else f.get("lifecycle"), "note": f.get("note"),
            "error": f["error"],
            "started_at": f["started_at"], "duration": f["duration"], "tags": f["tags"],
            "notebook": f["notebook"], "git_commit": _git_text(f["git_commit"], f["git_dirty"]),
            "python": f["environment"].get("python"),
            "packages": format_mapping(f["environment"].get("packages")),
            "inputs": ", ".join(d["ref"] for d in f["inputs"]), "outputs": ", ".join(d["ref"] for d in f["outputs"]),
            "models": ", ".join(f.get("models", [])),
        }
        return Record({k: v for k, v in keep.items() if v not in (None, "", [])}, title=self.title,
                      formatters={**FORMATTERS, "tags": _format_tags})

    def _sections(self) -> list[Table]:
        f = self.fields
        out = []
        if f["params"]:
            out.append(Table([{"param": k, "value": v} for k, v in f["params"].items()], ["param", "value"], title="params"))
        if f["metrics"]:
            rows = [{"metric": k, "latest": v, "points": len(f["history"].get(k, {}).get("step", []))}
                    for k, v in f["metrics"].items()]
            out.append(Table(rows, ["metric", "latest", "points"], title="metrics"))
        if f["artifacts"]:
            out.append(Table(f["artifacts"], ["path", "size", "md5"], title="artifacts",
                             formatters={"size": format_bytes, "md5": lambda h: (h or "")[:10]}))
        return out

    def __str__(self) -> str:
        parts = [str(self._summary()), *map(str, self._sections())]
        if self.fields.get("code"):
            parts.append("code\n" + self.fields["code"])
        return "\n\n".join(parts)

    def _repr_html_(self) -> str:
        parts = [self._summary()._repr_html_(), *(t._repr_html_() for t in self._sections())]
        if self.fields.get("code"):
            parts.append(f"<details><summary>code</summary><pre>{html.escape(self.fields['code'])}</pre></details>")
        return "<div class='mlnb-run'>" + "".join(parts) + "</div>"

    def charts(self) -> list[Any]:
        """Altair charts: the lineage graph, and metric series that have more than one step."""
        from . import _charts

        out = []
        if self.fields["inputs"] or self.fields["outputs"] or self.fields["artifacts"] or self.fields.get("models"):
            out.append(_charts.lineage_chart(self.fields))
        if any(len(s["step"]) > 1 for s in self.fields["history"].values()):
            out.append(_charts.history_chart([self.fields]))
        return out

    def _ipython_display_(self) -> None:
        from IPython.display import display

        from .._charts import chart_bundle

        display({"text/plain": str(self), "text/html": self._repr_html_()}, raw=True)
        for chart in self.charts():
            display(chart_bundle(chart, text="<chart>"), raw=True)
