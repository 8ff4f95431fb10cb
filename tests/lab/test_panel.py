"""The MLOps panel and the v6 chart renderer in a real JupyterLab, in headless Chromium."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ._browser import PANEL, keep_screenshot, open_lab, png_regions
from ._lab import Lab, run_python
from .conftest import ARTIFACT_TEXT, XSS_NAME

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lab_page(chromium, lab: Lab):  # type: ignore[no-untyped-def]
    """One JupyterLab page for the module (loading JupyterLab is the slow part)."""
    lp = open_lab(chromium, lab)
    yield lp
    lp.close()


@pytest.fixture
def runs_tab(lab_page):  # type: ignore[no-untyped-def]
    lab_page.open_panel("runs")
    back = lab_page.page.locator(f"{PANEL} .mlnb-runs.mlnb-mod-side .mlnb-back")
    if back.count():
        back.first.click()
    return lab_page


def _run_names(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator(f"{PANEL} .mlnb-run .mlnb-run-name").all_inner_texts()


def test_panel_lists_the_fixture_runs_latest_first(runs_tab) -> None:  # type: ignore[no-untyped-def]
    page = runs_tab.page
    page.locator(f"{PANEL} .mlnb-run").first.wait_for()
    names = [n for n in _run_names(page) if n in (XSS_NAME, "baseline-0", "baseline-1", "baseline-2")]
    assert names == [XSS_NAME, "baseline-2", "baseline-1", "baseline-0"]
    row = page.locator(f"{PANEL} .mlnb-run", has_text="baseline-1")
    assert row.get_attribute("data-status") == "finished"
    assert "accuracy=0.85" in row.locator(".mlnb-metrics").inner_text()


def test_filter_box_narrows_the_list(runs_tab) -> None:  # type: ignore[no-untyped-def]
    page = runs_tab.page
    box = page.locator(f"{PANEL} .mlnb-filter")
    box.fill("baseline-1")
    page.wait_for_function(
        "sel => [...document.querySelectorAll(sel)].map(e => e.textContent).join('|') === 'baseline-1'",
        arg=f"{PANEL} .mlnb-run .mlnb-run-name",
    )
    box.fill("params.lr < 0.05 and metrics.accuracy > 0.87")
    page.wait_for_function(
        "sel => [...document.querySelectorAll(sel)].map(e => e.textContent).join('|') === 'baseline-2'",
        arg=f"{PANEL} .mlnb-run .mlnb-run-name",
    )
    box.fill("metrics.accuracy >")
    error = page.locator(f"{PANEL} .mlnb-message.mlnb-error")
    error.wait_for()
    assert error.inner_text().startswith("invalid filter 'metrics.accuracy >'"), error.inner_text()
    assert page.locator(f"{PANEL} .mlnb-run").count() == 0  # the stale list is not shown as its answer
    box.fill("")
    page.locator(f"{PANEL} .mlnb-run", has_text="baseline-0").wait_for()


def test_a_run_finished_elsewhere_appears_without_reload(runs_tab, lab: Lab) -> None:  # type: ignore[no-untyped-def]
    page = runs_tab.page
    page.locator(f"{PANEL} .mlnb-run").first.wait_for()
    name = f"live-{time.time_ns()}"
    run_python(
        f"import mlnb\nwith mlnb.start_run({name!r}, params={{'k': 1}}) as r:\n    r.log_metric('score', 0.5)",
        lab.root, lab.env,
    )
    page.locator(f"{PANEL} .mlnb-run", has_text=name).wait_for(timeout=15_000)
    assert _run_names(page)[0] == name
    assert runs_tab.dialogs == []


def test_a_hostile_run_name_is_shown_as_text(runs_tab) -> None:  # type: ignore[no-untyped-def]
    page = runs_tab.page
    cell = page.locator(f"{PANEL} .mlnb-run-name", has_text="onerror")
    cell.first.wait_for()
    assert cell.first.inner_text() == XSS_NAME
    cell.first.click()
    detail = page.locator(f"{PANEL} .mlnb-run-detail[data-state='ok']")
    detail.wait_for()
    assert detail.locator(".mlnb-run-title").inner_text() == XSS_NAME
    assert "<script>x</script>" in detail.inner_text() and "<b>bold</b>" in detail.inner_text()
    assert page.locator(f"{PANEL} img, {PANEL} script, {PANEL} b").count() == 0
    page.wait_for_timeout(500)  # give an injected handler the time it would need
    assert runs_tab.dialogs == [] and runs_tab.errors == []


def test_run_detail_shows_lineage_history_and_serves_artifacts(runs_tab) -> None:  # type: ignore[no-untyped-def]
    page = runs_tab.page
    page.locator(f"{PANEL} .mlnb-run", has_text="baseline-2").click()
    detail = page.locator(f"{PANEL} .mlnb-run-detail[data-state='ok']")
    detail.wait_for()
    assert detail.locator(".mlnb-kv th", has_text="lr").locator("xpath=..").locator("td").inner_text() == "0.001"
    assert detail.locator(".mlnb-lineage .mlnb-ref").all_inner_texts() == ["train@1"]
    link = detail.locator(".mlnb-artifact")
    assert link.inner_text() == "reports/summary.txt"
    response = page.request.get(link.get_attribute("href"))
    assert response.status == 200 and response.text() == ARTIFACT_TEXT
    history = detail.locator(".mlnb-history[data-state='rendered'] svg")
    history.wait_for()
    assert "loss" in history.text_content()
    page.locator(f"{PANEL} .mlnb-back").first.click()


def test_compare_marks_differing_params(runs_tab) -> None:  # type: ignore[no-untyped-def]
    page = runs_tab.page
    for name in ("baseline-0", "baseline-2"):
        page.locator(f"{PANEL} .mlnb-run", has_text=name).locator(".mlnb-select").check()
    button = page.locator(f"{PANEL} .mlnb-compare")
    assert button.inner_text() == "Compare (2)"
    button.click()
    table = page.locator(f"{PANEL} .mlnb-compare-table")
    table.wait_for()
    lr = table.locator("tr", has=page.locator("th", has_text="lr"))
    assert lr.get_attribute("class") == "mlnb-diff"
    assert lr.locator("td").all_inner_texts() == ["0.1", "0.001"]
    depth = table.locator("tr", has=page.locator("th", has_text="depth"))
    assert depth.get_attribute("class") != "mlnb-diff"
    page.locator(f"{PANEL} .mlnb-back").first.click()
    for name in ("baseline-0", "baseline-2"):
        page.locator(f"{PANEL} .mlnb-run", has_text=name).locator(".mlnb-select").uncheck()


def test_insert_code_adds_a_cell_to_the_active_notebook(chromium, lab: Lab) -> None:  # type: ignore[no-untyped-def]
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook = {"cells": [], "metadata": {"kernelspec": kernelspec}, "nbformat": 4, "nbformat_minor": 5}
    (lab.root / "insert.ipynb").write_text(json.dumps(notebook))
    lp = open_lab(chromium, lab, "lab/workspaces/insert/tree/insert.ipynb")
    try:
        page = lp.page
        page.locator(".jp-NotebookPanel-toolbar").first.wait_for()
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
        lp.open_panel("runs")
        row = page.locator(f"{PANEL} .mlnb-run", has_text="baseline-0")
        run_id = row.get_attribute("data-run-id")
        row.click()
        page.locator(f"{PANEL} .mlnb-run-detail[data-state='ok'] .mlnb-insert").click()
        code = f'run = mlnb.runs.get("{run_id}")'
        inserted = page.locator(".jp-NotebookPanel .jp-Cell .cm-content", has_text=code)
        inserted.wait_for()
        assert inserted.count() == 1
    finally:
        lp.close()


def test_panel_screenshot_for_the_docs(runs_tab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The docs' picture shows the panel with its run rows drawn: at the moment of the shot the
    rows (names, metrics) are in the clip, and the image holds text where each row is."""
    page = runs_tab.page
    filter_box = page.locator(f"{PANEL} .mlnb-filter")
    filter_box.fill("tags.seed")  # the seeded runs only, whatever other tests of this lab added
    page.wait_for_function("sel => document.querySelectorAll(sel).length === 3", arg=f"{PANEL} .mlnb-run")
    clip = {"x": 0, "y": 0, "width": 900, "height": 560}
    shot = page.screenshot(clip=clip)
    rows = page.locator(f"{PANEL} .mlnb-run")  # the DOM as it was shot: nothing ran in between
    boxes, names = [], []
    for i in range(rows.count()):
        box = rows.nth(i).bounding_box()
        if box and box["y"] + box["height"] <= clip["height"] and box["x"] + box["width"] <= clip["width"]:
            boxes.append((int(box["x"]), int(box["y"]), int(box["width"]), int(box["height"])))
            names.append(rows.nth(i).locator(".mlnb-run-name").inner_text())
    assert names == ["baseline-2", "baseline-1", "baseline-0"], names  # every seeded run, whole, in the picture
    assert page.locator(f"{PANEL} .mlnb-runs").evaluate_all("ns => ns.map(n => n.dataset.state)") == ["ok"]
    assert page.locator(f"{PANEL} .mlnb-message.mlnb-error").count() == 0
    for name, region in zip(names, png_regions(page, shot, boxes)):
        # a row is a line of text (name, status, metrics) on the panel's background, not a blank band
        assert region["ink"] > region["pixels"] // 50 and region["colours"] > 8, (name, region)
    panel = page.locator(PANEL).bounding_box()
    assert panel and panel["x"] < clip["width"] and panel["y"] < clip["height"]
    keep_screenshot(shot, "panel.png", tmp_path)
    filter_box.fill("")


def test_data_tab_lists_datasets_and_versions(lab_page) -> None:  # type: ignore[no-untyped-def]
    lab_page.open_panel("data")
    page = lab_page.page
    head = page.locator(f'{PANEL} .mlnb-dataset[data-name="train"] .mlnb-dataset-head')
    assert head.locator(".mlnb-badge").inner_text() == "v2"
    head.click()
    rows = page.locator(f'{PANEL} .mlnb-dataset[data-name="train"] .mlnb-versions tbody tr')
    rows.first.wait_for()
    assert rows.count() == 2
    assert "more rows" in rows.nth(0).inner_text()
    assert lab_page.blocked == []


def test_the_alerts_tab_lists_firing_then_resolved_and_follows_checks(lab_page, lab: Lab) -> None:  # type: ignore[no-untyped-def]
    lab_page.open_panel("alerts")
    page = lab_page.page
    rows = page.locator(f"{PANEL} .mlnb-alerts .mlnb-alert")
    rows.first.wait_for()
    firing = page.locator(f'{PANEL} .mlnb-alert[data-status="firing"]', has_text="churn")
    assert "critical firing" in firing.locator(".mlnb-alert-state").inner_text()
    assert "accuracy < 0.85" in firing.inner_text() and "0.8" in firing.inner_text()
    resolved = page.locator(f'{PANEL} .mlnb-alert[data-status="resolved"]', has_text="fraud")
    assert resolved.locator(".mlnb-alert-state").inner_text() == "resolved"
    statuses = [r.get_attribute("data-status") for r in rows.all()]
    assert statuses == sorted(statuses, key=lambda s: s != "firing")  # firing first

    model = f"live{time.time_ns()}"  # a check elsewhere: the open tab shows its alert, no reload
    run_python("import mlnb, pandas as pd\nfrom mlnb.monitor._check import check\n"
               f"mlnb.monitor.add_rule('drift.share > 0.3', model={model!r})\n"
               "s = pd.Timestamp('2026-11-27', tz='UTC')\n"
               "f = pd.DataFrame([dict(window=0, start=s, end=s, n=9, metric='drift.share', value=0.5, lower=None,"
               " upper=None, alert=False, note='')])\n"
               f"check({model!r}, reporter=lambda m, w: f)", lab.root, lab.env)
    page.locator(f'{PANEL} .mlnb-alert[data-status="firing"]', has_text=model).wait_for(timeout=15_000)
    assert "2 alerts firing" in page.locator(f"{PANEL} .mlnb-alerts-summary").inner_text()
    assert lab_page.dialogs == [] and lab_page.blocked == []
