"""The interactive runs table (anywidget) in a real JupyterLab, with a live kernel behind it:
the page draws the rows, sends the filter and the ticked rows to the kernel, and shows what
comes back."""

from __future__ import annotations

import json

import pytest

from ._browser import open_lab
from ._lab import Lab
from .conftest import XSS_NAME

pytestmark = pytest.mark.browser

TABLE = ".jp-NotebookPanel .mlnb-runs table.mlnb-table"


def _names(page) -> list[str]:  # type: ignore[no-untyped-def]
    """The run names in the widget's rows, in order (the name column is found by its header)."""
    return page.evaluate(
        """sel => {
            const table = document.querySelector(sel);
            const head = [...table.rows[0].cells].map(c => c.textContent.replace(/ [▲▼]$/, ''));
            const col = head.indexOf('name');
            return [...table.rows].slice(1).map(r => r.cells[col].textContent);
        }""",
        TABLE,
    )


def test_runs_widget_sorts_filters_in_the_kernel_and_compares(chromium, lab: Lab) -> None:  # type: ignore[no-untyped-def]
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
            "source": "import mlnb\nmlnb.runs.list()"}
    notebook = {"cells": [cell], "metadata": {"kernelspec": kernelspec}, "nbformat": 4, "nbformat_minor": 5}
    (lab.root / "widget.ipynb").write_text(json.dumps(notebook))
    lp = open_lab(chromium, lab, "lab/workspaces/widget/tree/widget.ipynb")
    try:
        page = lp.page
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell .cm-content")
        page.locator(".jp-StatusBar-TextItem", has_text="| Idle").wait_for(timeout=60_000)  # the kernel is up
        page.locator(".jp-NotebookPanel .jp-Cell .cm-content").first.click()
        page.keyboard.press("Shift+Enter")
        page.wait_for_selector(f"{TABLE} tr >> nth=4", timeout=60_000)  # a header and at least the four seeded runs
        # (other tests of the session may have added runs to the shared project)
        assert {"baseline-0", "baseline-1", "baseline-2", XSS_NAME} <= set(_names(page))
        assert lp.dialogs == []  # the hostile name is text, not markup

        page.locator(f"{TABLE} th", has_text="name").click()  # sorted in the page
        assert _names(page) == sorted(_names(page))

        box = page.locator(".jp-NotebookPanel .mlnb-runs input[placeholder^='filter']")
        box.fill("params.lr < 0.05")
        box.press("Enter")  # evaluated in the kernel, in SQL
        page.wait_for_function("sel => document.querySelectorAll(sel + ' tr').length === 3", arg=TABLE)
        assert sorted(_names(page)) == ["baseline-1", "baseline-2"]

        box.fill("params.lr <")
        box.press("Enter")
        error = page.locator(".jp-NotebookPanel .mlnb-runs .mlnb-error")
        page.wait_for_function("el => el.textContent.length > 0", arg=error.element_handle())
        assert error.inner_text().startswith("invalid filter 'params.lr <'")
        assert sorted(_names(page)) == ["baseline-1", "baseline-2"]  # a bad filter keeps the rows

        for checkbox in page.locator(f"{TABLE} input[type=checkbox]").all():
            checkbox.check()
        page.locator(".jp-NotebookPanel .mlnb-runs button", has_text="compare selected").click()
        comparison = page.locator(".jp-NotebookPanel .jp-OutputArea", has_text="compare 2 runs")
        comparison.last.wait_for(timeout=30_000)
        assert "params.lr" in comparison.last.inner_text()
        assert lp.errors == [] and lp.blocked == []
    finally:
        lp.close()
