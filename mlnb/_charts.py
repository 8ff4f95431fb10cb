"""Notebook display of Altair charts that works offline.

Altair 6 emits Vega-Lite v6; JupyterLab 4.6 renders Vega-Lite only up to v5 and Altair's default
HTML renderer loads vega from a CDN. ``chart_bundle`` returns a mime bundle with the spec under
``application/vnd.vegalite.v6+json`` (rendered by mlnb's labextension) and under the v5 key, which
JupyterLab's built-in renderer draws for the simple specs mlnb makes, plus a text fallback.
"""

from __future__ import annotations

from typing import Any

V5_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
V6_MIME = "application/vnd.vegalite.v6+json"
V5_MIME = "application/vnd.vegalite.v5+json"


def chart_spec(chart: Any) -> dict[str, Any]:
    """The Vega-Lite dict of an Altair chart (or a dict spec, passed through)."""
    return chart if isinstance(chart, dict) else chart.to_dict()


def chart_bundle(chart: Any, text: str = "<chart>") -> dict[str, Any]:
    """A mime bundle that renders ``chart`` in JupyterLab without network access."""
    spec = chart_spec(chart)
    return {V6_MIME: spec, V5_MIME: {**spec, "$schema": V5_SCHEMA}, "text/plain": text}
