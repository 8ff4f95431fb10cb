"""Charts in notebooks: valid nbformat when saved, drawn offline by the v6 renderer in JupyterLab."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from mlnb.checks.charts import SIDES
from mlnb._charts import SVG_MIME, V5_MIME, V6_MIME, altair_renderer, chart_bundle

from ._browser import keep_screenshot, open_lab
from ._lab import Lab, run_python

SVG = "http://www.w3.org/2000/svg"


# Executed in a real kernel: the user's own Altair chart through mlnb's renderer, then a chart
# mlnb itself displays.
MAKE_NOTEBOOK = '''
import nbformat, nbclient
cells = [
    """import altair as alt, pandas as pd, mlnb
mlnb.enable_altair_renderer()
alt.Chart(pd.DataFrame({"fruit": ["apple", "pear", "plum"], "n": [3, 1, 2]}), title="user chart").mark_bar().encode(x="fruit", y="n")""",
    """from IPython.display import display
from mlnb._charts import chart_bundle
spec = {"data": {"values": [{"t": i, "v": (i * 7) % 5} for i in range(12)]}, "mark": "line",
        "encoding": {"x": {"field": "t", "type": "quantitative"}, "y": {"field": "v", "type": "quantitative"}},
        "title": "mlnb chart"}
display(chart_bundle(spec, text="<mlnb line chart>"), raw=True)""",
    """import numpy as np
rng = np.random.default_rng(0)
def frame(shift, n=4000):
    d = {f"num{i}": rng.normal(1000 + shift * (i % 3), 1, n) for i in range(14)}
    d.update({f"cat{i}": rng.choice(list("abcde"), n, p=[.2] * 5 if shift else [.4, .3, .1, .1, .1]) for i in range(5)})
    d["when"] = pd.date_range("2026-01-01", periods=n, freq="h") + pd.Timedelta(days=30 * shift)
    return pd.DataFrame(d)
mlnb.checks.drift(frame(0), frame(1))""",
]
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
nbformat.write(nb, "charts.ipynb")
'''


@pytest.fixture(scope="module")
def chart_notebook(lab: Lab) -> Path:
    run_python(MAKE_NOTEBOOK, lab.root, lab.env)
    return lab.root / "charts.ipynb"


def test_bundle_carries_v6_and_a_v5_fallback() -> None:
    spec = {"mark": "point", "data": {"values": [{"a": 1}]}, "$schema": "https://vega.github.io/schema/vega-lite/v6.4.1.json"}
    bundle = chart_bundle(spec)
    assert bundle[V6_MIME]["$schema"].endswith("v6.4.1.json")
    assert bundle[V5_MIME]["$schema"].endswith("/v5.json")
    assert bundle[V5_MIME]["mark"] == "point"
    assert V5_MIME not in chart_bundle(spec, v5_fallback=False)


def test_renderer_passes_embed_options_as_metadata() -> None:
    bundle, metadata = altair_renderer({"mark": "bar"}, embed_options={"actions": False})
    assert metadata == {V6_MIME: {"embed_options": {"actions": False}}}
    assert "bar chart" in bundle["text/plain"]


def test_executed_notebook_is_valid_nbformat_with_v6_outputs(chart_notebook: Path) -> None:
    nb = nbformat.read(chart_notebook, as_version=4)
    nbformat.validate(nb)
    outputs = [o for cell in nb.cells[:2] for o in cell.outputs if o.output_type in ("execute_result", "display_data")]
    assert len(outputs) == 2
    for out in outputs:
        assert set(out.data) == {V6_MIME, V5_MIME, SVG_MIME, "text/plain"}
        assert out.data[V5_MIME]["$schema"] == "https://vega.github.io/schema/vega-lite/v5.json"
    # Altair's own spec keeps its v6 schema under the v6 key
    assert outputs[0].data[V6_MIME]["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6")
    assert not any(key.endswith(".json") and not key.endswith("+json") for o in outputs for key in o.data)


def _svg(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == f"{{{SVG}}}svg" and float(root.get("width", 0)) > 100 and float(root.get("height", 0)) > 50
    return root


def _bars(root: ET.Element, opaque_fill: tuple[str, ...] = ()) -> list[tuple[float, float]]:
    """(width, height) of each bar drawn as an SVG path ``M x,y h W v H h -W Z`` (only those filled
    fully with one of ``opaque_fill``, when given)."""
    out = []
    for p in root.iter(f"{{{SVG}}}path"):
        m = re.fullmatch(r"M[-\d.]+,[-\d.]+h([-\d.]+)v([-\d.]+)h[-\d.]+Z", p.get("d", ""))
        if m and (not opaque_fill or (p.get("fill") in opaque_fill and p.get("opacity") is None)):
            out.append((float(m.group(1)), float(m.group(2))))
    return out


def test_static_images_read_back_from_the_saved_notebook(chart_notebook: Path) -> None:
    """What GitHub, nbviewer and VS Code show: each chart's static SVG, read from the saved file
    with no JupyterLab — the user's bars, mlnb's line, and a 20-column drift report whose
    categorical bars have width, whose numeric axes fit the data (not zero) and whose datetime
    column is on a time axis; the drift cell stays within its 300 KB budget."""
    nb = nbformat.read(chart_notebook, as_version=4)
    user, line, drift = ([o for o in cell.outputs if SVG_MIME in o.get("data", {})] for cell in nb.cells)
    user_bars = [b for b in _bars(_svg(user[0].data[SVG_MIME])) if b[1] > 0]
    assert len(user_bars) >= 3 and all(w > 10 for w, _ in user_bars)
    assert ["mlnb chart"] == [t.text for t in _svg(line[0].data[SVG_MIME]).iter(f"{{{SVG}}}text") if t.text == "mlnb chart"]

    root = _svg(drift[0].data[SVG_MIME])
    texts = [t.text for t in root.iter(f"{{{SVG}}}text") if t.text]
    assert {"cat0", "num0", "when"} <= set(texts)
    assert "1,000" in texts or "1000" in texts or any(t.startswith("1,00") or t.startswith("1.00") for t in texts)
    assert "0" not in texts[texts.index("num0"):]  # histogram axes near 1,000 do not start at zero
    assert "2026" in texts and "April" in texts  # the datetime column on a time axis
    categorical = _bars(root, opaque_fill=tuple(SIDES.values()))  # histograms are half transparent
    assert len(categorical) == 5 * 5 * 2  # 5 columns x 5 categories x reference and current
    assert min(w for w, _ in categorical) > 5, "categorical bars drawn as hairlines"
    size = sum(len(json.dumps(o)) for o in nb.cells[2].outputs)
    assert size <= 300_000, f"the drift report's outputs are {size:,} bytes"


@pytest.mark.browser
def test_saved_chart_notebook_renders_offline(chromium, lab: Lab, chart_notebook: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lp = open_lab(chromium, lab, f"lab/workspaces/charts/tree/{chart_notebook.name}")
    try:
        page = lp.page
        charts = page.locator(".mlnb-vega6[data-state='rendered']")
        charts.nth(2).wait_for(timeout=60_000)
        assert charts.count() == 3
        assert page.locator(".jp-RenderedSVG").count() == 0  # the static fallbacks are not what JupyterLab shows
        # drawn as SVG (the renderer's setting), each with its title and one mark per datum
        user, own = charts.nth(0), charts.nth(1)
        assert user.locator(".role-title-text").all_text_contents() == ["user chart"]
        assert user.locator(".mark-rect path").count() == 3  # apple, pear, plum
        assert user.locator(".role-axis-label text").all_text_contents()[:3] == ["apple", "pear", "plum"]
        assert own.locator(".role-title-text").all_text_contents() == ["mlnb chart"]
        assert own.locator(".mark-line path").count() == 1  # one line through the 12 points
        box = user.locator("svg").first.bounding_box()
        assert box and box["width"] > 50 and box["height"] > 50
        keep_screenshot(page.screenshot(), "charts.png", tmp_path)
        assert lp.errors == []
        assert lp.blocked == [], f"the page tried to reach the network: {lp.blocked}"
        # saved again by JupyterLab, the notebook is still valid and keeps its chart outputs
        stamp = chart_notebook.stat().st_mtime_ns
        page.locator(".jp-NotebookPanel .jp-Cell").first.click()
        page.keyboard.press("Control+s")
        saved = None
        for _ in range(200):  # the new file may still be being written when its time changes
            if chart_notebook.stat().st_mtime_ns != stamp:
                try:
                    saved = nbformat.read(chart_notebook, as_version=4)
                    break
                except (ValueError, nbformat.reader.NotJSONError):
                    pass
            page.wait_for_timeout(100)
        assert saved is not None, "JupyterLab did not save the notebook (or left it unreadable)"
        nbformat.validate(saved)
        assert sum(V6_MIME in o.get("data", {}) for c in saved.cells for o in c.outputs) == 3
    finally:
        lp.close()


@pytest.mark.browser
def test_saved_drift_report_opens_offline(chromium, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd

    import mlnb
    from mlnb._charts import VENDOR

    assert (VENDOR / "vega-embed.min.js").is_file(), "the labextension build did not copy Vega into mlnb/_vendor"
    rng = np.random.default_rng(0)

    def frame(shift: int, n: int = 5000) -> pd.DataFrame:
        return pd.DataFrame({
            "age": rng.normal(40 + 5 * shift, 9, n), "monthly_spend": rng.lognormal(3 + 0.2 * shift, 0.5, n),
            "tenure_days": rng.integers(30, 2000, n), "customer_id": np.arange(n) + shift * n,
            "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2] if shift else [0.6, 0.3, 0.1]),
            "region": rng.choice(["north", "south", "east", "west"], n),
            "signup": pd.date_range("2026-01-01", periods=n, freq="h") + pd.Timedelta(days=20 * shift)})

    ref, cur = frame(0), frame(1)
    page_file = mlnb.checks.drift(ref, cur).save_html(tmp_path / "report.html")
    text = page_file.read_text()
    assert "<script src=" not in text and "cdn.jsdelivr" not in text
    context = chromium.new_context()
    blocked: list[str] = []
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:", "blob:"))
                  else (blocked.append(route.request.url), route.abort()))
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_file.as_uri())
        page.wait_for_selector("#chart svg .mark-rect", timeout=30_000)
        assert page.locator("#chart svg").first.bounding_box()["width"] > 200  # type: ignore[index]
        assert "DRIFT DETECTED" in page.inner_text("body")
        keep_screenshot(page.screenshot(full_page=True), "drift-report.png", tmp_path)
        assert errors == [] and blocked == []
    finally:
        context.close()
