"""The streaming summaries of :mod:`._batches` on Dask: computed where the partitions live, tree-reduced.

Each partition is summarised by a task on the worker holding it (counts, moments, category
counts, a fine histogram per numeric column, and the values themselves only while a column has at
most ``sample_size`` of them); summaries are merged pairwise in a tree, so only summaries travel
and the client receives one per column. The histogram grids are fixed before the partitions run
(the reference's, or the first partition's), so that every partition's histograms merge.

>>> import dask.dataframe as dd                                                        # doctest: +SKIP
>>> mlnb.checks.drift(dd.read_parquet("ref/"), dd.read_parquet("cur/")).drifted        # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ._batches import Accumulator, merge_all, summarize
from .stats.sketch import Sketch

#: summaries merged per task of the reduction tree
FAN_IN = 8
#: rows the histogram grids are chosen from
GRID_ROWS = 65_536


def is_dask(obj: Any) -> bool:
    """Whether ``obj`` is a Dask DataFrame (without importing Dask)."""
    return type(obj).__module__.split(".")[0] in ("dask", "dask_expr") and hasattr(obj, "to_delayed")


def _numeric(dtype: Any) -> bool:
    import pandas as pd

    from ._columns import CATEGORICAL, kind_of

    return kind_of(pd.Series([], dtype=dtype)) != CATEGORICAL


def _summarize_part(frame: Any, columns: list[str] | None, sample_size: int,
                    grids: dict[str, Sketch]) -> dict[str, Accumulator]:
    return summarize([frame], columns, sample_size, grids)


def _merge(*parts: dict[str, Accumulator]) -> dict[str, Accumulator]:
    return merge_all(list(parts))


def summarize_dask(ddf: Any, columns: list[str] | None, sample_size: int,
                   grids: dict[str, Sketch] | None = None) -> dict[str, Accumulator]:
    """Per-column accumulators of a Dask DataFrame, merged by a tree reduction on the cluster."""
    import dask

    from ..errors import UsageError

    if columns:
        unknown = [c for c in columns if c not in ddf.columns]
        if unknown:
            raise UsageError(f"the Dask DataFrame has no column(s) {unknown}; it has {list(ddf.columns)[:20]}")
        ddf = ddf[columns]
    parts = ddf.to_delayed()
    if not parts:
        raise UsageError("the Dask DataFrame has no partitions: nothing to check")
    grids = dict(grids or {})
    need = [c for c, dtype in ddf.dtypes.items() if c not in grids and _numeric(dtype)]
    # the grid of each numeric column without one: from its first rows with values (head() runs
    # on the worker holding the partition; only those rows travel)
    for npartitions in (1, -1):
        if not need:
            break
        head = ddf[need].head(GRID_ROWS, npartitions=npartitions, compute=True)
        for name, acc in summarize([head], list(need), 0).items():
            if acc.sketch is not None:
                grids[name] = acc.sketch.empty()
                need.remove(name)
    task = dask.delayed(_summarize_part, pure=True)
    level = [task(p, None, sample_size, grids) for p in parts]
    merge = dask.delayed(_merge, pure=True)
    while len(level) > 1:
        level = [merge(*level[i:i + FAN_IN]) for i in range(0, len(level), FAN_IN)]
    return dask.compute(level[0])[0]


@contextmanager
def on_cluster(address: str, paths: list[str]) -> Iterator[list[Any]]:
    """Dask DataFrames of parquet ``paths`` while connected to the scheduler at ``address``."""
    from ..errors import MlnbError, UsageError

    try:
        import dask.dataframe as dd
        from distributed import Client
    except ImportError:
        raise UsageError("--dask needs Dask: pip install 'mlnb[dask]'") from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise MlnbError(f"cannot reach the Dask scheduler at {address} ({exc}): start it or check the address") from None
    try:
        yield [dd.read_parquet(p) for p in paths]
    finally:
        client.close()
