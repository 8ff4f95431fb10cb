"""The latest window of a report in plain Python: what ``mlnb monitor check`` evaluates its rules on.

A check only needs, for its latest window, the span, the row count and each metric's value, band,
alert and note. Kept as JSON (:mod:`._cache`), it is read back without numpy or pandas, so a
check of an unchanged log imports neither. Floats round-trip exactly through JSON (``repr``),
NaN included.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

#: the fields kept per metric, as ``Report.to_frame()`` names them
FIELDS = ("value", "lower", "upper", "alert", "note")


@dataclass
class LatestWindow:
    """One window's rows (its report's latest): ``metrics[name]`` holds :data:`FIELDS`."""

    index: int
    start: float | None
    end: float | None
    n: int
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> LatestWindow | None:
        """From a report's rows (``Report.rows``: epoch seconds), the last window's; None for none."""
        if not rows:
            return None
        last = max(int(r["window"]) for r in rows)
        out: LatestWindow | None = None
        for r in rows:
            if int(r["window"]) != last:
                continue
            if out is None:
                out = cls(last, _float(r["start"]), _float(r["end"]), int(r["n"]))
            note = r.get("note")
            out.metrics.setdefault(str(r["metric"]), {
                "value": _float(r["value"]), "lower": _float(r.get("lower")), "upper": _float(r.get("upper")),
                "alert": bool(r.get("alert")) if r.get("alert") is not None else False,
                "note": "" if note is None or note != note else str(note)})
        return out

    @classmethod
    def from_frame(cls, frame: Any) -> LatestWindow | None:
        """From ``Report.to_frame()`` (or any frame with its columns; Timestamps or epoch seconds)."""
        if frame is None or len(frame) == 0:
            return None
        last = frame["window"].max()
        latest = frame[frame["window"] == last]
        first = latest.iloc[0]
        out = cls(int(last), _epoch(first["start"]), _epoch(first["end"]), int(first["n"]))
        for _, row in latest.iterrows():
            alert, note = row.get("alert"), row.get("note")
            out.metrics.setdefault(str(row["metric"]), {
                "value": _float(row["value"]), "lower": _float(row.get("lower")), "upper": _float(row.get("upper")),
                "alert": bool(alert) if alert is not None and alert == alert else False,
                "note": note if isinstance(note, str) else ""})
        return out

    def to_json(self) -> str:
        return json.dumps({"index": self.index, "start": self.start, "end": self.end, "n": self.n,
                           "metrics": self.metrics})

    @classmethod
    def from_json(cls, text: str) -> LatestWindow:
        data = json.loads(text)
        return cls(int(data["index"]), data["start"], data["end"], int(data["n"]), dict(data["metrics"]))


def _float(value: Any) -> float | None:
    """A float (NaN kept: a value that could not be computed), or None for no value at all."""
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _epoch(stamp: Any) -> float | None:
    if stamp is None:
        return None
    if isinstance(stamp, (int, float)):
        return None if isinstance(stamp, float) and math.isnan(stamp) else float(stamp)
    try:
        import pandas as pd

        if pd.isna(stamp):
            return None
        return pd.Timestamp(stamp).timestamp()
    except (TypeError, ValueError):
        return _float(stamp)
