"""Looking inside a version without loading it: its schema and its first rows.

The schema comes from the summary stored when the version was registered (column types, null
counts, statistics); a table registered without one (too large to summarise) gets its types and
null counts from the parquet footer. A preview reads only the head of the file in DVC's cache:
the first row group's first batch of a parquet file, the first lines of a CSV, TSV or JSON Lines
file (a ``.json`` or ``.feather`` file is read whole: neither format has a cheap head).
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path
from typing import Any

from .._display import Table
from .._project import current_project
from ..errors import UsageError
from . import _frames
from ._refs import DataVersion, _resolve_for_read
from ._storage import _ensure_cached, _cache_path

_SCHEMA_COLUMNS = ["column", "dtype", "nulls", "distinct", "min", "max", "mean"]
#: most rows a preview shows
MAX_PREVIEW = 1000


def _table_version(ref: str) -> tuple[DataVersion, Path]:
    """The version ``ref`` and its file in the cache (fetched when missing), or UsageError for a folder
    or a file that is not a table."""
    project = current_project()
    version = _resolve_for_read(ref, project)
    if version.is_dir or not _frames.is_tabular(version.path):
        raise UsageError(f"{version.ref} ({version.path}) is not a table: a schema and a preview are shown for "
                         f"{', '.join(sorted(_frames.TABULAR_SUFFIXES))} files")
    _ensure_cached(project, version)
    return version, _cache_path(project, version.md5)


def schema(ref: str) -> Table:
    """The columns of a version: type, null count and summary statistics.

    >>> mlnb.data.schema("customers@2")  # doctest: +SKIP
    """
    project = current_project()
    version = _resolve_for_read(ref, project)
    summary = version.summary
    if not summary:
        version, path = _table_version(ref)
        summary = _footer_summary(path, version.path)
    rows = [{"column": name, "dtype": s.get("dtype"), "nulls": s.get("nulls"), "distinct": s.get("distinct"),
             "min": s.get("min"), "max": s.get("max"), "mean": s.get("mean")} for name, s in summary.items()]
    shape = f"{version.rows:,} rows × {version.cols} columns" if version.rows is not None else f"{len(rows)} columns"
    return Table(rows, _SCHEMA_COLUMNS, title=f"schema of {version.ref} ({shape})",
                 empty=f"{version.ref} has no recorded schema")


def _footer_summary(path: Path, name: str) -> dict[str, dict[str, Any]]:
    """Types and null counts from a parquet footer (its row-group statistics); nothing for other files."""
    if Path(name).suffix.lower() not in (".parquet", ".pq"):
        return {}
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path)
    out: dict[str, dict[str, Any]] = {}
    for i, field in enumerate(meta.schema_arrow):
        if field.name.startswith("__index_level_"):
            continue
        nulls: int | None = 0
        for g in range(meta.metadata.num_row_groups):
            stats = meta.metadata.row_group(g).column(i).statistics
            nulls = None if stats is None or nulls is None or not stats.has_null_count else nulls + stats.null_count
        out[field.name] = {"dtype": str(field.type), "nulls": nulls}
    return out


def preview(ref: str, rows: int = 10) -> Table:
    """The first ``rows`` rows of a version, read from the head of its file in DVC's cache.

    >>> mlnb.data.preview("customers@2", rows=5).to_frame()  # doctest: +SKIP
    """
    if type(rows) is not int or not 0 < rows <= MAX_PREVIEW:
        raise UsageError(f"invalid rows={rows!r}: preview 1 to {MAX_PREVIEW} rows")
    version, path = _table_version(ref)
    frame = _head(path, Path(version.path).suffix.lower(), rows)
    columns = [str(c) for c in frame.columns]
    records = [{c: _plain(v) for c, v in zip(columns, values)} for values in frame.itertuples(index=False, name=None)]
    return Table(records, columns, title=f"first {len(records)} rows of {version.ref}", empty=f"{version.ref} has no rows")


def _head(path: Path, suffix: str, n: int) -> Any:
    import pandas as pd

    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path)
        batch = next(meta.iter_batches(batch_size=n), None)
        if batch is None:
            return meta.schema_arrow.empty_table().to_pandas()
        frame = batch.to_pandas()
        index = [c for c in frame.columns if str(c).startswith("__index_level_")]
        return frame.drop(columns=index)
    if suffix in (".csv", ".tsv"):
        return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", nrows=n)
    if suffix == ".jsonl":
        return pd.read_json(path, lines=True, nrows=n)
    return _frames.read_table(path, suffix).head(n)


def _plain(value: Any) -> Any:
    """A cell as a JSON-friendly value: numbers and text as they are, times as ISO text, NaN as None."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (_dt.datetime, _dt.date)):
        try:
            return _plain(item())
        except (TypeError, ValueError):
            pass
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)
