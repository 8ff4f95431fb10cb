"""Column summaries built batch by batch, for data larger than memory, and merged across batches.

Merging is exact for counts (rows, missing, infinite, category counts), for mean and standard
deviation (Chan's parallel update) and for minimum and maximum. A numeric column keeps its values
exactly up to ``sample_size`` of them (then every statistic is exact, as for a DataFrame) and, in
any case, a mergeable fine histogram (:class:`~.stats.sketch.Sketch`): beyond ``sample_size``
values the values are dropped and KS, Wasserstein and PSI come from the histograms, with error
bounds the report states. Memory per column is bounded by ``sample_size`` values plus the
histogram (about 100,000 bins at most for usual data, 16 bytes each).
"""

from __future__ import annotations

import gc
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ._columns import CATEGORICAL, NUMERIC, ColumnData, as_text, column_data, compared_as_text, kind_of
from ._parallel import map_columns
from .stats.sketch import Binned, Sketch

#: numeric values kept exactly per column (beyond, the histogram alone)
DEFAULT_SAMPLE = 1 << 18
DEFAULT_BATCH = 262_144
#: record batches read ahead of the one being summarised
AHEAD = 3
#: bytes read at a time from a column chunk (pyarrow's buffered stream; measured no slower than
#: reading whole column chunks, which holds every column's chunk of a row group in memory)
READ_BUFFER = 1 << 20


@dataclass
class Accumulator:
    """Mergeable summary of one column."""

    name: str
    kind: str
    sample_size: int
    n_rows: int = 0
    n_missing: int = 0
    n_inf: int = 0
    n: int = 0  # finite values seen
    mean: float = 0.0
    m2: float = 0.0
    parts: list[np.ndarray] | None = field(default_factory=list)  # the values, while at most sample_size
    sketch: Sketch | None = None
    counts: dict[Any, int] = field(default_factory=dict)
    notes: set[str] = field(default_factory=set)

    def add(self, data: ColumnData, grid: Sketch | None = None) -> None:
        """Count one batch's column in place; ``grid`` is the histogram grid to use (else the batch's own)."""
        self.n_rows += data.n_rows
        self.n_missing += data.n_missing
        self.n_inf += data.n_inf
        self.notes.update(n for n in data.notes if "infinite" not in n)
        if data.counts is not None:
            self._merge_counts(data.counts)
            return
        x = data.values
        if x is None or not len(x):
            return
        if self.sketch is None:
            self.sketch = (grid or Sketch.grid(x)).empty()
        self._add_binned(self.sketch.add_values(x), lambda: x)

    def add_numbers(self, arr: Any, grid: Sketch | None = None) -> None:
        """Count one batch of an Arrow integer or floating column straight from its buffers (nulls
        skipped by the validity bitmap, NaN missing, ±inf apart: as :meth:`add` counts the
        batch's :func:`~._arrow.batch_data`), binned in one compiled pass."""
        from ._arrow import finite_values, number_buffers

        self.n_rows += len(arr)
        self.n_missing += arr.null_count
        if self.sketch is None:  # the grid (unless given) comes from the first batch with values
            x, missing, inf = finite_values(arr)
            if not len(x):
                self.n_missing += missing - arr.null_count
                self.n_inf += inf
                return
            self.sketch = (grid or Sketch.grid(x)).empty()
        binned = self.sketch.add_values(*number_buffers(arr))
        self.n_missing += binned.nan
        self.n_inf += binned.inf
        if binned.n:
            self._add_binned(binned, lambda: finite_values(arr)[0])

    def _add_binned(self, binned: Binned, values: Callable[[], np.ndarray]) -> None:
        """Merge a binned batch's moments, and keep its finite ``values()`` while the column has
        at most ``sample_size`` values."""
        self._merge_moments(binned.n, binned.mean, binned.m2)
        if self.parts is not None and self.n <= self.sample_size:
            self.parts.append(values())
        else:
            self.parts = None

    def merge(self, other: Accumulator) -> None:
        self.n_rows += other.n_rows
        self.n_missing += other.n_missing
        self.n_inf += other.n_inf
        self.notes |= other.notes
        self._merge_counts(other.counts)
        self._merge_moments(other.n, other.mean, other.m2)
        if self.parts is not None and other.parts is not None and self.n <= self.sample_size:
            self.parts = self.parts + other.parts
        else:
            self.parts = None
        if other.sketch is not None:
            if self.sketch is None:
                self.sketch = other.sketch
            else:
                self.sketch.merge(other.sketch)

    def _merge_counts(self, counts: dict[Any, int]) -> None:
        if compared_as_text(self.notes):  # a batch of mixed types: every batch is counted as text
            self.counts, counts = as_text(self.counts), as_text(counts)
        for k, v in counts.items():
            self.counts[k] = self.counts.get(k, 0) + v

    def _merge_moments(self, n: int, mean: float, m2: float) -> None:
        """Chan's parallel update of (count, mean, sum of squared deviations)."""
        total = self.n + n
        if n:
            delta = mean - self.mean
            self.m2 += m2 + delta * delta * self.n * n / total
            self.mean += delta * n / total
        self.n = total

    @property
    def sampled(self) -> bool:
        return self.parts is None

    def data(self) -> ColumnData:
        notes = sorted(self.notes)
        if self.n_inf:
            notes.append(f"{self.n_inf} infinite values left out of the statistics")
        if self.kind == CATEGORICAL:
            return ColumnData(self.name, self.kind, self.n_rows, self.n_missing, counts=self.counts, notes=notes)
        if self.parts is None:
            return ColumnData(self.name, self.kind, self.n_rows, self.n_missing, self.n_inf, notes=notes,
                              sketch=self.sketch, moments=(self.mean, self.std))
        values = np.concatenate(self.parts) if self.parts else np.empty(0)
        return ColumnData(self.name, self.kind, self.n_rows, self.n_missing, self.n_inf, values=values,
                          notes=notes, sketch=self.sketch)

    @property
    def std(self) -> float:
        return float(np.sqrt(self.m2 / self.n)) if self.n else float("nan")


@dataclass
class ParquetSource:
    """The row groups of a parquet file or folder and how each column is read (see :mod:`._arrow`)."""

    path: Path
    tasks: list[tuple[str, int]]  # (file, row group)
    modes: dict[str, str]  # column -> reading mode

    @classmethod
    def open(cls, path: str | Path, columns: list[str] | None) -> ParquetSource:
        """The source at ``path``, after checking ``columns`` (default: all but a pandas index).

        A single file is opened with ``pyarrow.parquet`` alone: ``pyarrow.dataset``, which a
        folder needs to find its files, imports pandas (0.3-0.7 s)."""
        import pyarrow.parquet as pq

        from ._arrow import reading_mode
        from ._inputs import reading

        with reading(path):
            if Path(path).is_dir():
                import pyarrow.dataset as ds

                dataset = ds.dataset(str(path), format="parquet")
                schema, files = dataset.schema, dataset.files
            else:
                first = pq.ParquetFile(str(path))
                schema, files = first.schema_arrow, [str(path)]
            unknown = [c for c in columns or [] if c not in schema.names]
            if unknown:
                from ..errors import UsageError

                raise UsageError(f"{path} has no column(s) {unknown}; it has {schema.names[:20]}")
            tasks = [(f, i) for f in files for i in range(pq.ParquetFile(f).num_row_groups)]
        index = {c for c in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)}
        names = columns or [n for n in schema.names if n not in index]
        return cls(Path(path), tasks, {n: reading_mode(schema.field(n).type) for n in names})

    def record_batches(self, batch_size: int) -> Iterator[Any]:
        """Record batches of the selected columns, ``batch_size`` rows at most, row group after
        row group, read without pre-buffering and through a ``READ_BUFFER`` stream per column
        chunk, so memory does not grow with the row groups (pyarrow decodes the columns in its own
        threads, without the GIL; strings as dictionaries)."""
        import pyarrow.parquet as pq

        from ._arrow import FAST_TEXT
        from ._inputs import reading

        names = list(self.modes)
        text = [n for n, m in self.modes.items() if m == FAST_TEXT]
        opened: tuple[str, Any] | None = None
        for file, group in self.tasks:
            with reading(self.path):
                if opened is None or opened[0] != file:
                    opened = file, pq.ParquetFile(file, pre_buffer=False, buffer_size=READ_BUFFER,
                                                  read_dictionary=text)
                batches = opened[1].iter_batches(batch_size=batch_size, row_groups=[group], columns=names,
                                                 use_threads=True)
            while True:
                with reading(self.path):  # a damaged page shows only when its batch is read
                    batch = next(batches, None)
                if batch is None:
                    break
                yield batch


def _add_batch(acc: dict[str, Accumulator], batch: Any, name: str, mode: str, sample_size: int,
               grids: dict[str, Sketch]) -> None:
    """Count one column of a record batch into ``acc[name]`` (created with the kind its first
    batch shows)."""
    from ._arrow import FAST_NUMBER, PANDAS, batch_data, kind_for

    a = acc.get(name)
    if mode == FAST_NUMBER:
        if a is None:
            a = acc[name] = Accumulator(name, NUMERIC, sample_size)
        a.add_numbers(batch.column(name), grids.get(name))
        return
    if mode == PANDAS:  # with the file's pandas metadata, as a one-column DataFrame of the file would be
        series = batch.select([name]).to_pandas()[name]
        data = column_data(series, name, a.kind if a else None)
    else:
        data = batch_data(batch.column(name), name, mode, kind_for(mode))
    if a is None:
        a = acc[name] = Accumulator(name, data.kind, sample_size)
    a.add(data, grids.get(name))


def summarize_parquet(path: str | Path, columns: list[str] | None, batch_size: int = DEFAULT_BATCH,
                      sample_size: int = DEFAULT_SAMPLE, grids: dict[str, Sketch] | None = None) -> dict[str, Accumulator]:
    """Per-column accumulators of a parquet file or folder: a reader thread decodes the next
    record batches (a few ahead) while the shared column workers (:mod:`._parallel`) bin the
    columns of the current one in compiled loops that hold no GIL, so reading and summarising
    share every core. Each column is counted by one worker at a time, batch after batch in order,
    so the summaries are those of one thread counting them all.

    The histogram grids come from ``grids`` (a reference's, to score a window on them) or from each
    column's first batch with values, so that every batch's summaries merge; the first batch also
    fixes the kind of a column read through pandas.
    """
    from ._arrow import FAST_NUMBER

    src = ParquetSource.open(path, columns)
    grids = grids or {}
    acc: dict[str, Accumulator] = {}
    batches = read_ahead(src.record_batches(batch_size), AHEAD)
    if FAST_NUMBER in src.modes.values():  # while the first batches are read
        from .stats.sketch import warm_up

        warm_up()
    with _no_gc():
        for batch in batches:
            map_columns(lambda item: _add_batch(acc, batch, *item, sample_size, grids), list(src.modes.items()))
    return {n: acc[n] for n in src.modes if n in acc}


@contextmanager
def _no_gc() -> Iterator[None]:
    """Python's cycle collector paused: the loop over batches makes no cycles, while each
    collection would walk every object pandas, scipy and numba created (measured: ~8 % of the CPU
    time of a 10^7-row drift)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class _Failed(NamedTuple):
    error: BaseException


_DONE = object()


def read_ahead(items: Iterator[Any], depth: int) -> Iterator[Any]:
    """The items of ``items``, produced by a thread (started now) at most ``depth`` ahead of the
    consumer; an error in the thread is raised here, and closing this iterator stops the thread."""
    ready: queue.Queue[Any] = queue.Queue(depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            put(_Failed(exc))

    thread = threading.Thread(target=produce, name="mlnb-read-ahead", daemon=True)
    thread.start()
    return _handed_over(ready, stop, thread)


def _handed_over(ready: queue.Queue[Any], stop: threading.Event, thread: threading.Thread) -> Iterator[Any]:
    try:
        while (item := ready.get()) is not _DONE:
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()


def merge_all(parts: list[dict[str, Accumulator]]) -> dict[str, Accumulator]:
    """Accumulators of several parts (row groups, partitions) merged column by column, in order."""
    out: dict[str, Accumulator] = {}
    for part in parts:
        for name, a in part.items():
            if name in out:
                out[name].merge(a)
            else:
                out[name] = a
    return out


def summarize(frames: Any, columns: list[str] | None = None, sample_size: int = DEFAULT_SAMPLE,
              grids: dict[str, Sketch] | None = None) -> dict[str, Accumulator]:
    """Accumulate every column of an iterable of frames; memory is bounded by ``sample_size``
    values and a histogram per numeric column (on ``grids`` where given)."""
    acc: dict[str, Accumulator] = {}
    grids = grids or {}
    from ._inputs import check_frame

    for i, frame in enumerate(frames):
        check_frame(frame, f"batch {i}")
        for name in columns or list(frame.columns):
            s = frame[name]
            if name not in acc:
                acc[name] = Accumulator(str(name), kind_of(s), sample_size)
            acc[name].add(column_data(s, str(name), acc[name].kind), grids.get(str(name)))
    return acc
