"""Guards on the TypeScript sources that a reviewer would otherwise have to remember."""

from __future__ import annotations

import re

from ._lab import ROOT

SRC = ROOT / "labextension" / "src"
HTML_SINKS = re.compile(r"\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write|dangerouslySetInnerHTML)\b")


def test_no_source_assigns_html() -> None:
    """User text reaches the page through textContent only (see src/dom.ts)."""
    files = sorted(SRC.glob("*.ts"))
    assert {"dom.ts", "runs.ts", "rundetail.ts", "models.ts", "modelversion.ts", "modelparts.ts", "vega6.ts",
            "view.ts"} <= {f.name for f in files}  # the scan saw them
    hits = [
        f"{f.name}:{n}"
        for f in files
        for n, line in enumerate(f.read_text().splitlines(), 1)
        if HTML_SINKS.search(line) and not line.lstrip().startswith(("*", "//", "/*"))
    ]
    assert hits == []


def test_vega_is_only_imported_dynamically() -> None:
    """A static import would put vega (800 KiB) into the bundle every JupyterLab page loads."""
    static = re.compile(r"^\s*import\s[^;]*from\s+['\"]vega(-lite|-embed)?['\"]", re.M)
    assert [f.name for f in SRC.glob("*.ts") if static.search(f.read_text())] == []
    assert "import(/* webpackChunkName: \"mlnb-vega\" */ 'vega-embed')" in (SRC / "vega6.ts").read_text()
