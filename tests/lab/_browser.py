"""Driving JupyterLab in headless Chromium with no network beyond the lab server."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._lab import Lab

DOCS = Path(__file__).resolve().parents[2] / "docs"
PANEL = "#mlnb-panel"
PANEL_TAB = '.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="mlnb-panel"]'


@dataclass
class LabPage:
    page: Any
    context: Any
    blocked: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open_panel(self, tab: str = "runs") -> None:
        if not self.page.is_visible(PANEL):
            self.page.click(PANEL_TAB)
        self.page.wait_for_selector(f"{PANEL}[data-project]")
        self.page.click(f'{PANEL} .mlnb-tab[data-tab="{tab}"]')
        self.page.wait_for_selector(f"{PANEL} .mlnb-{tab}:not([data-state='loading'])")

    def close(self) -> None:
        self.context.close()


def open_lab(browser: Any, lab: Lab, path: str = "lab", on_response: Any = None) -> LabPage:
    """A fresh browser context on ``path``; any request that is not to the lab server is refused
    and recorded, so a test can prove a feature works with no network."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    lp = LabPage(page=None, context=context)

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith(lab.url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            lp.blocked.append(url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    lp.page = page
    page.on("dialog", lambda d: (lp.dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: lp.errors.append(str(e)))
    if on_response is not None:
        page.on("response", on_response)
    page.goto(f"{lab.url}{path}?token={lab.token}")
    page.wait_for_selector("#jp-main-dock-panel", timeout=60_000)
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    return lp


def keep_screenshot(png: bytes, name: str, tmp_path: Path) -> None:
    """Keep a screenshot with the test's files; with MLNB_UPDATE_SCREENSHOTS=1 also as docs/<name>."""
    (tmp_path / name).write_bytes(png)
    if os.environ.get("MLNB_UPDATE_SCREENSHOTS"):
        (DOCS / name).write_bytes(png)
