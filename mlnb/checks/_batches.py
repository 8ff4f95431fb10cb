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

import collections
import itertools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._columns import CATEGORICAL, ColumnData, as_text, column_data, compared_as_text, kind_of
from .stats.sketch import Sketch

#: numeric values kept exactly per column (beyond, the histogram alone)
DEFAULT_SAMPLE = 1 << 18
DEFAULT_BATCH = 262_144


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
        mean = float(x.mean())
        self._merge_moments(len(x), mean, _squared_deviations(x, mean))
        if self.parts is not None and self.n <= self.sample_size:
            self.parts.append(x)
        else:
            self.parts = None
        if self.sketch is None:
            self.sketch = (grid or Sketch.grid(x)).empty()
        self.sketch.add(x)

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


def _squared_deviations(x: np.ndarray, mean: float, block: int = 1 << 14) -> float:
    """The sum of ``(x - mean) ** 2``, a cache-sized block at a time (no BLAS: its threads fight
    the worker threads for the cores)."""
    buf = np.empty(min(len(x), block))
    total = 0.0
    for start in range(0, len(x), block):
        part = buf[:min(block, len(x) - start)]
        np.subtract(x[start:start + block], mean, out=part)
        total += float(np.einsum("i,i->", part, part))
    return total


@dataclass
class ParquetSource:
    """The row groups of a parquet file or folder and how each column is read (see :mod:`._arrow`)."""

    path: Path
    tasks: list[tuple[str, int]]  # (file, row group)
    modes: dict[str, str]  # column -> reading mode

    @classmethod
    def open(cls, path: str | Path, columns: list[str] | None) -> ParquetSource:
        """The source at ``path``, after checking ``columns`` (default: all but a pandas index)."""
        import pyarrow.dataset as ds
        import pyarrow.parquet as pq

        from ._arrow import reading_mode
        from ._inputs import reading

        with reading(path):
            dataset = ds.dataset(str(path), format="parquet")
            schema = dataset.schema
            unknown = [c for c in columns or [] if c not in schema.names]
            if unknown:
                from ..errors import UsageError

                raise UsageError(f"{path} has no column(s) {unknown}; it has {schema.names[:20]}")
            tasks = [(f, i) for f in dataset.files for i in range(pq.ParquetFile(f).num_row_groups)]
        index = {c for c in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)}
        names = columns or [n for n in schema.names if n not in index]
        return cls(Path(path), tasks, {n: reading_mode(schema.field(n).type) for n in names})

    def batches(self, files: dict[str, Any], task: tuple[str, int], name: str, batch_size: int,
                first_only: bool = False) -> Iterator[Any]:
        """Record batches of one column of one row group, read without pre-buffering (only the
        batch being summarised is in memory); ``files`` caches the open files of one thread."""
        import pyarrow.parquet as pq

        from ._arrow import FAST_TEXT
        from ._inputs import reading

        file, group = task
        with reading(self.path):
            if file not in files:
                text = [n for n, m in self.modes.items() if m == FAST_TEXT]
                files[file] = pq.ParquetFile(file, pre_buffer=False, read_dictionary=text)
            batches = files[file].iter_batches(batch_size=batch_size, row_groups=[group], columns=[name],
                                               use_threads=False)
        while True:
            with reading(self.path):  # a damaged page shows only when its batch is read
                batch = next(batches, None)
            if batch is None:
                return
            yield batch
            if first_only:
                return


def _add_batch(acc: dict[str, Accumulator], batch: Any, name: str, mode: str, sample_size: int,
               grids: dict[str, Sketch]) -> None:
    """Count one column batch into ``acc[name]`` (created with the kind its first batch shows)."""
    from ._arrow import PANDAS, batch_data, kind_for

    a = acc.get(name)
    if mode == PANDAS:
        series = batch.to_pandas()[name]
        data = column_data(series, name, a.kind if a else None)
    else:
        data = batch_data(batch.column(0), name, mode, kind_for(mode))
    if a is None:
        a = acc[name] = Accumulator(name, data.kind, sample_size)
    a.add(data, grids.get(name))


def summarize_parquet(path: str | Path, columns: list[str] | None, batch_size: int = DEFAULT_BATCH,
                      sample_size: int = DEFAULT_SAMPLE, grids: dict[str, Sketch] | None = None) -> dict[str, Accumulator]:
    """Per-column accumulators of a parquet file or folder: worker threads read (row group, column)
    pairs a few ahead, in order (pyarrow decodes without the GIL), while this thread summarises
    them (numpy's ``bincount`` holds the GIL: summarising in several threads would make them
    queue for it).

    The histogram grids come from ``grids`` (a reference's, to score a window on them) or from each
    column's first batch, so that every row group's summaries merge; the first batch also fixes the
    kind of a column read through pandas.
    """
    import os

    from ._arrow import FAST_TEXT, PANDAS
    from ._parallel import MAX_WORKERS

    src = ParquetSource.open(path, columns)
    if not src.tasks:
        return {}
    grids = dict(grids or {})
    first: dict[str, Accumulator] = {}
    for name, mode in src.modes.items():
        if mode == PANDAS or (mode != FAST_TEXT and name not in grids):
            for batch in src.batches({}, src.tasks[0], name, batch_size, first_only=True):
                _add_batch(first, batch, name, mode, 0, grids)
            if name in first and first[name].sketch is not None and name not in grids:
                grids[name] = first[name].sketch.empty()
    items = [(t, n) for t in src.tasks for n in src.modes]
    workers = max(1, min(len(items), os.cpu_count() or 1, MAX_WORKERS))
    opened = threading.local()  # each reader thread keeps its own open files

    def read(item: tuple[tuple[str, int], str]) -> list[Any]:
        if not hasattr(opened, "files"):
            opened.files = {}
        return list(src.batches(opened.files, item[0], item[1], batch_size))

    acc = {n: Accumulator(n, a.kind, sample_size) for n, a in first.items()}
    with ThreadPoolExecutor(workers) as pool:
        for (_, name), batches in zip(items, _prefetch(pool, read, items, 2 * workers)):
            for batch in batches:
                _add_batch(acc, batch, name, src.modes[name], sample_size, grids)
    return {n: acc[n] for n in src.modes if n in acc}


def _prefetch(pool: ThreadPoolExecutor, fn: Callable[[Any], Any], items: list[Any], ahead: int) -> Iterator[Any]:
    """``fn`` of each item, in order, computed by ``pool`` at most ``ahead`` items in advance."""
    pending: collections.deque[Future[Any]] = collections.deque()
    rest = iter(items)
    for item in itertools.islice(rest, ahead):
        pending.append(pool.submit(fn, item))
    try:
        while pending:
            result = pending.popleft().result()
            for item in itertools.islice(rest, 1):
                pending.append(pool.submit(fn, item))
            yield result
    finally:
        for f in pending:
            f.cancel()


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
