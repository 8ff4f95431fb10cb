"""The README's first command in a browser: `mlnb demo`, an example notebook run inside it, and the
panel showing both (docs/demo-panel.png is this picture)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli

from ._browser import PANEL, keep_screenshot, open_lab, png_regions, widen_panel
from ._lab import Lab, child_env, start_lab

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Path]]:
    """The demo project, with 02-runs.ipynb executed in it by a real kernel."""
    import nbclient
    import nbformat

    base = tmp_path_factory.mktemp("demo-lab")
    (base / "home").mkdir()
    env = child_env(base / "home")
    proc = run_cli("demo", str(base / "mlnb-demo"), "--no-lab")
    assert proc.returncode == 0, proc.stderr
    root = base / "mlnb-demo" / "project"
    path = root / "02-runs.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute(env=env)
    nbformat.write(nb, path)
    server = start_lab(root, tmp_path_factory.mktemp("demo-server"), env)
    yield server, root
    server.stop()


def test_an_example_notebook_run_in_the_demo_fills_its_registry(demo_lab) -> None:  # type: ignore[no-untyped-def]
    lab, root = demo_lab
    status, page = lab.api("mlnb/api/runs?limit=500")
    runs = page["runs"]
    assert {"tree-depth-2", "tree-depth-4", "tree-depth-8"} <= {r["name"] for r in runs}
    from_notebook = [r for r in runs if not r["name"].startswith("tree-depth-")]
    assert from_notebook, "02-runs.ipynb recorded nothing in the demo project"
    status, detail = lab.api(f"mlnb/api/runs/{from_notebook[0]['id']}")
    assert detail["notebook"] == str((root / "02-runs.ipynb").resolve())
    status, datasets = lab.api("mlnb/api/datasets")
    assert {"customers", "churn"} <= {d["name"] for d in datasets["datasets"]}


def test_demo_panel_screenshot(chromium, demo_lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """docs/demo-panel.png: the demo's Runs tab, the demo's training runs grouped in their
    experiment, with real durations (never "0.0 s") and the note on the best one."""
    lab, _ = demo_lab
    lp = open_lab(chromium, lab)
    try:
        lp.open_panel("runs")
        page = lp.page
        page.locator(f"{PANEL} .mlnb-run").first.wait_for()
        widen_panel(page, 430)
        clip = {"x": 0, "y": 0, "width": 900, "height": 560}
        shot = page.screenshot(clip=clip)
        rows = page.locator(f"{PANEL} .mlnb-run")
        whens = rows.locator(".mlnb-when").all_inner_texts()
        assert whens and not any(w.endswith(" 0.0 s") for w in whens), whens
        assert all(re.search(r"\d+ ms$|\d(\.\d)? s$|min \d+ s$", w) for w in whens), whens
        demo_rows = page.locator(f"{PANEL} .mlnb-run", has=page.locator(".mlnb-experiment", has_text="churn-trees"))
        assert demo_rows.count() == 3
        assert page.locator(f"{PANEL} .mlnb-run-note").all_inner_texts() == ["best validation AUC of the three depths"]
        boxes = [b for b in (rows.nth(i).bounding_box() for i in range(rows.count())) if b]
        inside = [(int(b["x"]), int(b["y"]), int(b["width"]), int(b["height"])) for b in boxes
                  if b["y"] + b["height"] <= clip["height"]]
        assert len(inside) >= 3
        for region in png_regions(page, shot, inside):
            assert region["ink"] > region["pixels"] // 50 and region["colours"] > 8, region
        keep_screenshot(shot, "demo-panel.png", tmp_path)
        assert lp.errors == [], lp.errors
    finally:
        lp.close()


def test_demo_runs_record_the_training_script(demo_lab) -> None:  # type: ignore[no-untyped-def]
    lab, root = demo_lab
    status, page = lab.api("mlnb/api/runs?experiment=churn-trees")
    assert sorted(r["name"] for r in page["runs"]) == ["tree-depth-2", "tree-depth-4", "tree-depth-8"]
    status, detail = lab.api(f"mlnb/api/runs/{page['runs'][0]['id']}")
    assert detail["notebook"] == str((root / "train.py").resolve()) and detail["duration"] > 0.02
    assert json.dumps(detail["code"]).count("GradientBoostingClassifier") >= 1
