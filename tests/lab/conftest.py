"""Fixtures for the JupyterLab tests: one seeded project, one real server, headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._lab import CHROMIUM, CHROMIUM_ARGS, Lab, child_env, run_python, start_lab

XSS_NAME = "<img src=x onerror=alert(1)>"

ARTIFACT_TEXT = "lr=0.001 accuracy=0.9"

#: the ``error`` codes an API refusal may carry, per status (mlnb/server/_routes.py, _files.py)
ERROR_CODES = {400: {"bad_request"}, 403: {"outside_root", "private", "hidden"},
               404: {"not_found", "not_an_artifact", "not_a_project"}}

SEED = f"""
import os, mlnb, pandas as pd
ARTIFACT_TEXT = {ARTIFACT_TEXT!r}
mlnb.init(remote="../remote")
mlnb.data.save(pd.DataFrame({{"x": [1, 2, 3], "y": [0, 1, 0]}}), "train", message="first")
mlnb.data.save(pd.DataFrame({{"x": [1, 2, 3, 4], "y": [0, 1, 0, 1]}}), "train", message="more rows")
for i, lr in enumerate([0.1, 0.01, 0.001]):
    with mlnb.start_run(f"baseline-{{i}}", params={{"lr": lr, "depth": 3}}, tags=["seed"]) as run:
        run.log_metric("accuracy", 0.8 + i / 20)
        if i == 2:  # lineage and an artifact for the detail view
            mlnb.data.load("train@1")
            os.makedirs("reports", exist_ok=True)
            with open("reports/summary.txt", "w") as fh:
                fh.write(ARTIFACT_TEXT)
            run.log_artifact("reports/summary.txt")
            for step, loss in enumerate([0.9, 0.5, 0.3, 0.25]):
                run.log_metric("loss", loss, step=step)
with mlnb.start_run({XSS_NAME!r}, params={{"note": "<b>bold</b>"}}, tags=["<script>x</script>"]) as run:
    run.log_metric("accuracy", 0.5)
"""


@pytest.fixture(scope="session")
def lab_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A project with two versions of a dataset and four finished runs (one with a hostile name)."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "proj"
    root.mkdir()
    (base / "home").mkdir()
    env = child_env(base / "home")
    run_python(SEED, root, env)
    return root, env


@pytest.fixture(scope="session")
def lab(lab_project: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root, env = lab_project
    server = start_lab(root, tmp_path_factory.mktemp("lab-server"), env)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("MLNB_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing and MLNB_REQUIRE_BROWSER is set: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); set MLNB_REQUIRE_BROWSER=1 to fail instead")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
