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


def widen_panel(page: Any, x: int = 470) -> None:
    """Drag the side panel's edge to ``x`` pixels, as a user widens it to read a table."""
    handle = next(h for h in page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").all() if h.bounding_box())
    box = handle.bounding_box()
    page.mouse.move(box["x"] + 1, 300)
    page.mouse.down()
    page.mouse.move(x, 300, steps=5)
    page.mouse.up()


def keep_screenshot(png: bytes, name: str, tmp_path: Path) -> None:
    """Keep a screenshot with the test's files; with MLNB_UPDATE_SCREENSHOTS=1 also as docs/<name>."""
    (tmp_path / name).write_bytes(png)
    if os.environ.get("MLNB_UPDATE_SCREENSHOTS"):
        (DOCS / name).write_bytes(png)


#: Decodes a PNG in the page (an off-page canvas: the page itself is not touched) and, per box,
#: counts its pixels, the most common colour (the background) and the pixels of any other colour.
_REGIONS_JS = """async ([b64, boxes]) => {
  const img = new Image();
  img.src = "data:image/png;base64," + b64;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  return boxes.map(([x, y, w, h]) => {
    const data = ctx.getImageData(x, y, w, h).data;
    const counts = new Map();
    for (let i = 0; i < data.length; i += 4) {
      const key = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
      counts.set(key, (counts.get(key) || 0) + 1);
    }
    const background = Math.max(...counts.values());
    return {pixels: data.length / 4, ink: data.length / 4 - background, colours: counts.size};
  });
}"""


def png_regions(page: Any, png: bytes, boxes: list[tuple[int, int, int, int]]) -> list[dict[str, int]]:
    """Per ``(x, y, width, height)`` box of the image ``png``: ``pixels``, ``ink`` (pixels not of
    the box's most common colour) and ``colours`` (distinct colours): whether text was drawn there."""
    import base64

    return page.evaluate(_REGIONS_JS, [base64.b64encode(png).decode(), [list(b) for b in boxes]])


#: Draws PNGs side by side, tops aligned, on a white canvas (off the page) and returns the result.
_SIDE_BY_SIDE_JS = """async ([images, gap]) => {
  const loaded = await Promise.all(images.map(async b64 => {
    const img = new Image();
    img.src = "data:image/png;base64," + b64;
    await img.decode();
    return img;
  }));
  const canvas = document.createElement("canvas");
  canvas.width = loaded.reduce((w, img) => w + img.width, 0) + gap * (loaded.length - 1);
  canvas.height = Math.max(...loaded.map(img => img.height));
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  let x = 0;
  for (const img of loaded) {
    ctx.drawImage(img, x, 0);
    x += img.width + gap;
  }
  return canvas.toDataURL("image/png").split(",")[1];
}"""


def side_by_side(page: Any, pngs: list[bytes], gap: int = 16) -> bytes:
    """One PNG holding ``pngs`` left to right (several states of the panel in one picture)."""
    import base64

    encoded = [base64.b64encode(png).decode() for png in pngs]
    return base64.b64decode(page.evaluate(_SIDE_BY_SIDE_JS, [encoded, gap]))
