"""Long metric series made short enough to draw, honestly: M4 buckets.

A series is cut into buckets of consecutive points; each bucket keeps its first, last, smallest and
largest point. A line through those points has the same envelope as the full series (every spike
and dip stays, the first and latest values stay), which is what a chart of a few hundred pixels
can show anyway. ``Series`` does it incrementally in bounded memory (the live chart), and
:func:`m4` does it to a finished series (the compare view).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: buckets kept per series: a drawn series has at most 4 points per bucket
BUCKETS = 250


class Series:
    """Points of one metric as they are logged, in at most ``buckets`` M4 buckets (at least half
    as many once the series is longer than that).

    >>> s = Series(buckets=2)
    >>> for i in range(100): s.add(i, float(i % 7))
    >>> s.count, len(s.points()) <= 16
    (100, True)
    """

    __slots__ = ("buckets", "count", "limit", "width", "_last")

    def __init__(self, buckets: int = BUCKETS) -> None:
        self.limit = max(2, buckets)
        self.width = 1  # points per bucket; doubles whenever the buckets reach ``limit``
        self.count = 0
        #: each bucket: [n, first step, first value, last step, last value, min step, min, max step, max]
        self.buckets: list[list[float]] = []
        self._last: list[float] | None = None

    def add(self, step: float, value: float) -> None:
        """Take one point (finite values only: NaN and inf cannot be drawn)."""
        self.count += 1
        b = self._last
        if b is not None and b[0] < self.width:
            b[0] += 1
            b[3] = step
            b[4] = value
            if value < b[6]:
                b[5] = step
                b[6] = value
            elif value > b[8]:
                b[7] = step
                b[8] = value
            return
        b = [1, step, value, step, value, step, value, step, value]
        self.buckets.append(b)
        self._last = b
        if len(self.buckets) > self.limit:
            self._halve()

    def _halve(self) -> None:
        """Merge neighbouring buckets pairwise and double the width (amortised O(1) a point)."""
        merged = []
        for i in range(0, len(self.buckets) - 1, 2):
            a, b = self.buckets[i], self.buckets[i + 1]
            low = a if a[6] <= b[6] else b
            high = a if a[8] >= b[8] else b
            merged.append([a[0] + b[0], a[1], a[2], b[3], b[4], low[5], low[6], high[7], high[8]])
        if len(self.buckets) % 2:
            merged.append(self.buckets[-1])
        self.buckets = merged
        self.width *= 2
        self._last = merged[-1]

    def points(self) -> list[tuple[float, float]]:
        """The kept points in step order within each bucket (first, min/max, last)."""
        out: list[tuple[float, float]] = []
        for _, fs, fv, ls, lv, mins, minv, maxs, maxv in self.buckets:
            _keep(out, (fs, fv), (mins, minv), (maxs, maxv), (ls, lv))
        return out


def _keep(out: list[tuple[float, float]], first: tuple[float, float], low: tuple[float, float],
          high: tuple[float, float], last: tuple[float, float]) -> None:
    """Append one bucket's points to ``out``: first, its min and max in step order, last; once each."""
    for point in (first, *sorted({low, high} - {first, last}), last):
        if not out or out[-1] != point:
            out.append(point)


def m4(steps: Sequence[float], values: Sequence[float | None], buckets: int = BUCKETS) -> tuple[list[float], list[float]]:
    """``(steps, values)`` of a series cut to M4 buckets, non-finite values left out; a series of
    at most ``4 * buckets`` points is returned whole (still without non-finite values).

    >>> m4([0, 1, 2], [1.0, float("nan"), 3.0])
    ([0, 2], [1.0, 3.0])
    """
    finite = [(s, v) for s, v in zip(steps, values) if isinstance(v, (int, float)) and math.isfinite(v)]
    if len(finite) > 4 * buckets:
        width = -(-len(finite) // buckets)
        kept: list[tuple[float, float]] = []
        for lo in range(0, len(finite), width):
            chunk = finite[lo:lo + width]
            _keep(kept, chunk[0], min(chunk, key=_value), max(chunk, key=_value), chunk[-1])
        finite = kept
    return [s for s, _ in finite], [v for _, v in finite]


def _value(point: tuple[float, float]) -> float:
    return point[1]
