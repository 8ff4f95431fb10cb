"""The notebook runs table (anywidget): the kernel side of filtering, selecting and comparing."""

from __future__ import annotations

import mlnb
from mlnb.runs._widget import _ESM, run_table_widget


def test_widget_filters_in_the_kernel_and_compares_selected_rows(project, capsys):
    ids = []
    for name, acc in (("<b>a</b>", 0.9), ("b", 0.7), ("c", 0.95)):
        with mlnb.start_run(name) as run:
            run.log_metric("acc", acc)
        ids.append(run.id)
    box = run_table_widget(mlnb.runs.list(sort="name"))
    table = box.children[0]
    assert [r["id"] for r in table.rows] == ids
    assert table.rows[0]["text"]["name"] == "<b>a</b>"  # raw text: the page sets it with textContent
    table.filter = "metrics.acc > 0.8"
    assert [r["id"] for r in table.rows] == [ids[0], ids[2]] and table.error == ""
    table.filter = "metrics.acc >"
    assert "at column 14" in table.error and len(table.rows) == 2  # rows kept; the error is shown
    table.selected = [ids[0], ids[1]]
    table.compare_clicks += 1
    assert "compare 2 runs" in capsys.readouterr().out
    assert "innerHTML" not in _ESM and "textContent" in _ESM
