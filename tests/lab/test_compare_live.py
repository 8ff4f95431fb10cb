"""What a person sees of runs while they train and side by side, in a real JupyterLab in headless
Chromium: a live chart whose points grow while its cell runs, and the panel's Compare view of 20
runs of 1,000 points each (its time is measured and printed, not asserted: the machine is shared)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlnb.runs._compare import PANEL_POINTS

from ._browser import PANEL, keep_screenshot, open_lab
from ._lab import Lab
from .conftest import seeded_lab

#: 20 runs: lr x depth sweep, two identical params, "loss" at 1,000 steps and a final "accuracy"
SWEEP = 20
SEED = f"""
import math, random, mlnb
mlnb.init()
rnd = random.Random(0)
for i in range({SWEEP}):
    lr, depth = [0.3, 0.1, 0.03, 0.01, 0.003][i % 5], 2 + i // 5
    params = {{"lr": lr, "depth": depth, "optimizer": "adam" if i % 2 else "sgd", "seed": 0, "epochs": 1000}}
    with mlnb.start_run(f"sweep-{{i:02d}}", params=params, tags=["sweep"]) as run:
        for step in range(1000):
            run.log_metric("loss", math.exp(-step * lr / 30) + depth / 50 + rnd.gauss(0, 0.01))
        run.log_metric("accuracy", round(0.9 - abs(math.log10(lr) + 1.5) / 10 + depth / 100, 4))
"""

LIVE_CELLS = [
    "%load_ext mlnb\nimport math, time, mlnb",
    "%%mlops run live-chart --param lr=0.05\n"
    "for step in range(60):\n"
    "    mlnb.log_metrics({'loss': math.exp(-step / 15), 'accuracy': 1 - math.exp(-step / 20)})\n"
    "    time.sleep(0.1)",
]

#: vertices drawn by the line marks under a selector (Vega's SVG line paths: M x,y L x,y ...)
VERTICES_JS = """sel => [...document.querySelectorAll(sel)]
    .reduce((n, p) => n + ((p.getAttribute('d') || '').match(/[ML]/g) || []).length, 0)"""


@pytest.fixture(scope="module")
def sweep_lab(lab_project: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from seeded_lab(lab_project, tmp_path_factory, "sweep", SEED)


def _ids(lab: Lab) -> list[str]:
    status, page = lab.api("mlnb/api/runs?limit=50&sort=name")
    assert status == 200
    return [r["id"] for r in page["runs"]]


def test_compare_api_answers_rows_and_charts_and_refuses_bad_requests(sweep_lab: Lab) -> None:
    ids = _ids(sweep_lab)
    status, data = sweep_lab.api(f"mlnb/api/compare?ids={','.join(ids[:3])}")
    assert status == 200 and data["metric"] == "accuracy" and set(data["charts"]) == {"history", "parallel", "scatter"}
    assert [r["field"] for r in data["rows"]][:3] == ["params.lr", "params.optimizer", "params.depth"]  # depth: 2 in all three
    status, data = sweep_lab.api(f"mlnb/api/compare?ids={','.join(ids[:3])}&metric=loss")
    assert status == 200 and data["metric"] == "loss" and data["lower_is_better"] is True
    for query, code, text in [(f"ids={ids[0]}", 400, "at least two"), ("ids=", 400, "at least two"),
                              (f"ids={ids[0]},feedfacecafe", 404, "feedfacecafe"),
                              (f"ids={ids[0]},{ids[1]}&metric=nope", 400, "choose one of accuracy, loss")]:
        status, body = sweep_lab.api(f"mlnb/api/compare?{query}")
        assert status == code and text in body["message"], (query, status, body)
    assert sweep_lab.api(f"mlnb/api/compare?ids={ids[0]},{ids[1]}", token=None)[0] in (401, 403)


def _open_compare(page) -> tuple[float, str]:  # type: ignore[no-untyped-def]
    """Click Compare; (seconds until every chart is drawn, the view's own fetch and render times)."""
    start = time.perf_counter()
    page.locator(f"{PANEL} .mlnb-compare").click()
    view = page.locator(f"{PANEL} .mlnb-compare-view[data-state='ok']")
    view.wait_for(timeout=60_000)
    took = time.perf_counter() - start
    return took, f"answer {view.get_attribute('data-fetch-ms')} ms, drawn {view.get_attribute('data-render-ms')} ms"


def _small(png: bytes) -> bytes:
    """The picture in 256 colours (a third of the bytes) for the docs, where Pillow is installed."""
    try:
        from PIL import Image
    except ImportError:
        return png
    import io

    out = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").quantize(256).save(out, "PNG", optimize=True)
    return out.getvalue()


def _widen_sidebar(page, width: int) -> None:  # type: ignore[no-untyped-def]
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    if box:
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 200)
        page.mouse.down()
        page.mouse.move(width, box["y"] + 200, steps=5)
        page.mouse.up()


def test_compare_view_of_20_runs_draws_every_chart(chromium, sweep_lab: Lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lp = open_lab(chromium, sweep_lab)
    try:
        page = lp.page
        lp.open_panel("runs")
        page.locator(f"{PANEL} .mlnb-run").nth(SWEEP - 1).wait_for()
        _widen_sidebar(page, 1100)
        for box in page.locator(f"{PANEL} .mlnb-run .mlnb-select").all():
            box.check()
        assert page.locator(f"{PANEL} .mlnb-compare").inner_text() == f"Compare ({SWEEP})"
        cold, cold_ms = _open_compare(page)
        view = page.locator(f"{PANEL} .mlnb-compare-view")

        history = view.locator(".mlnb-compare-chart[data-chart='history'] .mark-line path")
        assert history.count() == SWEEP  # one loss line per run (accuracy has one step: no history)
        vertices = page.evaluate(VERTICES_JS, f"{PANEL} .mlnb-compare-chart[data-chart='history'] .mark-line path")
        assert SWEEP * 150 <= vertices <= PANEL_POINTS + SWEEP, vertices  # M4-downsampled from 20,000 points, not to nothing
        parallel = view.locator(".mlnb-compare-chart[data-chart='parallel']")
        assert parallel.locator(".mark-line path").count() == SWEEP
        axes = parallel.locator(".role-axis-label text").all_text_contents()
        assert axes == ["depth", "lr", "optimizer", "accuracy"], axes  # identical params folded away
        scatter = view.locator(".mlnb-compare-chart[data-chart='scatter']")
        assert scatter.locator(".mark-symbol path").count() == 3 * SWEEP  # a point per run per differing param

        table = view.locator(".mlnb-compare-table")
        best = table.locator("tr", has=page.locator("th", has_text="accuracy")).locator("td.mlnb-best")
        assert best.count() >= 1 and best.first.inner_text().endswith("★")
        same = table.locator("tr.mlnb-same")
        assert same.count() == 2 and not same.first.is_visible()  # seed, epochs
        view.locator(".mlnb-compare-fold").click()
        assert same.first.is_visible()
        clip = {"x": 0, "y": 0, "width": 1120, "height": 880}
        keep_screenshot(_small(page.screenshot(clip=clip)), "compare.png", tmp_path)
        parallel.evaluate("n => n.scrollIntoView()")
        keep_screenshot(_small(page.screenshot(clip=clip)), "compare-charts.png", tmp_path)

        view.locator(".mlnb-compare-metric").select_option("loss")
        view.locator(".mlnb-compare-chart[data-chart='parallel'] .role-title-text", has_text="params → loss").wait_for()
        page.locator(f"{PANEL} .mlnb-compare-view[data-state='ok']").wait_for()

        again = []
        for _ in range(3):
            view.locator(".mlnb-back").click()
            again.append(_open_compare(page))
        print(f"\ncompare of {SWEEP} runs x 1,000 points in the panel, click to every chart drawn: {cold:.2f} s "
              f"the first time ({cold_ms}), then " + ", ".join(f"{t:.2f} s ({ms})" for t, ms in again))
        assert lp.errors == [] and lp.blocked == []
    finally:
        lp.close()


def test_a_live_chart_grows_while_its_cell_runs(chromium, sweep_lab: Lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": c} for c in LIVE_CELLS]
    notebook = {"cells": cells, "metadata": {"kernelspec": kernelspec}, "nbformat": 4, "nbformat_minor": 5}
    (sweep_lab.root / "live.ipynb").write_text(json.dumps(notebook))
    lp = open_lab(chromium, sweep_lab, "lab/workspaces/live/tree/live.ipynb")
    try:
        page = lp.page
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell .cm-content")
        page.locator(".jp-StatusBar-TextItem", has_text="| Idle").wait_for(timeout=60_000)
        page.locator(".jp-NotebookPanel .jp-Cell .cm-content").first.click()
        page.keyboard.press("Shift+Enter")
        page.keyboard.press("Shift+Enter")
        cell = page.locator(".jp-NotebookPanel .jp-CodeCell").nth(1)
        lines = ".jp-NotebookPanel .jp-CodeCell:nth-child(2) .mlnb-vega6[data-state='rendered'] .mark-line path"
        counts = []
        for _ in range(2):  # two moments, about 1.5 s apart, while the cell runs
            page.wait_for_function(f"sel => ({VERTICES_JS})(sel) > {counts[-1] if counts else 0}", arg=lines,
                                   timeout=30_000)
            counts.append(page.evaluate(VERTICES_JS, lines))
            assert "[*]" in cell.locator(".jp-InputPrompt").inner_text(), "the cell had already finished"
            if len(counts) == 1:
                page.wait_for_timeout(1500)
        assert 0 < counts[0] < counts[1] < 2 * 60, counts
        keep_screenshot(_small(cell.screenshot()), "live-chart.png", tmp_path)
        # when the run ends: the live output is emptied and the final chart drawn with every point
        page.wait_for_function("el => !el.textContent.includes('*')", arg=cell.locator(".jp-InputPrompt").element_handle(),
                               timeout=60_000)
        page.wait_for_function(f"sel => ({VERTICES_JS})(sel) === 2 * 60", arg=lines, timeout=30_000)
        assert cell.locator(".mlnb-vega6").count() == 1
        assert lp.errors == [] and lp.blocked == []
    finally:
        lp.close()
