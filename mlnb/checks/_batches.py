"""Column summaries built batch by batch, for data larger than memory, and merged across batches.

Merging is exact for counts (rows, missing, infinite, category counts) and for mean and standard
deviation (Chan's parallel update). Numeric values are kept as a *bottom-k sample*: every value
gets a random key and the ``sample_size`` smallest keys are kept, which is a uniform random sample
of the whole column however the batches were cut. KS, Wasserstein and PSI are then exact
statistics *of that sample* (their p-values use the sample size, not the row count); with fewer
rows than ``sample_size`` nothing is dropped and everything is exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._columns import CATEGORICAL, ColumnData, as_text, column_data, compared_as_text, kind_of

DEFAULT_SAMPLE = 1_000_000
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
    keys: np.ndarray = field(default_factory=lambda: np.empty(0))
    values: np.ndarray = field(default_factory=lambda: np.empty(0))
    counts: dict[Any, int] = field(default_factory=dict)
    notes: set[str] = field(default_factory=set)

    def add(self, data: ColumnData, rng: np.random.Generator) -> None:
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
            other.keys, other.values = rng.random(len(x)), x
            other._trim()
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
        if len(other.keys):
            self.keys = np.concatenate([self.keys, other.keys])
            self.values = np.concatenate([self.values, other.values])
            self._trim()

    def _trim(self) -> None:
        if len(self.keys) > self.sample_size:
            keep = np.argpartition(self.keys, self.sample_size)[: self.sample_size]
            self.keys, self.values = self.keys[keep], self.values[keep]

    @property
    def sampled(self) -> bool:
        return self.n > len(self.values)

    def data(self) -> ColumnData:
        notes = sorted(self.notes)
        if self.n_inf:
            notes.append(f"{self.n_inf} infinite values left out of the statistics")
        if self.kind == CATEGORICAL:
            return ColumnData(self.name, self.kind, self.n_rows, self.n_missing, counts=self.counts, notes=notes)
        if self.sampled:
            notes.append(f"distribution from a uniform sample of {len(self.values):,} of {self.n:,} values")
        return ColumnData(self.name, self.kind, self.n_rows, self.n_missing, self.n_inf, values=self.values, notes=notes)

    @property
    def std(self) -> float:
        return float(np.sqrt(self.m2 / self.n)) if self.n else float("nan")


def iter_parquet(path: str | Path, columns: list[str] | None, batch_size: int) -> Iterator[Any]:
    """pandas frames of at most ``batch_size`` rows from a parquet file or folder of parquet files."""
    import pyarrow.dataset as ds

    from ._inputs import reading

    with reading(path):
        dataset = ds.dataset(str(path), format="parquet")
    unknown = [c for c in columns or [] if c not in dataset.schema.names]
    if unknown:
        from ..errors import UsageError

        raise UsageError(f"{path} has no column(s) {unknown}; it has {dataset.schema.names[:20]}")
    batches = iter(dataset.to_batches(columns=columns, batch_size=batch_size))
    while True:
        with reading(path):  # a damaged page shows only when its batch is read
            batch = next(batches, None)
            if batch is None:
                return
            frame = batch.to_pandas()
        yield frame


def summarize(frames: Any, columns: list[str] | None = None, sample_size: int = DEFAULT_SAMPLE,
              seed: int = 0) -> dict[str, Accumulator]:
    """Accumulate every column of an iterable of frames; memory is bounded by ``sample_size``."""
    rng = np.random.default_rng(seed)
    acc: dict[str, Accumulator] = {}
    from ._inputs import check_frame

    for i, frame in enumerate(frames):
        check_frame(frame, f"batch {i}")
        for name in columns or list(frame.columns):
            s = frame[name]
            if name not in acc:
                acc[name] = Accumulator(str(name), kind_of(s), sample_size)
            acc[name].add(column_data(s, str(name), acc[name].kind), rng)
    return acc
