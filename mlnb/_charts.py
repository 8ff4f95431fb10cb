"""Notebook display of Altair charts that works offline, and stays valid nbformat.

Altair 6 emits Vega-Lite v6. JupyterLab 4.6 renders Vega-Lite only up to v5; Altair's default
HTML renderer loads vega from a CDN (blank offline and in untrusted notebooks); and Altair 6.3's
``mimetype`` renderer writes the key ``application/vnd.vegalite.v6.json``, which nbformat rejects.

``chart_bundle`` returns a mime bundle with the spec under ``application/vnd.vegalite.v6+json``
(drawn by mlnb's labextension, no network), the same spec under the v5 key with its ``$schema``
rewritten (JupyterLab's built-in renderer draws it where mlnb's extension is missing; fine for
the simple specs mlnb makes), and a ``text/plain`` line for terminals.

``enable_altair_renderer()`` makes the user's own Altair charts display the same way:

>>> import altair as alt, mlnb                        # doctest: +SKIP
>>> mlnb.enable_altair_renderer()                     # doctest: +SKIP
>>> alt.Chart(df).mark_bar().encode(x="a", y="b")     # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

V5_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
V6_MIME = "application/vnd.vegalite.v6+json"
V5_MIME = "application/vnd.vegalite.v5+json"
RENDERER_NAME = "mlnb"


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
    return bundle


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
