"""The MLOps panel and the v6 chart renderer in a real JupyterLab, in headless Chromium."""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest

from ._browser import PANEL, open_lab
from ._lab import Lab, run_python
from .conftest import XSS_NAME

pytestmark = pytest.mark.browser
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _runs_available(lab: Lab) -> bool:
    return bool(lab.api("mlnb/api/status")[1]["areas"]["runs"])


@pytest.fixture
def lab_page(chromium, lab: Lab):  # type: ignore[no-untyped-def]
    lp = open_lab(chromium, lab)
    yield lp
    lp.close()


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


def test_models_and_alerts_tabs_say_what_is_missing(lab_page, lab: Lab) -> None:  # type: ignore[no-untyped-def]
    areas = lab.api("mlnb/api/status")[1]["areas"]
    for tab in ("models", "alerts"):
        lab_page.open_panel(tab)
        view = lab_page.page.locator(f"{PANEL} .mlnb-{tab}")
        if not areas[tab]:
            assert "not part of this mlnb install" in view.inner_text()
