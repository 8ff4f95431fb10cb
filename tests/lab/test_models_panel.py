"""The panel's Models tab in a real JupyterLab, in headless Chromium, over the seeded models
(tests/lab/conftest.py: churn@1..3 with champion and staging, a gated promotion and an
evaluation; fraud@1..2)."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

import pytest

from ._browser import PANEL, keep_screenshot, open_lab, png_regions, side_by_side, widen_panel
from ._lab import BUNDLE, Lab, run_python
from .conftest import BIG, XSS_NAME

pytestmark = pytest.mark.browser

MODEL = f"{PANEL} .mlnb-model-page[data-state='ok']"
VERSION = f"{PANEL} .mlnb-model-detail[data-state='ok']"


@pytest.fixture(scope="module")
def models_page(chromium, lab: Lab):  # type: ignore[no-untyped-def]
    """One JupyterLab page for the module, on its own workspace (the panel's width is changed)."""
    lp = open_lab(chromium, lab, f"lab/workspaces/models-{time.time_ns()}")
    yield lp
    lp.close()


@pytest.fixture
def models_tab(models_page):  # type: ignore[no-untyped-def]
    """The Models tab showing its list of models."""
    models_page.open_panel("models")
    page = models_page.page
    if page.locator(f"{PANEL} .mlnb-models.mlnb-mod-side .mlnb-model-detail").count():
        page.locator(f"{VERSION} .mlnb-back").click()  # back to its model's page
        page.locator(MODEL).wait_for()
    if page.locator(f"{PANEL} .mlnb-models.mlnb-mod-side").count():
        page.locator(f"{MODEL} .mlnb-back").click()
    page.locator(f"{PANEL} .mlnb-models:not(.mlnb-mod-side) .mlnb-model").first.wait_for()
    return models_page


def _versions(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator(f"{MODEL} .mlnb-model-version td:first-child").all_inner_texts()


def test_the_lab_serves_this_checkouts_build(lab: Lab) -> None:
    """The page loads mlnb/labextension of this checkout (through the test's JUPYTER_PATH), not a
    copy installed elsewhere: what the browser tests see is what this source builds."""
    with urllib.request.urlopen(f"{lab.url}lab?token={lab.token}", timeout=30) as resp:
        html = resp.read().decode()
    config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    (mlnb,) = [e for e in config["federated_extensions"] if e["name"] == "mlnb"]
    assert (BUNDLE / mlnb["load"]).is_file(), mlnb["load"]


def test_models_are_listed_with_aliases_and_key_metrics(models_tab) -> None:  # type: ignore[no-untyped-def]
    page = models_tab.page
    rows = page.locator(f"{PANEL} .mlnb-model")
    names = [n for n in rows.locator(".mlnb-run-name").all_inner_texts() if n in ("churn", "fraud")]
    assert names == ["churn", "fraud"]
    churn = page.locator(f'{PANEL} .mlnb-model[data-name="churn"]')
    assert churn.locator(".mlnb-badge").inner_text() == "v3"
    assert churn.locator(".mlnb-chip").all_inner_texts() == ["champion → 3", "staging → 2"]
    assert churn.locator(".mlnb-metrics").inner_text() .split() == ["auc=0.9", "f1=0.85"]
    assert churn.locator(".mlnb-when").inner_text().startswith("3 versions · ")
    fraud = page.locator(f'{PANEL} .mlnb-model[data-name="fraud"]')
    assert fraud.locator(".mlnb-chip").all_inner_texts() == ["champion → 2"]
    assert models_tab.errors == [] and models_tab.blocked == []


def test_a_models_page_has_its_versions_and_alias_log(models_tab) -> None:  # type: ignore[no-untyped-def]
    page = models_tab.page
    page.locator(f'{PANEL} .mlnb-model[data-name="churn"]').click()
    model = page.locator(MODEL)
    model.wait_for()
    assert model.locator(".mlnb-run-title").inner_text() == "churn"
    assert model.locator(".mlnb-model-summary .mlnb-chip").all_inner_texts() == ["champion → 3", "staging → 2"]
    assert _versions(page) == ["@3", "@2", "@1"]
    assert model.locator(".mlnb-model-versions th").all_inner_texts() == ["version", "aliases", "auc", "f1", "created"]
    v3 = model.locator('.mlnb-model-version[data-version="3"]')
    assert v3.locator(".mlnb-chip").all_inner_texts() == ["champion"]
    assert v3.locator(".mlnb-num").all_inner_texts() == ["0.9", "0.85"]
    assert model.locator('.mlnb-model-version[data-version="1"] .mlnb-chip').count() == 0
    moves = model.locator(".mlnb-events .mlnb-alias-move")
    assert [m.locator(".mlnb-move").inner_text() for m in moves.all()] == [
        "set none → @2", "promote @1 → @3", "promote none → @1"]
    promoted = moves.nth(1)
    assert promoted.locator(".mlnb-status").inner_text() == "2/2 passed"
    assert "<script>x</script>" in promoted.locator(".mlnb-reason").inner_text()
    assert model.locator(".mlnb-more").count() == 0  # three versions, three events: one page each


def test_a_versions_page_shows_lineage_metrics_evaluations_and_gates(models_tab) -> None:  # type: ignore[no-untyped-def]
    page = models_tab.page
    page.locator(f'{PANEL} .mlnb-model[data-name="churn"]').click()
    page.locator(f'{MODEL} .mlnb-model-version[data-version="3"]').click()
    detail = page.locator(VERSION)
    detail.wait_for()
    assert detail.locator(".mlnb-run-title").inner_text().split() == ["churn@3", "champion"]

    def kv(scope, key: str) -> str:  # type: ignore[no-untyped-def]
        return scope.locator("tr", has=page.locator(f"th:text-is('{key}')")).locator("td").inner_text()

    assert kv(detail.locator(".mlnb-kv").first, "flavour") == "sklearn"
    assert kv(detail.locator(".mlnb-kv").first, "message") == XSS_NAME  # as text
    lineage = detail.locator('[data-section="Lineage"]')
    assert lineage.locator('[data-link="run"]').inner_text() == "train-churn"
    assert lineage.locator('[data-link="data"]').all_inner_texts() == ["churn-train@1"]
    assert kv(detail.locator('[data-section="Metrics"]'), "auc") == "0.9"
    evaluation = detail.locator('.mlnb-evaluation[data-data="churn-holdout@1"]')
    assert "classification of churned, 100 rows" in evaluation.inner_text()
    assert 0.5 < float(kv(evaluation, "accuracy")) <= 1
    assert detail.locator('[data-section="Signature"]').inner_text().endswith("tenure, spend")
    (move,) = detail.locator(".mlnb-alias-move").all()
    assert move.locator(".mlnb-move").inner_text() == "promote @1 → @3"
    gates = move.locator(".mlnb-gate")
    assert [g.get_attribute("data-passed") for g in gates.all()] == ["true", "true"]
    assert gates.locator(".mlnb-gate-text").all_inner_texts() == ["auc >= champion.auc - 0.005", "f1 > 0.8"]
    assert gates.nth(1).locator(".mlnb-gate-value").inner_text() == "0.85 vs 0.8"
    # registry strings are text: no element was made from them
    assert page.locator(f"{PANEL} img, {PANEL} script").count() == 0
    page.wait_for_timeout(300)
    assert models_tab.dialogs == [] and models_tab.errors == []


def test_lineage_links_open_the_run_and_the_data_version(models_tab) -> None:  # type: ignore[no-untyped-def]
    page = models_tab.page
    page.locator(f'{PANEL} .mlnb-model[data-name="churn"]').click()
    page.locator(f'{MODEL} .mlnb-model-version[data-version="2"]').click()
    page.locator(f'{VERSION} [data-link="run"]').click()
    run = page.locator(f"{PANEL} .mlnb-runs .mlnb-run-detail[data-state='ok']")
    run.wait_for()
    assert run.locator(".mlnb-run-title").inner_text() == "train-churn"
    assert page.locator(f'{PANEL} .mlnb-tab[data-tab="runs"]').get_attribute("aria-selected") == "true"
    page.locator(f"{PANEL} .mlnb-runs .mlnb-back").click()

    models_tab.open_panel("models")
    page.locator(f'{VERSION} [data-link="data"]').click()  # the Models tab kept churn@2 open
    marked = page.locator(f'{PANEL} .mlnb-dataset[data-name="churn-train"] tr.mlnb-mod-marked')
    marked.wait_for()
    assert marked.get_attribute("data-version") == "1"


def test_a_version_registered_elsewhere_appears_without_reload(models_tab, lab: Lab) -> None:  # type: ignore[no-untyped-def]
    """Live refresh through the revision feed: a new model shows in the list, a new version on
    the open model's page, a new alias on the open version's page — no reload, no click."""
    page = models_tab.page
    name = f"live-{time.time_ns() % 10**9}"
    register = ("import mlnb, pandas as pd\nfrom sklearn.linear_model import LinearRegression\n"
                "X = pd.DataFrame({{'a': [0.0, 1.0, 2.0]}})\n"
                "mlnb.models.register({name!r}, LinearRegression().fit(X, [{y}]), metrics={{'r2': {r2}}})\n")
    run_python(register.format(name=name, y="0, 1, 2", r2=0.5), lab.root, lab.env)
    row = page.locator(f'{PANEL} .mlnb-model[data-name="{name}"]')
    row.wait_for(timeout=15_000)
    assert row.locator(".mlnb-badge").inner_text() == "v1"
    row.click()
    page.locator(MODEL).wait_for()
    assert _versions(page) == ["@1"]
    run_python(register.format(name=name, y="0, 2, 4", r2=0.75), lab.root, lab.env)
    page.locator(f'{MODEL} .mlnb-model-version[data-version="2"]').wait_for(timeout=15_000)
    assert _versions(page) == ["@2", "@1"]
    assert page.locator(f'{MODEL} .mlnb-model-version[data-version="2"] .mlnb-num').inner_text() == "0.75"
    page.locator(f'{MODEL} .mlnb-model-version[data-version="2"]').click()
    page.locator(VERSION).wait_for()
    run_python(f"import mlnb; mlnb.models.set_alias('{name}@2', 'canary')", lab.root, lab.env)
    page.locator(f'{VERSION} .mlnb-run-title .mlnb-chip[data-alias="canary"]').wait_for(timeout=15_000)
    assert models_tab.dialogs == [] and models_tab.errors == []


def test_ten_thousand_versions_page_in_and_refresh_past_the_largest_page(chromium, big_lab: Lab) -> None:  # type: ignore[no-untyped-def]
    """A model of 10,000 versions: 50 rows, then 50 more per click; a live refresh with more rows
    shown than the server's largest page (500) re-reads them all, in several requests."""
    lp = open_lab(chromium, big_lab)
    try:
        page = lp.page
        lp.open_panel("models")
        page.locator(f'{PANEL} .mlnb-model[data-name="big"]').click()
        page.locator(MODEL).wait_for()
        rows = page.locator(f"{MODEL} .mlnb-model-version")
        assert rows.count() == 50
        assert page.locator(f"{MODEL} .mlnb-model-summary .mlnb-chip").all_inner_texts() == [
            "champion → 9000", f"staging → {BIG}"]  # the holder of champion is far down the list
        for shown in range(100, 601, 50):
            page.locator(f"{MODEL} .mlnb-more", has_text="versions").click()
            page.locator(f'{MODEL} .mlnb-model-version[data-version="{BIG - shown + 1}"]').wait_for()
        assert rows.count() == 600
        run_python(f"import mlnb; mlnb.models.set_alias('big@{BIG - 500}', 'canary')", big_lab.root, big_lab.env)
        page.locator(f'{MODEL} .mlnb-model-version[data-version="{BIG - 500}"] .mlnb-chip[data-alias="canary"]').wait_for(
            timeout=15_000)
        assert rows.count() == 600 and page.locator(f"{PANEL} .mlnb-error").count() == 0
        assert _versions(page)[:2] == [f"@{BIG}", f"@{BIG - 1}"] and _versions(page)[-1] == f"@{BIG - 599}"
        assert lp.errors == []
    finally:
        lp.close()


def test_runs_refresh_past_the_largest_page(chromium, big_lab: Lab) -> None:  # type: ignore[no-untyped-def]
    """600 runs shown (after "Load more"), then a run finished elsewhere: the live refresh
    re-reads all 600 in requests of at most 500 rows, not one request the server refuses."""
    lp = open_lab(chromium, big_lab)
    try:
        page = lp.page
        lp.open_panel("runs")
        rows = page.locator(f"{PANEL} .mlnb-run")
        rows.first.wait_for()
        assert rows.count() == 50
        for shown in range(100, 601, 50):
            page.locator(f"{PANEL} .mlnb-runs .mlnb-more").click()
            page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length === n",
                                   arg=[f"{PANEL} .mlnb-run", shown])
        run_python("import mlnb\nwith mlnb.start_run('newest'):\n    pass", big_lab.root, big_lab.env)
        page.locator(f"{PANEL} .mlnb-run", has_text="newest").wait_for(timeout=15_000)
        assert rows.count() == 600 and _first_run(page) == "newest"
        assert page.locator(f"{PANEL} .mlnb-error").count() == 0
        assert lp.errors == []
    finally:
        lp.close()


def test_models_panel_screenshot_for_the_docs(models_tab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """docs/models-panel.png: a model's page and a version's page, with the panel widened as a user
    would to read a table; each shot holds text where its rows are."""
    page = models_tab.page
    widen_panel(page)
    panel = page.locator(PANEL).bounding_box()
    assert panel and panel["width"] > 400, panel
    clip = {"x": panel["x"], "y": panel["y"], "width": panel["width"], "height": min(panel["height"], 860)}
    shots = []
    for click, ready, rows in [
        (f'{PANEL} .mlnb-model[data-name="churn"]', MODEL, f"{MODEL} .mlnb-model-version, {MODEL} .mlnb-alias-move"),
        (f'{MODEL} .mlnb-model-version[data-version="3"]', VERSION, f"{VERSION} .mlnb-kv tr, {VERSION} .mlnb-gate"),
    ]:
        page.locator(click).click()
        page.locator(ready).wait_for()
        shot = page.screenshot(clip=clip)
        boxes = [b for b in (r.bounding_box() for r in page.locator(rows).all()) if b]
        inside = [(int(b["x"] - clip["x"]), int(b["y"] - clip["y"]), int(b["width"]), int(b["height"]))
                  for b in boxes if b["y"] + b["height"] <= clip["y"] + clip["height"]]
        assert len(inside) >= 4, (ready, boxes)
        for region in png_regions(page, shot, inside):
            assert region["ink"] > region["pixels"] // 50 and region["colours"] > 8, (ready, region)
        shots.append(shot)
    keep_screenshot(side_by_side(page, shots), "models-panel.png", tmp_path)


def _first_run(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator(f"{PANEL} .mlnb-run .mlnb-run-name").first.inner_text()
