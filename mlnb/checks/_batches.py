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

import itertools
from collections.abc import Iterator
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
        """Count one batch's column; ``grid`` is the histogram grid to use (else the batch's own)."""
        other = Accumulator(self.name, self.kind, self.sample_size, data.n_rows, data.n_missing, data.n_inf)
        other.notes.update(n for n in data.notes if "infinite" not in n)
        if data.counts is not None:
            other.counts = data.counts
        else:
            x = data.values
            other.n = len(x)
            if len(x):
                other.mean = float(x.mean())
                other.m2 = float(((x - other.mean) ** 2).sum())
                other.parts = [x] if len(x) <= self.sample_size else None
                base = self.sketch or grid or Sketch.grid(x)
                other.sketch = base.empty()
                other.sketch.add(x)
        self.merge(other)

    def merge(self, other: Accumulator) -> None:
        self.n_rows += other.n_rows
        self.n_missing += other.n_missing
        self.n_inf += other.n_inf
        self.notes |= other.notes
        if compared_as_text(self.notes):  # a batch of mixed types: every batch is counted as text
            self.counts, other.counts = as_text(self.counts), as_text(other.counts)
        for k, v in other.counts.items():
            self.counts[k] = self.counts.get(k, 0) + v
        n = self.n + other.n
        if other.n:
            delta = other.mean - self.mean
            self.m2 += other.m2 + delta * delta * self.n * other.n / n
            self.mean += delta * other.n / n
        self.n = n
        if self.parts is not None and other.parts is not None and n <= self.sample_size:
            self.parts = self.parts + other.parts
        else:
            self.parts = None
        if other.sketch is not None:
            if self.sketch is None:
                self.sketch = other.sketch
            else:
                self.sketch.merge(other.sketch)

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


def parquet_tasks(path: str | Path, columns: list[str] | None) -> list[tuple[str, int]]:
    """(file, row group) of every row group of a parquet file or folder, after checking ``columns``."""
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from ._inputs import reading

    with reading(path):
        dataset = ds.dataset(str(path), format="parquet")
        unknown = [c for c in columns or [] if c not in dataset.schema.names]
        if unknown:
            from ..errors import UsageError

            raise UsageError(f"{path} has no column(s) {unknown}; it has {dataset.schema.names[:20]}")
        return [(f, i) for f in dataset.files for i in range(max(pq.ParquetFile(f).num_row_groups, 1))]


def iter_row_group(path: str | Path, task: tuple[str, int], columns: list[str] | None, batch_size: int,
                   by_column: bool = False, first_only: bool = False) -> Iterator[Any]:
    """pandas frames of at most ``batch_size`` rows of one row group, read without pre-buffering
    (only the batch being summarised is in memory); ``by_column``: one column at a time (pyarrow
    decodes a row group's column chunks whole, so this bounds memory by one column's chunk);
    ``first_only``: only the first batch of each part."""
    import pyarrow.parquet as pq

    from ._inputs import reading

    file, group = task
    with reading(path):
        pf = pq.ParquetFile(file, pre_buffer=False)
        if pf.num_row_groups == 0:
            return
        index = {c for c in (pf.schema_arrow.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)}
        names = columns or [n for n in pf.schema_arrow.names if n not in index]
    for part in ([[c] for c in names] if by_column else [columns]):
        frames = _frames(path, pf.iter_batches(batch_size=batch_size, row_groups=[group], columns=part,
                                               use_threads=False))
        if first_only:
            yield from itertools.islice(frames, 1)
        else:
            yield from frames


def _frames(path: str | Path, batches: Iterator[Any]) -> Iterator[Any]:
    from ._inputs import reading

    while True:
        with reading(path):  # a damaged page shows only when its batch is read
            batch = next(batches, None)
            if batch is None:
                return
            frame = batch.to_pandas()
        yield frame


def iter_parquet(path: str | Path, columns: list[str] | None, batch_size: int) -> Iterator[Any]:
    """pandas frames of at most ``batch_size`` rows from a parquet file or folder of parquet files."""
    for task in parquet_tasks(path, columns):
        yield from iter_row_group(path, task, columns, batch_size)


def summarize_parquet(path: str | Path, columns: list[str] | None, batch_size: int = DEFAULT_BATCH,
                      sample_size: int = DEFAULT_SAMPLE, grids: dict[str, Sketch] | None = None) -> dict[str, Accumulator]:
    """:func:`summarize` of a parquet file or folder, its row groups spread over worker threads.

    The histogram grids come from ``grids`` (a reference's, to score a window on them) or from the
    first batch, so that every row group's summaries merge.
    """
    import os

    from ._parallel import MAX_WORKERS, map_columns

    tasks = parquet_tasks(path, columns)
    grids = dict(grids or {})
    if tasks:
        for name, a in summarize(iter_row_group(path, tasks[0], columns, batch_size, True, True), None, 0, grids).items():
            if a.sketch is not None and name not in grids:
                grids[name] = a.sketch.empty()
    workers = max(1, min(len(tasks), os.cpu_count() or 1, MAX_WORKERS))

    def share(w: int) -> dict[str, Accumulator]:  # each worker merges its own row groups as it goes
        frames = (f for t in tasks[w::workers] for f in iter_row_group(path, t, columns, batch_size, by_column=True))
        return summarize(frames, None, sample_size, grids)

    return merge_all(map_columns(share, range(workers)))


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
