"""Windows of a prediction log: by period (``"1D"``, ``"6h"``) or by row count (``10_000``).

Period windows are aligned on the period counted from the epoch (``"1D"`` windows start at UTC
midnight), as NannyML's period chunker does; row-count windows hold that many rows in log
order (time, then row), the last one possibly fewer. Only the ``time`` column of the log is read
to plan them; each window's other columns are read when that window is computed
(:meth:`LogReader.read`), from the day partitions it covers, so a report never holds more than
one window's columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UsageError

_ROWS = re.compile(r"^\s*\d[\d_,]*\s*(rows?)?\s*$")
DAY = 86_400.0
#: rows per Arrow batch when reading: more than a row group holds, so a file's column comes as one
#: chunk, which becomes numpy / pandas without a copy (the default, 131,072 rows, splits it)
BATCH_ROWS = 1 << 24


@dataclass(frozen=True)
class WindowSpec:
    """A parsed window: ``period`` seconds, or ``rows`` per window."""

    text: str
    period: float | None = None
    rows: int | None = None


def parse_window(spec: Any) -> WindowSpec:
    """``"1D"``, ``"6h"``, ``"30min"``, ``"1W"`` (a period) or ``10_000`` / ``"10000"`` (rows).

    >>> parse_window("6h").period, parse_window(500).rows
    (21600.0, 500)
    """
    import pandas as pd

    if isinstance(spec, bool):
        spec = str(spec)
    if isinstance(spec, (int, np.integer)) or (isinstance(spec, str) and _ROWS.match(spec)):
        rows = int(re.sub(r"[_,\s]|rows?", "", str(spec)))
        if rows < 1:
            raise UsageError(f"window {spec!r}: a row-count window needs at least 1 row")
        return WindowSpec(f"{rows} rows", rows=rows)
    if isinstance(spec, str) and re.search(r"[A-Za-z]", spec):
        try:
            seconds = pd.to_timedelta(spec.strip()).total_seconds()
        except (ValueError, TypeError):
            seconds = 0.0
        if seconds > 0:
            return WindowSpec(spec.strip(), period=float(seconds))
    raise UsageError(f"window {spec!r} does not parse: give a period such as 1D, 6h, 30min, 1W, "
                     "or a row count such as 10000")


@dataclass(frozen=True)
class Window:
    """One window: its position, time span (epoch seconds, ``start <= time < end``), and rows."""

    index: int
    start: float
    end: float
    n: int
    skip: int = 0  # row windows: rows at ``start`` that belong to the window before


class LogReader:
    """One model's prediction log read window by window (pyarrow, by partition and column)."""

    def __init__(self, folder: Path, start: float | None = None, end: float | None = None) -> None:
        self.folder = folder
        self.start, self.end = start, end
        self.files = sorted(folder.glob("date=*/part-*.parquet"))
        self.schema: Any = None
        self.names: list[str] = []
        #: per file, from its footer: (rows, min and max of its times or None when a row group
        #: keeps no statistics, whether no time is null and no row is a shadow answer)
        self._footers: dict[str, tuple[int, float | None, float | None, bool]] = {}
        if self.files:
            import pyarrow as pa
            import pyarrow.parquet as pq

            fields: dict[str, Any] = {}
            for f in self.files:  # a column added later (a new feature) is still seen
                for fld in pq.read_schema(f):
                    fields.setdefault(fld.name, fld)
            self.schema = pa.schema(list(fields.values()))
            self.names = list(fields)

    def _filter(self, start: float | None, end: float | None) -> Any:
        import pyarrow.compute as pc

        where = pc.field("shadow") == False  # noqa: E712 (an expression)
        for bound, op in ((start, pc.greater_equal), (end, pc.less)):
            if bound is not None:
                where = where & op(pc.field("time"), bound)
        return where

    def _files(self, start: float | None, end: float | None) -> list[str]:
        """The files that may hold times in ``[start, end)``: by their day partition (a day's
        margin each side: a time is filed under its day rounded, as pandas rounds it to
        nanoseconds), then by their footers' statistics, which rule a file out exactly."""
        import datetime as dt

        def day(t: float) -> str:
            return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d")

        lo = day(start - DAY) if start is not None else ""
        hi = day(end + DAY) if end is not None else "9999"
        out = []
        for f in (str(f) for f in self.files if lo <= f.parent.name[5:] <= hi):
            _, first, last, _ = self._footer(f)
            if first is None or not ((end is not None and first >= end) or (start is not None and last < start)):
                out.append(f)
        return out

    def table(self, columns: list[str], start: float | None = None, end: float | None = None) -> Any:
        """The log's ``columns`` for ``start <= time < end`` (shadow answers left out)."""
        import pyarrow as pa
        import pyarrow.dataset as pads

        start = self.start if start is None else max(start, self.start) if self.start is not None else start
        end = self.end if end is None else min(end, self.end) if self.end is not None else end
        files = self._files(start, end)
        wanted = [c for c in dict.fromkeys(columns) if c in self.names]
        if not files:
            return pa.table({c: pa.array([], pa.float64()) for c in wanted})
        dataset = pads.dataset(files, format="parquet", schema=self.schema)
        if all(self._inside(f, start, end) for f in files):  # the filter would keep every row
            return dataset.to_table(columns=wanted, batch_size=BATCH_ROWS)
        return dataset.to_table(columns=wanted, filter=self._filter(start, end), batch_size=BATCH_ROWS)

    def _footer(self, file: str) -> tuple[int, float | None, float | None, bool]:
        """``file``'s rows, min and max time (None when a row group keeps no statistics of
        them), and whether no time is null and no row a shadow answer (read once)."""
        if file not in self._footers:
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(file).metadata
            names = meta.schema.names
            lo, hi, plain, known = np.inf, -np.inf, "shadow" in names, "time" in names
            for g in range(meta.num_row_groups if known else 0):
                group = meta.row_group(g)
                t = group.column(names.index("time")).statistics
                sh = group.column(names.index("shadow")).statistics if "shadow" in names else None
                if t is None or not t.has_min_max:
                    known = plain = False
                    break
                lo, hi = min(lo, float(t.min)), max(hi, float(t.max))
                plain = plain and not t.null_count and sh is not None and sh.has_min_max and not sh.null_count \
                    and not bool(sh.max)
            self._footers[file] = (meta.num_rows, lo if known else None, hi if known else None, plain)
        return self._footers[file]

    def _inside(self, file: str, start: float | None, end: float | None) -> bool:
        """Whether every row of ``file`` is in ``[start, end)`` and not a shadow answer, by the
        statistics its row groups keep (then reading needs no filter, which would copy every
        column). False when a statistic is missing."""
        _, lo, hi, plain = self._footer(file)
        return plain and lo is not None and (start is None or lo >= start) and (end is None or hi < end)

    def plan(self, spec: WindowSpec) -> list[Window]:
        """The windows of the log (reads only ``time``, and for period windows only that of the
        files whose footer does not show them inside one period)."""
        if spec.period is not None:
            return self._plan_periods(spec.period)
        times = self.table(["time"]).column("time").to_numpy()
        if not len(times):
            return []
        t = np.sort(times, kind="stable")
        out = []
        k = spec.rows or 1
        for i, lo in enumerate(range(0, len(t), k)):
            hi = min(lo + k, len(t))
            skip = lo - int(np.searchsorted(t, t[lo], "left"))
            out.append(Window(i, float(t[lo]), float(np.nextafter(t[hi - 1], np.inf)), hi - lo, skip))
        return out

    def _plan_periods(self, p: float) -> list[Window]:
        """Period windows: a file whose footer shows every row kept and its times (min, max) in one
        period counts its rows there without being read; the other files' times are read."""
        whole: dict[float, int] = {}  # period (floor(time / p)) -> rows of the files wholly in it
        lows, read = [], []
        for f in self._files(self.start, self.end):
            rows, lo, hi, _ = self._footer(f)
            if self._inside(f, self.start, self.end) and np.floor(lo / p) == np.floor(hi / p):
                whole[float(np.floor(lo / p))] = whole.get(float(np.floor(lo / p)), 0) + rows
                lows.append(lo)
            else:
                read.append(f)
        times = np.empty(0)
        if read:
            import pyarrow.dataset as pads

            table = pads.dataset(read, format="parquet", schema=self.schema).to_table(
                columns=["time"], filter=self._filter(self.start, self.end), batch_size=BATCH_ROWS)
            times = table.column("time").to_numpy()
        if not len(times) and not whole:
            return []
        first = np.floor(min([*lows, *([times.min()] if len(times) else [])]) / p)
        counts = np.bincount((np.floor(times / p) - first).astype(np.int64),
                             minlength=int(max(whole, default=first) - first) + 1)
        for k, n in whole.items():
            counts[int(k - first)] += n
        return [Window(i, (first + i) * p, (first + i + 1) * p, int(c)) for i, c in enumerate(counts)]

    def read(self, window: Window, columns: list[str], row_windows: bool) -> WindowFrame:
        """One window's columns (row windows: exactly its rows, in log order), kept in Arrow."""
        import pyarrow.compute as pc

        want = list(dict.fromkeys(["time", *(["row"] if row_windows and "row" in self.names else []), *columns]))
        table = self.table(want, window.start, window.end)
        if row_windows:
            keys = [(c, "ascending") for c in ("time", "row") if c in table.column_names]
            table = table.take(pc.sort_indices(table, sort_keys=keys)).slice(window.skip, window.n)
        return WindowFrame(table)


class WindowFrame:
    """One window's columns: each as numpy (``frame[name]``), as Arrow (:meth:`arrow`), or a
    selection of them as a DataFrame (:meth:`pandas`); converted on first use, once."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.columns: list[str] = list(table.column_names)
        self._numpy: dict[str, np.ndarray] = {}
        self._derived: dict[str, Any] = {}

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._numpy:
            self._numpy[name] = self.table.column(name).to_numpy(zero_copy_only=False)
        return self._numpy[name]

    def arrow(self, name: str) -> Any:
        return self.table.column(name)

    def derived(self, key: str, make: Any) -> Any:
        """``make()``, computed once per frame and kept under ``key`` (e.g. an order of a column
        that two metrics use)."""
        if key not in self._derived:
            self._derived[key] = make()
        return self._derived[key]

    def pandas(self, columns: list[str], prefix: str = "") -> Any:
        """``columns`` as a DataFrame (its blocks not consolidated: no copy where Arrow needs
        none), named without ``prefix``."""
        frame = self.table.select(columns).to_pandas(split_blocks=True)
        frame.columns = [c[len(prefix):] if prefix and c.startswith(prefix) else c for c in columns]
        return frame
