"""``infer_schema`` and ``validate`` over a parquet file or folder of any size, batch by batch.

The checks are those of :mod:`.validation` and :mod:`.schema`, run on pandas frames of at most
``batch_size`` rows, one row group after another, and merged: failure counts add up, examples are
the first ones met, a column-level failure (missing column, incomparable dtype) is reported once.
Only ``unique`` needs the whole column: a first pass keeps a 64-bit hash per value of each column
that must be unique (8 bytes a row), the hashes seen twice name the candidate values, and the main
pass counts those values exactly, so a hash collision never makes a failure. The result equals the
in-memory one on data that fits (same counts, examples and order of checks); the failure cases'
``index`` is the row's position in the file (or folder, files in order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._batches import DEFAULT_BATCH, ParquetSource

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .schema import Schema
    from .validation import ValidationResult


def is_parquet_path(source: Any) -> bool:
    """Whether ``source`` is the path (str or Path) of a parquet file or folder."""
    if not isinstance(source, (str, Path)):
        return False
    p = Path(source)
    return p.is_dir() or (p.suffix.lower() in (".parquet", ".pq") and p.exists())


def parquet_or_frame(source: Any) -> Any:
    """A parquet file or folder as its Path (to stream), any other file path as its DataFrame,
    anything else unchanged."""
    if is_parquet_path(source):
        return Path(source)
    if isinstance(source, (str, Path)):
        from ._inputs import load_frame

        return load_frame(str(source))
    return source


def iter_frames(src: ParquetSource, columns: list[str], batch_size: int) -> Iterator[pd.DataFrame]:
    """pandas frames of ``columns``, ``batch_size`` rows at most, row groups in order; the index
    counts rows from the start of the source."""
    import pyarrow.parquet as pq

    from ._inputs import reading

    start = 0
    files: dict[str, Any] = {}
    for file, group in src.tasks:
        with reading(src.path):
            if file not in files:
                files = {file: pq.ParquetFile(file, pre_buffer=False)}
            batches = files[file].iter_batches(batch_size=batch_size, row_groups=[group], columns=columns,
                                               use_threads=True)
        while True:
            with reading(src.path):
                batch = next(batches, None)
                if batch is None:
                    break
                frame = batch.to_pandas()
            frame.index = np.arange(start, start + len(frame))
            start += len(frame)
            yield frame


def _hashes(values: pd.Series) -> np.ndarray:
    import pandas as pd

    return pd.util.hash_pandas_object(values, index=False).to_numpy()


def _seen_twice(parts: list[np.ndarray]) -> np.ndarray:
    """The hashes that occur more than once among ``parts``, sorted."""
    if not parts:
        return np.empty(0, np.uint64)
    h = np.sort(np.concatenate(parts))
    return np.unique(h[1:][h[1:] == h[:-1]])


class _Duplicates:
    """Exact duplicate counts of one column, from the hashes of a first pass."""

    def __init__(self, candidates: np.ndarray) -> None:
        self.candidates = candidates
        self.counts: dict[Any, int] = {}

    def candidate_mask(self, values: pd.Series) -> np.ndarray:
        """Rows whose value's hash was seen twice (values that may be duplicated)."""
        present = values.notna().to_numpy()
        mask = np.zeros(len(values), bool)
        if len(self.candidates) and present.any():
            mask[present] = np.isin(_hashes(values[present]), self.candidates)
        return mask

    def count(self, values: pd.Series) -> None:
        for k, n in values.value_counts(dropna=True).items():
            self.counts[k] = self.counts.get(k, 0) + int(n)

    def duplicated(self, values: pd.Series) -> np.ndarray:
        return values.map(lambda v: self.counts.get(v, 0) > 1).to_numpy(dtype=bool)


def _duplicates(src: ParquetSource, names: list[str], values_of: Callable[[pd.DataFrame, str], Any],
                batch_size: int) -> dict[str, _Duplicates]:
    """Per column of ``names``, its duplicate candidates (a pass of hashes) and their exact counts
    (a second pass, only when some hash was seen twice); ``values_of(frame, name)`` gives the
    values compared (None: none)."""
    hashes: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for frame in iter_frames(src, names, batch_size) if names else ():
        for n in names:
            values = values_of(frame, n)
            if values is not None:
                hashes[n].append(_hashes(values.dropna()))
    dups = {n: _Duplicates(_seen_twice(h)) for n, h in hashes.items()}
    busy = [n for n, d in dups.items() if len(d.candidates)]
    for frame in iter_frames(src, busy, batch_size) if busy else ():
        for n in busy:
            values = values_of(frame, n)
            if values is not None:
                dups[n].count(values[dups[n].candidate_mask(values)])
    return dups


def _first_pass(src: ParquetSource, specs: dict[str, Any], batch_size: int) -> dict[str, _Duplicates]:
    """Per column that must be unique, its duplicate candidates and their exact counts."""
    from .validation import _as_expected, _Collector

    def values_of(frame: pd.DataFrame, n: str) -> Any:
        return _as_expected(frame[n], specs[n], _Collector(len(frame), 0), n)

    return _duplicates(src, [n for n, spec in specs.items() if spec.unique and n in src.modes], values_of, batch_size)


class _Merged:
    """Summary rows and failure cases of many batches, merged in the order checks first appear."""

    def __init__(self, max_examples: int) -> None:
        self.max_examples = max_examples
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self.examples: dict[tuple[str, str], list[Any]] = {}
        self.failures: list[dict[str, Any]] = []
        self.kept: dict[tuple[str, str], int] = {}

    def add(self, out: Any, bad_values: dict[tuple[str, str], list[Any]]) -> None:
        for row in out.summary:
            key = (row["column"], row["check"])
            if key not in self.rows:
                self.rows[key] = dict(row)
                self.examples[key] = list(bad_values.get(key, []))
            elif row["percent"] is not None:  # element checks add up; a column-level one counts once
                self.rows[key]["failures"] += row["failures"]
                seen = self.examples[key]
                seen += [v for v in bad_values.get(key, []) if v not in seen][:5 - len(seen)]
        for f in out.failures:
            key = (f["column"], f["check"])
            if f["index"] is None and self.kept.get(key):
                continue
            if self.kept.get(key, 0) < max(self.max_examples, 1 if f["index"] is None else 0):
                self.kept[key] = self.kept.get(key, 0) + 1
                self.failures.append(f)


def validate_parquet(schema: Schema, path: str | Path, max_examples: int = 100,
                     batch_size: int = DEFAULT_BATCH) -> ValidationResult:
    """:func:`mlnb.checks.validation.validate` of a parquet file or folder, in bounded memory."""
    import pandas as pd

    from .._display import format_value
    from .validation import FAILURE_COLUMNS, ValidationResult, _check_column, _plain

    src = ParquetSource.open(path, None)
    present = [n for n in schema.columns if n in src.modes]
    dups = _first_pass(src, schema.columns, batch_size)
    merged = _Merged(max_examples)
    n_rows = 0
    frames = iter_frames(src, present, batch_size) if present else iter([])
    empty = pd.DataFrame({n: pd.Series([], dtype=object) for n in present})
    for frame in _at_least_one(frames, empty):
        n_rows += len(frame)
        out = _batch_collector(len(frame), max_examples)
        for name, spec in schema.columns.items():
            if name not in src.modes:
                out.column_level(name, "column_present", "column present", name)
                continue
            _check_column(frame[name], _without_unique(spec), out, name)
            if spec.unique:
                _unique_rows(frame[name], spec, dups.get(name), out, name)
        if schema.strict:
            for extra in (n for n in src.modes if n not in schema.columns):
                out.column_level(extra, "no_extra_columns", "only schema columns", extra)
        merged.add(out, out.bad)
    summary = []
    for key, row in merged.rows.items():
        if row["percent"] is not None:
            row["percent"] = row["failures"] / n_rows if n_rows else 0.0
            row["examples"] = ", ".join(format_value(_plain(v)) for v in merged.examples[key])
        summary.append(row)
    order = {key: i for i, key in enumerate(merged.rows)}  # grouped by check, as in memory; rows in order
    cases = sorted(merged.failures, key=lambda f: order[(f["column"], f["check"])])
    failures = pd.DataFrame({c: pd.Series([f[c] for f in cases], dtype=object) for c in FAILURE_COLUMNS})
    return ValidationResult(summary, failures, n_rows)


def _batch_collector(n_rows: int, max_examples: int) -> Any:
    """A :class:`~.validation._Collector` that also keeps each check's first distinct failing
    values (``bad``), to merge the examples of several batches."""
    from .validation import _Collector, _first_distinct

    class BatchCollector(_Collector):
        def __init__(self) -> None:
            super().__init__(n_rows, max_examples)
            self.bad: dict[tuple[str, str], list[Any]] = {}

        def elements(self, column: str, check: str, expected: str, values: Any, mask: Any) -> None:
            super().elements(column, check, expected, values, mask)
            if self.summary[-1]["failures"]:
                self.bad[(column, check)] = _first_distinct(values[mask.to_numpy()], 5)

    return BatchCollector()


def _at_least_one(frames: Iterator[Any], empty: Any) -> Iterator[Any]:
    """The frames, or one empty frame when there are none (the column checks still run)."""
    any_frame = False
    for f in frames:
        any_frame = True
        yield f
    if not any_frame:
        yield empty


def _without_unique(spec: Any) -> Any:
    from dataclasses import replace

    return replace(spec, unique=False) if spec.unique else spec


def _unique_rows(s: pd.Series, spec: Any, dups: _Duplicates | None, out: Any, name: str) -> None:
    """The ``unique`` check of one batch, from the exact counts of the candidate values."""
    import pandas as pd

    from .validation import _as_expected, _Collector

    values = _as_expected(s, spec, _Collector(len(s), 0), name)
    if values is None:
        return
    mask = np.zeros(len(s), bool)
    if dups is not None and len(dups.candidates):
        cand = dups.candidate_mask(values)
        if cand.any():
            mask[cand] = dups.duplicated(values[cand])
    out.elements(name, "unique", "no duplicates", s, pd.Series(mask, index=s.index))


class _Inferred:
    """What :func:`~.schema.infer_schema` learns of one column, merged over batches."""

    def __init__(self) -> None:
        self.families: set[str] = set()
        self.nullable = False
        self.min: Any = None
        self.max: Any = None
        self.n_values = 0
        self.categories: dict[Any, None] = {}
        self.distinct: set[Any] | None = set()  # None once more than max_categories

    def add(self, s: pd.Series, max_categories: int) -> None:
        import math

        from .schema import dtype_family

        family = dtype_family(s)
        self.families.add(family)
        values = s.dropna()
        self.nullable |= len(values) < len(s)
        self.n_values += len(values)
        if family in ("int", "float", "datetime") and len(values):
            finite = values if family != "float" else values[values.abs() != math.inf]
            if len(finite):
                lo, hi = finite.min(), finite.max()
                self.min = lo if self.min is None else min(self.min, lo)
                self.max = hi if self.max is None else max(self.max, hi)
        if family == "category":
            self.categories.update(dict.fromkeys(s.cat.categories))
        elif family in ("string", "object") and self.distinct is not None:
            self.distinct.update(values.astype(str).unique() if family == "object" else values.unique())
            if len(self.distinct) > max_categories:
                self.distinct = None

    @property
    def family(self) -> str:
        if len(self.families) == 1:
            return next(iter(self.families))
        if self.families == {"int", "float"}:  # a batch with missing values reads as float
            return "float"
        return "object"


def infer_parquet(path: str | Path, max_categories: int = 20, strict: bool = False,
                  batch_size: int = DEFAULT_BATCH) -> Schema:
    """:func:`mlnb.checks.schema.infer_schema` of a parquet file or folder, in bounded memory."""
    from ..errors import UsageError
    from .schema import ColumnSchema, Schema, _yaml_value

    src = ParquetSource.open(path, None)
    names = list(src.modes)
    cols = {n: _Inferred() for n in names}
    for frame in iter_frames(src, names, batch_size):
        for n in names:
            cols[n].add(frame[n], max_categories)
    if not any(c.n_values or c.nullable for c in cols.values()):
        raise UsageError(f"cannot infer a schema from {path}: it has no rows; pass the training data")
    maybe_unique = [n for n, c in cols.items() if c.family in ("int", "string") and c.n_values > 1]
    dups = _duplicates(src, maybe_unique, lambda frame, n: frame[n].dropna(), batch_size)
    schema = Schema({}, strict)
    for n, c in cols.items():
        col = schema.columns[str(n)] = ColumnSchema(dtype=c.family, nullable=c.nullable)
        if c.min is not None and c.family in ("int", "float", "datetime"):
            col.min, col.max = c.min, c.max
            if c.family == "datetime":
                col.min, col.max = col.min.isoformat(), col.max.isoformat()
        if c.family == "category":
            col.allowed = [_yaml_value(v) for v in c.categories]
        elif c.family in ("string", "object") and c.distinct is not None and len(c.distinct) < c.n_values:
            col.allowed = sorted(_yaml_value(v) for v in c.distinct)
        if n in dups and not any(v > 1 for v in dups[n].counts.values()):
            col.unique = True
    return schema
