"""Outcomes joined to predictions by id, on 64-bit integer codes of the ids (no Python strings).

Each id (a string) gets a 64-bit code computed from its UTF-8 bytes, straight from the Arrow
buffers: a polynomial hash of the bytes mixed with the length, then SplitMix64's finaliser. The
outcome log is read once per report (``id``, ``outcome``, ``time``) and reduced to the latest
outcome per code in an open-addressing hash table, in one pass without sorting (compiled kernels,
:mod:`._join_kernels`). A window's ids are then coded and looked up in that table (the row after
the previous answer first, when it is its code's latest row: outcomes logged in prediction order
are then read in order).

A code is not an id: two ids could share one. So every match is **verified** — the matched
outcome's id must equal the prediction's id, byte for byte — and a window where any match fails
that test is joined again the exact way (an index of the id strings, built only then). The result
is therefore always the string join's: the latest outcome of each id, NaN / None where none
arrived. Ids with nulls (in the window or the outcome log) are always joined the exact way.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _strings(ids: Any) -> tuple[Any, np.ndarray, np.ndarray]:
    """A (chunked) Arrow array of ids as one string array and numpy views of its buffers:
    (array, offsets as int32 or int64, bytes)."""
    import pyarrow as pa

    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks() if ids.num_chunks != 1 else ids.chunk(0)
    if not pa.types.is_string(ids.type) and not pa.types.is_large_string(ids.type):
        ids = ids.cast(pa.string())
    n = len(ids)
    if n == 0:
        return ids, np.zeros(1, dtype=np.int64), np.empty(0, np.uint8)
    width = np.int64 if pa.types.is_large_string(ids.type) else np.int32
    bufs = ids.buffers()
    offsets = np.frombuffer(bufs[1], dtype=width)[ids.offset:ids.offset + n + 1]  # a view: no copy
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.empty(0, np.uint8)
    return ids, offsets, data


def codes(ids: Any) -> np.ndarray:
    """The 64-bit code of each id of an Arrow (chunked) array of strings; ids that are not
    strings are coded from their text."""
    from ._join_kernels import id_codes

    _, offsets, data = _strings(ids)
    out = np.empty(len(offsets) - 1, dtype=np.uint64)
    id_codes(offsets, data, out)
    return out


class OutcomeIndex:
    """The latest outcome of every id of a model, looked up by code (module docstring)."""

    def __init__(self, table: Any) -> None:
        """From the outcome log's ``id``, ``outcome``, ``time`` (an Arrow table, in log order):
        the latest outcome per id, the later row winning a tie in time."""
        from . import _performance as perf
        from ._join_kernels import latest_per_code, mark_latest

        self._table = table
        self._ids, self._offsets, self._data = _strings(table.column("id"))
        #: ids with nulls are joined the exact way only (a null is no string to compare)
        self._nulls = bool(self._ids.null_count)
        self._codes = codes(self._ids)
        times = np.ascontiguousarray(table.column("time").to_numpy(zero_copy_only=False), dtype=np.float64)
        n = max(len(self._codes), 1)
        size = 1 << max(4, int(3 * n // 2).bit_length())  # at most two thirds full
        self._slots = np.full(size, -1, dtype=np.int32 if n < 2**31 else np.int64)
        self._n = int(latest_per_code(self._codes, times, self._slots))
        self._latest = np.zeros(len(self._codes), dtype=np.bool_)  # rows holding their id's latest outcome
        mark_latest(self._slots, self._latest)
        self.values = perf.labels(table.column("outcome").to_numpy(zero_copy_only=False))
        self._exact: tuple[Any, np.ndarray] | None = None
        self.fallbacks = 0  # windows joined the exact way (a code shared by two ids, or null ids)

    def __len__(self) -> int:
        return self._n

    @classmethod
    def read(cls, folder: Any) -> OutcomeIndex | None:
        """The outcome log under ``folder``, or None when there is none."""
        from ._log import _dataset
        from ._windows import BATCH_ROWS

        dataset = _dataset(folder)
        if dataset is None:
            return None
        # a file's column as one chunk: fewer pieces to join into the one id buffer the index keeps
        table = dataset.to_table(columns=["id", "outcome", "time"], batch_size=BATCH_ROWS)
        return cls(table) if table.num_rows else None

    def _exact_join(self) -> tuple[Any, np.ndarray]:
        """The string join's index and values (what a code shared by two ids falls back to)."""
        if self._exact is None:
            import pandas as pd

            from . import _performance as perf

            frame = self._table.to_pandas()
            latest = frame.sort_values("time", kind="stable").drop_duplicates("id", keep="last")
            self._exact = pd.Index(latest["id"].astype(str)), perf.labels(latest["outcome"].to_numpy())
        return self._exact

    def rows(self, ids: Any) -> np.ndarray | None:
        """For each id (an Arrow array), the row of the outcome log holding its latest outcome,
        or -1; None when a match fails its check (or ids are null): then only the exact join answers."""
        from ._join_kernels import find, same_strings

        ids, offsets, data = _strings(ids)
        if self._nulls or ids.null_count:
            return None
        at = np.empty(len(ids), dtype=np.int64)
        find(codes(ids), self._slots, self._codes, self._latest, at)
        return at if same_strings(at, offsets, data, self._offsets, self._data) else None

    def lookup(self, ids: Any) -> np.ndarray:
        """The outcome of each id (an Arrow array): NaN, or None for text labels, where none arrived."""
        at, values = self.rows(ids), self.values
        if at is None:  # a code shared by two ids, or null ids
            self.fallbacks += 1
            index, values = self._exact_join()
            at = index.get_indexer(pd_text(ids))
        out = values[np.maximum(at, 0)].astype(object if values.dtype.kind in "OUS" else float)
        out[at < 0] = float("nan") if out.dtype.kind == "f" else None
        return out


def pd_text(ids: Any) -> Any:
    """Ids as the exact join compares them: text, as pandas' ``astype(str)`` gives it."""
    import pandas as pd

    return pd.Series(ids.to_pandas()).astype(str)
