"""Tabular files: deterministic parquet, reading by suffix, and per-column summaries for diffs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

TABULAR_SUFFIXES = {".parquet", ".pq", ".csv", ".tsv", ".feather", ".json", ".jsonl"}
#: Tabular files larger than this are not summarised on add (rows/cols still come from parquet footers).
SUMMARY_MAX_BYTES = 256 * 1024**2


def is_tabular(path: str | Path) -> bool:
    return Path(path).suffix.lower() in TABULAR_SUFFIXES


#: What ``mlnb.data.save`` can write, by the target file's suffix.
WRITABLE_SUFFIXES = {".parquet", ".pq", ".csv", ".tsv"}


def check_writable(df: object, target: Path) -> None:
    """Refuse, before anything is written, what :func:`write_table` could not write to ``target``."""
    import pandas as pd

    from ..errors import UsageError

    if not isinstance(df, pd.DataFrame):
        raise UsageError(f"mlnb.data.save expects a pandas DataFrame, got {type(df).__name__}")
    if target.suffix.lower() not in WRITABLE_SUFFIXES:
        raise UsageError(f"mlnb.data.save writes parquet, csv or tsv, not {target.name}: save to another "
                         "dataset name, or write the file yourself and `mlnb data add` it")


def write_table(df: pd.DataFrame, path: Path, suffix: str) -> None:
    """Write ``df`` in the format ``suffix`` names; equal frames give byte-identical files
    (parquet: fixed codec, no timestamps)."""
    from ..errors import UsageError

    suffix = suffix.lower()
    if suffix in (".csv", ".tsv"):
        df.to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)
        return
    import pyarrow as pa

    try:
        df.to_parquet(path, engine="pyarrow", compression="zstd", index=None)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        if isinstance(exc, OSError):
            raise
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"this frame cannot be saved as parquet ({reason}): give each column one type, "
                         "e.g. df[col] = df[col].astype(str)") from exc


def check_readable(full: Path) -> None:
    """Refuse a parquet file whose footer cannot be read, before DVC or the registry see it."""
    if not full.is_file() or full.suffix.lower() not in (".parquet", ".pq"):
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..errors import MlnbError

    try:
        pq.ParquetFile(full).metadata
    except (pa.ArrowException, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MlnbError(f"{full.name} is not a readable parquet file ({reason}): "
                        "fix or re-export it, then add it again") from exc


def read_table(path: str | Path, suffix: str | None = None) -> pd.DataFrame:
    import pandas as pd

    suffix = (suffix or Path(path).suffix).lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix == ".tsv":
        return pd.read_csv(path, sep="\t")
    if suffix == ".feather":
        return pd.read_feather(path)
    if suffix == ".json":
        return pd.read_json(path)
    if suffix == ".jsonl":
        return pd.read_json(path, lines=True)
    from ..errors import UsageError

    raise UsageError(f"cannot read {Path(path).name} as a table: use mlnb.data.path(...) for non-tabular data")


def shape_of(path: Path, suffix: str) -> tuple[int | None, int | None]:
    """Rows and columns, read from the parquet footer when possible (no data read)."""
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        names = [n for n in meta.schema.names if not n.startswith("__index_level_")]
        return meta.num_rows, len(names)
    return None, None


def summarize(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per column: dtype, nulls and, for numbers, mean/std/min/max; for the rest, distinct count."""
    import pandas as pd

    out: dict[str, dict[str, Any]] = {}
    for name in df.columns:
        col = df[name]
        info: dict[str, Any] = {"dtype": str(col.dtype), "nulls": int(col.isna().sum())}
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            values = col.astype("float64")
            info.update(
                mean=_num(values.mean()), std=_num(values.std()), min=_num(values.min()), max=_num(values.max())
            )
        else:
            info.update(category_values(col))
        out[str(name)] = info
    return out


#: a column with at most this many distinct values keeps them all, with their counts, in its
#: summary, so a diff names the categories added and removed (a renamed category is both)
MAX_CATEGORIES = 100


def category_values(col: pd.Series) -> dict[str, Any]:
    """``distinct`` count and, for up to ``MAX_CATEGORIES`` distinct values, ``values``: each value
    (as text) with its count; with more, ``values_md5``: a digest of the sorted distinct values, so
    that a diff still tells a changed set of values from an unchanged one."""
    try:
        counts = col.value_counts(dropna=True, sort=False)
    except TypeError:  # unhashable cells (lists, dicts)
        return {"distinct": None}
    counts = counts[counts > 0]  # a categorical dtype lists its unused categories too
    if len(counts) <= MAX_CATEGORIES:
        values = {str(k): int(v) for k, v in counts.items()}
        return {"distinct": len(counts), "values": dict(sorted(values.items()))}
    return {"distinct": len(counts), "values_md5": _digest(map(str, counts.index))}


def _digest(values: Any) -> str:
    import hashlib

    return hashlib.md5("\x00".join(sorted(values)).encode("utf-8", "backslashreplace")).hexdigest()


def values_digest(info: dict[str, Any]) -> str | None:
    """The digest of a column's distinct values from its summary (kept, or made from its values)."""
    if "values_md5" in info:
        return str(info["values_md5"])
    return _digest(info["values"]) if "values" in info else None


def _num(x: Any) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x
