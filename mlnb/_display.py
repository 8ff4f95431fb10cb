"""Result objects shared by every area: one protocol for notebooks, terminals and code.

``Table`` (rows of the same keys) and ``Record`` (one object's fields) both offer
``to_dict()`` (JSON-ready), ``to_frame()`` (pandas), ``__str__`` (terminal) and
``_repr_html_`` (notebook). User text is always escaped: a dataset named ``<img onerror=...>``
shows as text.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["Record", "RecordView", "Table", "format_bytes", "format_time", "format_value"]

_CSS = (
    "<style>.mlnb-table{border-collapse:collapse;font-size:12px}"
    ".mlnb-table th,.mlnb-table td{padding:2px 8px;text-align:left;border-bottom:1px solid #ddd}"
    ".mlnb-table caption{text-align:left;font-weight:bold;padding:2px 0}</style>"
)


def format_bytes(n: float | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def format_time(ts: float | None) -> str:
    if ts is None:
        return ""
    return _dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def format_value(value: Any) -> str:
    """A short human form of a cell value."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, default=str, sort_keys=True)
    return str(value)


class _Result:
    title: str = ""

    def to_dict(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), default=str, indent=2, allow_nan=True)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": str(self), "text/html": self._repr_html_()}

    def _repr_html_(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def __repr__(self) -> str:
        return str(self)


class Table(_Result):
    """Rows with the same keys. ``formatters`` map a column to a display function."""

    def __init__(
        self,
        rows: Iterable[Mapping[str, Any]],
        columns: Sequence[str],
        title: str = "",
        formatters: Mapping[str, Any] | None = None,
        empty: str = "(nothing yet)",
    ) -> None:
        self.rows = [dict(r) for r in rows]
        self.columns = list(columns)
        self.title = title
        self.formatters = dict(formatters or {})
        self.empty = empty

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.rows[i]

    def to_dict(self) -> list[dict[str, Any]]:
        return [{c: r.get(c) for c in self.columns} for r in self.rows]

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd

        return pd.DataFrame(self.to_dict(), columns=self.columns)

    def _cells(self) -> list[list[str]]:
        fmt = self.formatters
        return [[fmt.get(c, format_value)(r.get(c)) for c in self.columns] for r in self.rows]

    def __str__(self) -> str:
        head = [self.title] if self.title else []
        if not self.rows:
            return "\n".join([*head, self.empty])
        cells = self._cells()
        widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(self.columns)]
        line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths)).rstrip()  # noqa: E731
        return "\n".join([*head, line(self.columns), line(["-" * w for w in widths]), *map(line, cells)])

    def _repr_html_(self) -> str:
        esc = html.escape
        caption = f"<caption>{esc(self.title)}</caption>" if self.title else ""
        if not self.rows:
            return f"{_CSS}<table class='mlnb-table'>{caption}<tr><td>{esc(self.empty)}</td></tr></table>"
        head = "".join(f"<th>{esc(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in self._cells()
        )
        return f"{_CSS}<table class='mlnb-table'>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Record(_Result):
    """One object's fields, shown as a two-column table."""

    def __init__(self, fields: Mapping[str, Any], title: str = "", formatters: Mapping[str, Any] | None = None) -> None:
        self.fields = dict(fields)
        self.title = title
        self.formatters = dict(formatters or {})

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def __getattr__(self, key: str) -> Any:
        try:
            return self.__dict__["fields"][key]
        except KeyError:
            raise AttributeError(key) from None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.fields)

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd

        return pd.DataFrame([self.fields])

    def _table(self) -> Table:
        fmt = self.formatters
        rows = [{"field": k, "value": fmt.get(k, format_value)(v)} for k, v in self.fields.items()]
        return Table(rows, ["field", "value"], title=self.title)

    def __str__(self) -> str:
        return str(self._table())

    def _repr_html_(self) -> str:
        return self._table()._repr_html_()


class RecordView:
    """A mixin for objects shown as one :class:`Record`: define ``_record()``, get the displays."""

    def _record(self) -> Record:  # pragma: no cover - overridden
        raise NotImplementedError

    def __str__(self) -> str:
        return str(self._record())

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return self._record()._repr_html_()
