"""What changed between two versions, from the summaries stored when they were registered."""

from __future__ import annotations

from typing import Any

from .._display import Table
from .._project import current_project
from ._refs import DataVersion, resolve

_STATS = ("mean", "std", "min", "max", "nulls", "distinct")


class DataDiff(Table):
    """What changed between two versions: shape, columns, dtypes and summary statistics."""

    def __init__(self, a: DataVersion, b: DataVersion) -> None:
        self.a, self.b = a, b
        rows: list[dict[str, Any]] = []

        def change(what: str, column: str, before: Any, after: Any) -> None:
            rows.append({"change": what, "column": column, "before": before, "after": after})

        if a.md5 == b.md5:
            super().__init__([], ["change", "column", "before", "after"], title=f"{a.ref} → {b.ref}",
                             empty="identical content")
            return
        for field in ("rows", "cols", "size", "nfiles"):
            if getattr(a, field) != getattr(b, field):
                change(field, "", getattr(a, field), getattr(b, field))
        sa, sb = a.summary or {}, b.summary or {}
        for col in sa.keys() - sb.keys():
            change("column removed", col, sa[col]["dtype"], None)
        for col in sb.keys() - sa.keys():
            change("column added", col, None, sb[col]["dtype"])
        for col in (c for c in sa if c in sb):
            if sa[col]["dtype"] != sb[col]["dtype"]:
                change("dtype", col, sa[col]["dtype"], sb[col]["dtype"])
            for stat in _STATS:
                x, y = sa[col].get(stat), sb[col].get(stat)
                if x != y and not (x is None and y is None):
                    change(stat, col, x, y)
        if not rows:
            change("content", "", a.md5[:10], b.md5[:10])
        super().__init__(rows, ["change", "column", "before", "after"], title=f"{a.ref} → {b.ref}")


def diff(a: str, b: str) -> DataDiff:
    """Compare two versions: ``mlnb.data.diff("train@1", "train@2")``."""
    project = current_project()
    return DataDiff(resolve(a, project), resolve(b, project))
