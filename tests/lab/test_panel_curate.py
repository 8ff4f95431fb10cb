"""Curating runs and looking inside data versions from the panel, in a real JupyterLab in Chromium.

The runs and datasets curated here are made by the tests themselves (unique names), so the shared
lab project's fixture runs stay as the other panel tests expect them.
"""

from __future__ import annotations

import json
import time

import pytest

from ._browser import PANEL
from ._lab import Lab, run_python
from .test_panel import lab_page  # noqa: F401 - the same module-scoped JupyterLab page fixture

pytestmark = pytest.mark.browser


def _seed_runs(lab: Lab, experiment: str) -> list[str]:
    out = run_python(
        "import mlnb\nids = []\n"
        f"for n in range(2):\n    with mlnb.start_run(f'{experiment}-run{{n}}', experiment={experiment!r}) as r:\n"
        "        r.log_metric('acc', n)\n    ids.append(r.id)\nprint(' '.join(ids))",
        lab.root, lab.env)
    return out.split()


def _names(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator(f"{PANEL} .mlnb-run .mlnb-run-name").all_inner_texts()


def _wait_names(page, names: list[str]) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function("([sel, want]) => [...document.querySelectorAll(sel)].map(e => e.textContent).join('|') === want",
                           arg=[f"{PANEL} .mlnb-run .mlnb-run-name", "|".join(names)], timeout=15_000)


def test_experiment_filter_rename_delete_and_restore(lab_page, lab: Lab) -> None:  # type: ignore[no-untyped-def]
    experiment = f"exp{time.time_ns()}"
    first, second = _seed_runs(lab, experiment)
    lab_page.open_panel("runs")
    page = lab_page.page
    page.locator(f"{PANEL} .mlnb-experiment-filter").fill(experiment)
    _wait_names(page, [f"{experiment}-run1", f"{experiment}-run0"])
    assert page.locator(f"{PANEL} .mlnb-run .mlnb-experiment").all_inner_texts() == [experiment, experiment]

    row = page.locator(f'{PANEL} .mlnb-run[data-run-id="{first}"]')
    row.locator(".mlnb-run-more").click()
    # a run logged elsewhere redraws the list: the open actions stay open (CI once saw them close
    # under the pointer, between the click on the "⋯" and the click on Rename)
    row.evaluate("node => { node.dataset.drawnBefore = '1'; }")
    _seed_runs(lab, f"{experiment}-other")
    page.wait_for_function("sel => !document.querySelector(sel).dataset.drawnBefore",
                           arg=f'{PANEL} .mlnb-run[data-run-id="{first}"]', timeout=15_000)
    assert "mlnb-open" in row.get_attribute("class") and row.locator(".mlnb-act-rename").is_visible()
    row.locator(".mlnb-act-rename").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input").fill("renamed-in-panel")
    dialog.locator(".jp-mod-accept").click()
    _wait_names(page, [f"{experiment}-run1", "renamed-in-panel"])
    status, detail = lab.api(f"mlnb/api/runs/{first}")
    assert status == 200 and detail["name"] == "renamed-in-panel"

    row = page.locator(f'{PANEL} .mlnb-run[data-run-id="{second}"]')
    row.locator(".mlnb-run-more").click()
    row.locator(".mlnb-act-delete").click()
    _wait_names(page, ["renamed-in-panel"])
    page.locator(f"{PANEL} .mlnb-lifecycle").select_option("deleted")
    _wait_names(page, [f"{experiment}-run1"])
    row = page.locator(f'{PANEL} .mlnb-run[data-run-id="{second}"]')
    assert row.locator(".mlnb-lifecycle-deleted").inner_text() == "deleted"
    row.locator(".mlnb-run-more").click()
    row.locator(".mlnb-act-restore").click()
    _wait_names(page, [])
    page.locator(f"{PANEL} .mlnb-lifecycle").select_option("active")
    _wait_names(page, [f"{experiment}-run1", "renamed-in-panel"])
    status, detail = lab.api(f"mlnb/api/runs/{second}")
    assert detail["lifecycle"] == "active"
    history = run_python(f"import mlnb, json\nprint(json.dumps(mlnb.runs.history({second!r}).to_dict()))",
                         lab.root, lab.env)
    assert [e["action"] for e in json.loads(history)] == ["delete", "restore"]
    page.locator(f"{PANEL} .mlnb-experiment-filter").fill("")
    page.locator(f'{PANEL} .mlnb-run[data-run-id="{first}"]').wait_for()


def test_data_tab_shows_schema_preview_and_a_renamed_category(lab_page, lab: Lab) -> None:  # type: ignore[no-untyped-def]
    name = f"plans{time.time_ns()}"
    run_python(
        "import mlnb, pandas as pd\n"
        "df = pd.DataFrame({'plan': ['basic', 'pro', 'team'] * 4, 'spend': [float(i) for i in range(12)]})\n"
        f"mlnb.data.save(df, {name!r})\n"
        f"mlnb.data.save(df.assign(plan=df.plan.replace({{'team': 'business'}})), {name!r})",
        lab.root, lab.env)
    lab_page.open_panel("data")
    page = lab_page.page
    item = page.locator(f'{PANEL} .mlnb-dataset[data-name="{name}"]')
    item.locator(".mlnb-dataset-head").click(timeout=15_000)
    item.locator('.mlnb-versions tbody tr[data-version="2"]').click()
    detail = item.locator(".mlnb-version-detail[data-state='ok']")
    detail.wait_for()
    schema = detail.locator("table").first.locator("tbody tr td:first-child").all_inner_texts()
    assert schema == ["plan", "spend"]
    preview = detail.locator(".mlnb-preview tbody tr")
    assert preview.count() == 12 and preview.first.locator("td").all_inner_texts() == ["basic", "0"]
    diff = detail.locator(".mlnb-datadiff[data-state='ok']")
    diff.wait_for()
    removed = diff.locator('tr[data-change="category removed"] td').all_inner_texts()
    added = diff.locator('tr[data-change="category added"] td').all_inner_texts()
    assert removed == ["category removed", "plan", "team", ""] and added == ["category added", "plan", "", "business"]
