"""Notebook display of Altair charts that works offline, and stays valid nbformat.

Altair 6 emits Vega-Lite v6. JupyterLab 4.6 renders Vega-Lite only up to v5; Altair's default
HTML renderer loads vega from a CDN (blank offline and in untrusted notebooks); and Altair 6.3's
``mimetype`` renderer writes the key ``application/vnd.vegalite.v6.json``, which nbformat rejects.

``chart_bundle`` returns a mime bundle with the spec under ``application/vnd.vegalite.v6+json``
(drawn by mlnb's labextension, no network), the same spec under the v5 key with its ``$schema``
rewritten (JupyterLab's built-in renderer draws it where mlnb's extension is missing; fine for
the simple specs mlnb makes), a static SVG of the chart (``image/svg+xml``, drawn by
vl-convert where it is installed, the ``charts`` extra) for GitHub, nbviewer, VS Code and HTML
exports, which render no Vega-Lite, and a ``text/plain`` line for terminals. JupyterLab keeps
the interactive chart: its Vega renderers rank ahead of its SVG renderer.

``enable_altair_renderer()`` makes the user's own Altair charts display the same way:

>>> import altair as alt, mlnb                        # doctest: +SKIP
>>> mlnb.enable_altair_renderer()                     # doctest: +SKIP
>>> alt.Chart(df).mark_bar().encode(x="a", y="b")     # doctest: +SKIP
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("mlnb")

V5_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
V6_MIME = "application/vnd.vegalite.v6+json"
V5_MIME = "application/vnd.vegalite.v5+json"
RENDERER_NAME = "mlnb"
SVG_MIME = "image/svg+xml"
#: the largest static image kept in a bundle (bytes); a bigger one (a line of 10^5 points as an
#: SVG path) is left out rather than bloat the notebook: the interactive chart still shows
STATIC_BUDGET = 200_000


def chart_spec(chart: Any) -> dict[str, Any]:
    """The Vega-Lite dict of an Altair chart (or a dict spec, passed through)."""
    return chart if isinstance(chart, dict) else chart.to_dict()


def chart_bundle(chart: Any, text: str = "<chart>", v5_fallback: bool = True) -> dict[str, Any]:
    """A mime bundle that renders ``chart`` in JupyterLab without network access.

    >>> chart_bundle({"mark": "bar", "data": {"values": []}})["text/plain"]
    '<chart>'
    """
    spec = chart_spec(chart)
    bundle: dict[str, Any] = {V6_MIME: spec, "text/plain": text}
    if v5_fallback:
        bundle[V5_MIME] = {**spec, "$schema": V5_SCHEMA}
    svg = static_svg(spec)
    if svg is not None:
        bundle[SVG_MIME] = svg
    return bundle


def static_svg(spec: dict[str, Any]) -> str | None:
    """The chart drawn as SVG by vl-convert (no browser, no network), or None where vl-convert is
    not installed, cannot draw the spec, or the image would exceed :data:`STATIC_BUDGET`."""
    try:
        import vl_convert
    except ImportError:
        return None
    try:  # no ARIA labels: a static picture has no screen-reader tooltips, and they double its size
        svg = vl_convert.vegalite_to_svg({**spec, "config": {**spec.get("config", {}), "aria": False}})
    except Exception:  # a spec vl-convert cannot draw keeps its interactive chart only
        log.debug("vl-convert could not draw a chart", exc_info=True)
        return None
    svg = _GEOMETRY.sub(lambda m: m.group(1) + _DECIMALS.sub(r"\1", m.group(2)) + '"', svg)
    return svg if len(svg.encode()) <= STATIC_BUDGET else None


#: geometry attributes, whose coordinates need no more than a tenth of a pixel (text is untouched)
_GEOMETRY = re.compile(r'( (?:d|transform|x|y|x1|y1|x2|y2|width|height)=")([^"]*)"')
_DECIMALS = re.compile(r"(\d\.\d)\d+")


def warm_static_renderer() -> None:
    """Start vl-convert's JavaScript runtime in a background thread (its first drawing takes
    ~0.7 s; later ones ~30 ms), so the first chart a notebook shows does not wait for it."""
    import importlib.util
    import threading

    if importlib.util.find_spec("vl_convert") is not None:
        threading.Thread(target=static_svg, args=({"mark": "point", "data": {"values": []}},),
                         name="mlnb-warm-vl-convert", daemon=True).start()


#: Vega's standalone scripts, copied here by the labextension build (``jlpm build:vendor``)
VENDOR = Path(__file__).resolve().parent / "_vendor"
_SCRIPTS = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js")
_CDN = ("https://cdn.jsdelivr.net/npm/vega@6", "https://cdn.jsdelivr.net/npm/vega-lite@6",
        "https://cdn.jsdelivr.net/npm/vega-embed@7")


def standalone_page(title: str, body_html: str, chart: Any) -> str:
    """A self-contained HTML page: ``body_html`` then ``chart``, drawn by Vega inlined in the page
    (about 0.8 MB), so it opens with no network. Only where the scripts were not built (a source
    tree without ``jlpm build``) does the page load them from jsDelivr instead, and says so.

    >>> "<svg" in standalone_page("t", "<p>hi</p>", {"mark": "bar"})  # rendered when opened  # doctest: +SKIP
    """
    import html
    import json

    spec = json.dumps(chart_spec(chart)).replace("</", "<\\/")
    if all((VENDOR / name).is_file() for name in _SCRIPTS):
        scripts = "".join("<script>" + (VENDOR / name).read_text(encoding="utf-8").replace("</script", "<\\/script")
                          + "</script>" for name in _SCRIPTS)
    else:
        scripts = ("<!-- Vega was not built into this mlnb (jlpm build:vendor): loaded from jsDelivr -->"
                   + "".join(f"<script src='{url}'></script>" for url in _CDN))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>{scripts}"
            f"</head><body>{body_html}<div id='chart'></div>"
            f"<script type='application/json' id='spec'>{spec}</script>"
            "<script>vegaEmbed('#chart', JSON.parse(document.getElementById('spec').textContent),"
            " {renderer: 'svg', actions: false});</script></body></html>")


def altair_renderer(spec: dict[str, Any], **options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """An Altair renderer (``alt.renderers.enable("mlnb")``) emitting :func:`chart_bundle`.

    ``options`` (e.g. ``embed_options={"actions": False}``) travel as output metadata, which the
    labextension passes to vega-embed.
    """
    bundle = chart_bundle(spec, text=_describe(spec))
    metadata = {V6_MIME: options} if options else {}
    return bundle, metadata


def enable_altair_renderer(**options: Any) -> None:
    """Display every Altair chart through mlnb's offline renderer in this kernel.

    >>> mlnb.enable_altair_renderer(embed_options={"actions": False})  # doctest: +SKIP
    """
    import altair as alt

    if RENDERER_NAME not in alt.renderers.names():
        alt.renderers.register(RENDERER_NAME, altair_renderer)
    alt.renderers.enable(RENDERER_NAME, **options)


def _describe(spec: dict[str, Any]) -> str:
    mark = spec.get("mark")
    kind = mark.get("type") if isinstance(mark, dict) else mark
    layout = next((k for k in ("layer", "hconcat", "vconcat", "concat", "facet", "repeat") if k in spec), None)
    what = f"{kind} chart" if kind else f"{layout} chart" if layout else "chart"
    return f"<Altair {what}: shown by mlnb's JupyterLab extension>"
