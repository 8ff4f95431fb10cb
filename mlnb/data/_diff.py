"""What changed between two versions, from the summaries stored when they were registered.

Rows and columns added or removed, type changes, summary statistics, and the values of category
columns (a renamed category is one value removed and one added). A version registered before
summaries kept category values is summarised again from DVC's local cache when it is there.
"""

from __future__ import annotations

import logging
from typing import Any

from .._display import Table
from .._project import Project, current_project
from ._refs import DataVersion, resolve

logger = logging.getLogger(__name__)

_STATS = ("mean", "std", "min", "max", "nulls", "distinct")
_COLUMNS = ["change", "column", "before", "after"]
#: most category values named one by one per column and direction; the rest are counted
SHOWN_VALUES = 20


class DataDiff(Table):
    """What changed between two versions: shape, columns, dtypes, summary statistics and category values."""

    def __init__(self, a: DataVersion, b: DataVersion, project: Project | None = None) -> None:
        self.a, self.b = a, b
        rows: list[dict[str, Any]] = []

        def change(what: str, column: str, before: Any, after: Any) -> None:
            rows.append({"change": what, "column": column, "before": before, "after": after})

        if a.md5 == b.md5:
            super().__init__([], _COLUMNS, title=f"{a.ref} → {b.ref}", empty="identical content")
            return
        for field in ("rows", "cols", "size", "nfiles"):
            if getattr(a, field) != getattr(b, field):
                change(field, "", getattr(a, field), getattr(b, field))
        sa, sb = _summary(a, project), _summary(b, project)
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
            _values(sa[col], sb[col], col, change)
        if not rows:
            change("content", "", a.md5[:10], b.md5[:10])
        super().__init__(rows, _COLUMNS, title=f"{a.ref} → {b.ref}")


def _values(x: dict[str, Any], y: dict[str, Any], column: str, change: Any) -> None:
    """Category values removed and added, or (past ``MAX_CATEGORIES``) that the set of values changed."""
    vx, vy = x.get("values"), y.get("values")
    if vx is not None and vy is not None:
        for what, here, there in (("category removed", vx, vy), ("category added", vy, vx)):
            gone = [v for v in here if v not in there]
            for value in gone[:SHOWN_VALUES]:
                before, after = (value, None) if what == "category removed" else (None, value)
                change(what, column, before, after)
            if len(gone) > SHOWN_VALUES:
                change(what, column, f"{len(gone) - SHOWN_VALUES} more", None)
        return
    from ._frames import values_digest

    dx, dy = values_digest(x), values_digest(y)
    if dx is not None and dy is not None and dx != dy:
        change("values", column, f"{x.get('distinct')} distinct", f"{y.get('distinct')} distinct (another set)")


def _summary(version: DataVersion, project: Project | None) -> dict[str, Any]:
    """The version's stored summary; summarised again from the local cache when it predates
    category values (never fetched from the remote for that: the stored one is used instead)."""
    stored = version.summary or {}
    if not stored or all("values" in s or "values_md5" in s or "mean" in s for s in stored.values()):
        return stored
    from . import _frames
    from ._storage import _cache_path

    try:
        path = _cache_path(project or current_project(), version.md5)
        if version.is_dir or not path.is_file():
            return stored
        return _frames.summarize(_frames.read_table(path, "." + version.path.rsplit(".", 1)[-1]))
    except (ValueError, OSError):  # unreadable now: the stored summary still says what it can
        logger.debug("could not summarise %s again", version.ref, exc_info=True)
        return stored


def diff(a: str, b: str) -> DataDiff:
    """Compare two versions: ``mlnb.data.diff("train@1", "train@2")``.

    >>> mlnb.data.diff("customers@1", "customers@2")  # doctest: +SKIP
    """
    project = current_project()
    return DataDiff(resolve(a, project), resolve(b, project), project)
