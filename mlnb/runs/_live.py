"""Live metric charts: a run started in a Jupyter kernel draws its series in the cell as they are
logged, with no server and no thread.

Each ``log_metric`` hands its point to :meth:`LiveChart.add`: an append into the metric's M4
buckets (:mod:`._downsample`, bounded memory) and a clock check. At most once every
``INTERVAL`` seconds the check redraws: the chart's output (an IPython display handle) is updated
in place with a Vega-Lite spec of every series. Outside a kernel no chart is attached and
``log_metric`` pays one ``is None`` test. Set ``MLNB_LIVE=0`` to turn live charts off.

When the run ends the chart is drawn a last time, with its static SVG (``chart_bundle``), so the
saved notebook keeps it. If the run ends in the cell that drew it, the live output is emptied and
the final chart displayed after it: the cell's saved outputs are then what a fresh execution
shows first (a display, not an update), which keeps the notebook testable with nbval. A run that
ends in a later cell updates its chart in place.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Any

from ._downsample import Series

logger = logging.getLogger(__name__)

#: seconds between two redraws of a live chart
INTERVAL = 1.0
V6_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
#: series with at most this many drawn points also show a dot per point
DOTS = 60
#: the live output's first and last content when the run ends in its cell
EMPTY = {"text/plain": ""}
#: output metadata marking a live chart, so that what compares a cell's printed text (``mlnb export
#: --check``) leaves it out: a script run outside a kernel draws none
METADATA = {"mlnb": {"live_chart": True}}


def watching() -> bool:
    """Whether a live chart can be seen: a Jupyter kernel runs this code, and MLNB_LIVE is not 0."""
    if os.environ.get("MLNB_LIVE", "1").strip() in ("0", "false", "no", "off"):
        return False
    module = sys.modules.get("IPython")
    shell = module.get_ipython() if module else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def attach(run_name: str, force: bool = False) -> LiveChart | None:
    """A live chart for a run named ``run_name`` when :func:`watching` (or ``force``), else None."""
    return LiveChart(run_name) if force or watching() else None


class LiveChart:
    """The metric series of one run, drawn into one notebook output while the run lasts."""

    def __init__(self, run_name: str, interval: float = INTERVAL) -> None:
        self.run_name = run_name
        self.interval = interval
        self.series: dict[str, Series] = {}
        self.skipped = 0  # NaN / inf points: stored by the run, not drawable
        self._lock = threading.Lock()
        self._due = 0.0  # monotonic time of the next redraw; the first point draws at once
        self._handle: Any = None
        self._cell: Any = None  # the execution count of the cell that shows the chart
        self._broken = False

    def add(self, key: str, step: int, value: float) -> None:
        """Take one logged point; redraw when the last redraw is ``interval`` old. Never raises."""
        with self._lock:
            series = self.series.get(key)
            if series is None:
                series = self.series[key] = Series()
            if value - value == 0:  # finite (NaN and inf give NaN here)
                series.add(step, value)
            else:
                self.skipped += 1
            if time.monotonic() < self._due or self._broken:
                return
            self._due = time.monotonic() + self.interval
        self._guarded(self._draw)

    def finish(self) -> None:
        """The last drawing, with the static image, when the run ends. Never raises."""
        if self._handle is not None:
            self._guarded(self._final)

    def _guarded(self, fn: Any) -> None:
        try:
            fn()
        except Exception:  # a chart must never break the user's training loop
            self._broken = True
            logger.debug("the live chart of run %s stopped", self.run_name, exc_info=True)

    def spec(self) -> dict[str, Any]:
        """The Vega-Lite spec of every series so far: one panel per metric, independent axes."""
        with self._lock:
            drawn = {key: s.points() for key, s in self.series.items()}
            counts = {key: s.count for key, s in self.series.items()}
            thinned = any(s.width > 1 for s in self.series.values())
        values = [{"metric": key, "step": step, "value": value}
                  for key, points in drawn.items() for step, value in points]
        dots = bool(drawn) and max(len(p) for p in drawn.values()) <= DOTS
        return {
            "$schema": V6_SCHEMA,
            "title": {"text": self.run_name, "subtitle": _subtitle(counts, thinned)},
            "data": {"values": values},
            "facet": {"field": "metric", "type": "nominal", "title": None, "sort": list(drawn)},
            "columns": 3,
            "spec": {
                "width": 220, "height": 140,
                "mark": {"type": "line", "point": dots, "tooltip": True},
                "encoding": {
                    "x": {"field": "step", "type": "quantitative"},
                    "y": {"field": "value", "type": "quantitative", "title": None, "scale": {"zero": False}},
                },
            },
            "resolve": {"scale": {"x": "independent", "y": "independent"}},
        }

    def _text(self) -> str:
        with self._lock:
            n = sum(s.count for s in self.series.values())
        return f"<live chart of run {self.run_name}: {len(self.series)} metric(s), {n:,} point(s)>"

    def _live_bundle(self) -> dict[str, Any]:
        from .._charts import V5_MIME, V5_SCHEMA, V6_MIME

        spec = self.spec()
        return {V6_MIME: spec, V5_MIME: {**spec, "$schema": V5_SCHEMA}, "text/plain": self._text()}

    def _draw(self) -> None:
        from IPython.display import display

        bundle = self._live_bundle()
        if self._handle is None:  # an empty first output: what the cell shows once the run ends
            self._cell = _execution_count()
            self._handle = display(EMPTY, raw=True, display_id=True, metadata=METADATA)
        self._handle.update(bundle, raw=True, metadata=METADATA)

    def _final(self) -> None:
        from IPython.display import display

        from .._charts import chart_bundle

        bundle = chart_bundle(self.spec(), text=self._text())
        if _execution_count() == self._cell:
            self._handle.update(EMPTY, raw=True, metadata=METADATA)  # back to what the cell first showed, for nbval
            display(bundle, raw=True, metadata=METADATA)
        else:
            self._handle.update(bundle, raw=True, metadata=METADATA)


def _subtitle(counts: dict[str, int], thinned: bool) -> str:
    total = sum(counts.values())
    return f"{total:,} point{'s' if total != 1 else ''} logged" + (
        " (long series drawn as first/min/max/last per bucket)" if thinned else "")


def _execution_count() -> Any:
    module = sys.modules.get("IPython")
    shell = module.get_ipython() if module else None
    return getattr(shell, "execution_count", None)
