"""The interactive runs table for notebooks (anywidget): sort by a column, filter with the
filter language (evaluated in the kernel, in SQL), tick rows and compare them.

All user text reaches the page through ``textContent``, never as HTML.
"""

from __future__ import annotations

from typing import Any

from ._display import FORMATTERS, RunTable, json_safe

_ESM = r"""
function cell(tag, text, cls) {
  const el = document.createElement(tag);
  el.textContent = text == null ? "" : String(text);
  if (cls) el.className = cls;
  if (tag === "td" || tag === "th") {
    el.style.whiteSpace = "nowrap";
    el.style.padding = "2px 8px";
    el.style.textAlign = "left";
  }
  return el;
}
function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "mlnb-runs";
  const bar = document.createElement("div");
  const input = document.createElement("input");
  input.placeholder = "filter, e.g. metrics.accuracy > 0.8 and tags.churn";
  input.style.width = "28em";
  input.value = model.get("filter") || "";
  const apply = cell("button", "filter");
  const compare = cell("button", "compare selected");
  const error = cell("span", "", "mlnb-error");
  error.style.color = "#b00";
  bar.append(input, apply, compare, error);
  const table = document.createElement("table");
  table.className = "mlnb-table";
  table.style.borderCollapse = "collapse";
  const scroller = document.createElement("div");  // wide tables scroll instead of wrapping cells
  scroller.style.overflowX = "auto";
  scroller.append(table);
  root.append(bar, scroller);
  el.append(root);
  let sortKey = null, sortDesc = false;
  const selected = new Set(model.get("selected") || []);
  const key = (row, col) => row.sort[col];
  function draw() {
    const columns = model.get("columns");
    let rows = [...model.get("rows")];
    if (sortKey) {
      rows.sort((a, b) => {
        const x = key(a, sortKey), y = key(b, sortKey);
        if (x == null) return 1;
        if (y == null) return -1;
        return (x < y ? -1 : x > y ? 1 : 0) * (sortDesc ? -1 : 1);
      });
    }
    table.replaceChildren();
    const head = document.createElement("tr");
    head.append(cell("th", ""));
    for (const c of columns) {
      const th = cell("th", c + (sortKey === c ? (sortDesc ? " ▼" : " ▲") : ""));
      th.style.cursor = "pointer";
      th.onclick = () => { sortDesc = sortKey === c ? !sortDesc : false; sortKey = c; draw(); };
      head.append(th);
    }
    table.append(head);
    for (const row of rows) {
      const tr = document.createElement("tr");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = selected.has(row.id);
      box.onchange = () => {
        box.checked ? selected.add(row.id) : selected.delete(row.id);
        model.set("selected", [...selected]);
        model.save_changes();
      };
      const td = document.createElement("td");
      td.append(box);
      tr.append(td);
      for (const c of columns) tr.append(cell("td", row.text[c]));
      table.append(tr);
    }
    error.textContent = model.get("error") || "";
  }
  apply.onclick = () => { model.set("filter", input.value); model.save_changes(); };
  input.onkeydown = (e) => { if (e.key === "Enter") apply.onclick(); };
  compare.onclick = () => { model.set("compare_clicks", model.get("compare_clicks") + 1); model.save_changes(); };
  model.on("change:rows", draw);
  model.on("change:error", draw);
  draw();
}
export default { render };
"""


def _rows(table: RunTable) -> list[dict[str, Any]]:
    out = []
    for r in table.rows:
        text = {c: FORMATTERS.get(c, str)(r.get(c)) if r.get(c) is not None else "" for c in table.columns}
        sort = {c: r.get(c) if isinstance(r.get(c), (int, float, str)) else text[c] for c in table.columns}
        out.append({"id": r["id"], "text": text, "sort": json_safe(sort)})
    return out


def run_table_widget(table: RunTable) -> Any:
    """A VBox: the interactive table, and an output area where comparisons appear."""
    import anywidget
    import ipywidgets
    import traitlets

    class RunsWidget(anywidget.AnyWidget):
        _esm = _ESM
        columns = traitlets.List().tag(sync=True)
        rows = traitlets.List().tag(sync=True)
        filter = traitlets.Unicode("").tag(sync=True)
        error = traitlets.Unicode("").tag(sync=True)
        selected = traitlets.List().tag(sync=True)
        compare_clicks = traitlets.Int(0).tag(sync=True)

    query = dict(table.query)
    widget = RunsWidget(columns=table.columns, rows=_rows(table), filter=query.get("filter") or "")
    output = ipywidgets.Output()

    def refilter(change: Any) -> None:
        from ..errors import MlnbError
        from ._query import list_runs

        try:
            fresh = list_runs(change["new"] or None, sort=query.get("sort"), limit=query.get("limit", 50),
                              experiment=query.get("experiment"), lifecycle=query.get("lifecycle", "active"))
        except MlnbError as exc:
            widget.error = str(exc)
            return
        widget.error = ""
        widget.rows = _rows(fresh)

    def compare(change: Any) -> None:
        from IPython.display import display

        from ..errors import MlnbError
        from ._compare import compare as compare_runs

        output.clear_output()
        with output:
            try:
                display(compare_runs(list(widget.selected)))
            except MlnbError as exc:
                print(f"%mlops: error: {exc}")

    widget.observe(refilter, names="filter")
    widget.observe(compare, names="compare_clicks")
    return ipywidgets.VBox([widget, output])
