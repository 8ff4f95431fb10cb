"""Where checks get their data: DataFrames, files, dataset references, notebook variables."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import MlnbError, NotAProject, NotFound, UsageError

_FILE_SUFFIXES = {".parquet", ".pq", ".csv", ".tsv", ".feather", ".json", ".jsonl"}


def is_frame(value: Any) -> bool:
    """Whether ``value`` is a pandas DataFrame, without importing pandas: no DataFrame exists
    before pandas is imported, so a path or a Profile is told apart at no import cost."""
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(value, pd.DataFrame)


def check_frame(df: Any, what: str) -> None:
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise UsageError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    if df.shape[1] == 0:
        raise UsageError(f"{what} has no columns: pass the frame with the columns to check")
    if not df.columns.is_unique:
        dup = df.columns[df.columns.duplicated()].tolist()
        raise UsageError(f"{what} has duplicated column names {dup}: rename them first")


def check_columns(df: Any, columns: list[str] | None, what: str) -> list[Any]:
    if columns is None:
        return list(df.columns)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise UsageError(f"{what} has no column(s) {missing}; it has {list(map(str, df.columns))[:20]}")
    return list(columns)


def is_file_spec(spec: str) -> bool:
    """``spec`` names a file (by its suffix: data or a saved profile) or a folder, not a dataset."""
    return Path(spec).suffix.lower() in _FILE_SUFFIXES | {".npz"} or Path(spec).is_dir()


@contextmanager
def reading(path: str | Path) -> Iterator[None]:
    """Around reading a data file: a file that does not parse is one error naming it (exit 3).

    pandas and pyarrow report damaged files as ValueError subclasses (``ArrowInvalid``,
    ``ParserError``, ``UnicodeDecodeError``), ``ArrowException`` or an OSError without an errno
    (a page that does not decode); errors mlnb raised on purpose and the system's own OSErrors
    (with an errno) pass through.
    """
    import pyarrow as pa

    try:
        yield
    except MlnbError:
        raise
    except (ValueError, EOFError, OSError, pa.ArrowException) as exc:
        if isinstance(exc, OSError) and exc.errno:  # the system refused (permissions ...): not damage
            raise
        kind = Path(path).suffix.lstrip(".") or "parquet"
        reason = " ".join(str(exc).split())[:200]
        raise MlnbError(f"cannot read {path} as {kind}: {reason} — check it is a complete {kind} file "
                        "(write it again or restore it)") from None


def load_frame(spec: str) -> Any:
    """A file (parquet/csv/...) or a dataset reference such as ``train@1`` as a DataFrame.

    A spec that names no file is read as a dataset reference; a plain name (no ``@``) outside a
    project was meant as a file, and is reported as a missing file, not as a missing project.
    """
    path = Path(spec)
    if path.exists():
        with reading(spec):
            if path.is_dir():
                import pandas as pd

                return pd.read_parquet(path)
            from ..data._frames import read_table

            return read_table(path)
    if is_file_spec(spec):
        raise NotFound(f"no such file: {spec}")
    from .. import data

    try:
        return data.load(spec)
    except NotAProject:
        if "@" in spec:
            raise
        raise NotFound(f"no such file: {spec} (nor a dataset: that needs an mlnb project, see `mlnb init`)") from None


def resolve_source(spec: str, shell: Any = None, prefer_path: bool = False) -> Any:
    """A DataFrame from a notebook variable name, a file, or a dataset reference.

    With ``prefer_path`` a parquet file or folder (or a saved ``.npz`` profile) comes back as its
    path, so it can be read in batches instead of all at once.
    """
    if shell is not None and spec.isidentifier() and spec in getattr(shell, "user_ns", {}):
        value = shell.user_ns[spec]
        import pandas as pd

        if not isinstance(value, pd.DataFrame):
            raise UsageError(f"notebook variable {spec!r} is a {type(value).__name__}, not a DataFrame")
        return value
    path = Path(spec)
    if prefer_path and path.exists() and (path.is_dir() or path.suffix.lower() in (".parquet", ".pq", ".npz")):
        return path
    return load_frame(spec)
