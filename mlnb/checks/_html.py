"""The colour-coded HTML both check results show in notebooks: a headline and a table."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._display import format_value

BAD, GOOD = "#fde0dd", "#e5f5e0"
_HEAD_COLOURS = {True: "#b2182b", False: "#1b7837"}


def coloured_table(headline: str, failed: bool, columns: Sequence[str], rows: Sequence[Mapping[str, Any]],
                   formatters: Mapping[str, Callable[[Any], str]], row_bad: Callable[[Mapping[str, Any]], bool],
                   good_colour: str = "") -> str:
    """Headline in red (``failed``) or green, then rows tinted red when ``row_bad(row)``."""
    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = []
    for r in rows:
        cells = "".join(f"<td>{esc(formatters.get(c, format_value)(r.get(c)))}</td>" for c in columns)
        bg = BAD if row_bad(r) else good_colour
        body.append(f"<tr style='background:{bg}'>{cells}</tr>" if bg else f"<tr>{cells}</tr>")
    return (f"<div class='mlnb-check'><p style='font-weight:bold;color:{_HEAD_COLOURS[failed]}'>{esc(headline)}</p>"
            f"<table class='mlnb-table' style='border-collapse:collapse;font-size:12px'><thead><tr>{head}</tr>"
            f"</thead><tbody>{''.join(body)}</tbody></table></div>")


class HtmlDisplay:
    """Mixin: a notebook mime bundle (text and HTML) for any frontend, from ``_repr_html_``."""

    def _plain_text(self) -> str:
        return repr(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self._plain_text(), "text/html": self._repr_html_()}  # type: ignore[attr-defined]
