"""Outcomes joined to predictions by id, on 64-bit integer codes of the ids (no Python strings).

Each id (a string) gets a 64-bit code computed from its UTF-8 bytes with numpy, straight from
the Arrow buffers: a polynomial hash of the bytes mixed with the length, then SplitMix64's
finaliser. The outcome log is read once per report (``id``, ``outcome``, ``time``), reduced to
the latest outcome per id, and its codes are put in one hash table (pandas' ``UInt64`` index).
A window's ids are then coded and looked up in that table.

A code is not an id: two ids could share one. So every match is **verified** — the matched
outcome's id must equal the prediction's id, compared by pyarrow — and a window where any match
fails that test is joined again the exact way (an index of the id strings, built only then).
The result is therefore always the string join's: the latest outcome of each id, NaN / None
where none arrived.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_MULT = np.uint64(0x9E3779B97F4A7C15)
_LEN = np.uint64(0xC2B2AE3D27D4EB4F)
_POWERS = np.ones(1, dtype=np.uint64)
#: ids coded per block
BLOCK = 1 << 15


def _powers(n: int) -> np.ndarray:
    """``_MULT ** k`` (mod 2^64) for k < n, cached and grown as longer ids appear."""
    global _POWERS
    if len(_POWERS) < n:
        size = max(n, 2 * len(_POWERS), 64)
        out = np.empty(size, dtype=np.uint64)
        out[0] = 1
        with np.errstate(over="ignore"):
            for k in range(1, size):
                out[k] = out[k - 1] * _MULT
        _POWERS = out
    return _POWERS


def _mix(h: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, in place."""
    with np.errstate(over="ignore"):
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return h


def codes(ids: Any) -> np.ndarray:
    """The 64-bit code of each id of an Arrow (chunked) array of strings; ids that are not
    strings are coded from their text."""
    import pyarrow as pa

    if isinstance(ids, pa.ChunkedArray):
        parts = [codes(c) for c in ids.chunks]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.uint64)
    if not pa.types.is_string(ids.type) and not pa.types.is_large_string(ids.type):
        ids = ids.cast(pa.string())
    n = len(ids)
    if n == 0:
        return np.empty(0, dtype=np.uint64)
    width = np.int64 if pa.types.is_large_string(ids.type) else np.int32
    bufs = ids.buffers()
    offsets = np.frombuffer(bufs[1], dtype=width)[ids.offset:ids.offset + n + 1].astype(np.int64)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.empty(0, np.uint8)
    out = np.empty(n, dtype=np.uint64)
    for i in range(0, n, BLOCK):  # blocks whose work arrays stay in the CPU cache
        out[i:i + BLOCK] = _block_codes(data, offsets[i:i + BLOCK + 1])
    return _mix(out)


def _block_codes(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The unmixed codes of the ids between consecutive ``offsets`` of ``data``."""
    lo, hi = int(offsets[0]), int(offsets[-1])
    lengths = np.diff(offsets)
    total = np.zeros(hi - lo + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        if hi > lo:
            # each byte's position inside its id, counted from the id's end
            pos = np.repeat(offsets[1:] - lo, lengths) - np.arange(1, hi - lo + 1)
            term = _powers(int(lengths.max()))[pos]
            term *= data[lo:hi] + np.uint64(1)
            np.cumsum(term, out=total[1:])
        h = total[offsets[1:] - lo] - total[offsets[:-1] - lo]
        h += lengths.astype(np.uint64) * _LEN
    return h


class OutcomeIndex:
    """The latest outcome of every id of a model, looked up by code (module docstring)."""

    def __init__(self, table: Any) -> None:
        """From the outcome log's ``id``, ``outcome``, ``time`` (an Arrow table, in log order):
        the latest outcome per id, the later row winning a tie in time."""
        import pandas as pd
        import pyarrow as pa

        from . import _performance as perf

        self._table = table
        self._all_ids = table.column("id")
        every = codes(self._all_ids)
        order = np.argsort(table.column("time").to_numpy(), kind="stable")
        #: per entry of the index, the row of the outcome log holding that id's latest outcome
        latest = np.zeros(len(every), dtype=bool)
        latest[order[~pd.Index(every[order]).duplicated(keep="last")]] = True
        self._rows = np.flatnonzero(latest)
        self.values = perf.labels(table.column("outcome").take(pa.array(self._rows)).to_numpy(zero_copy_only=False))
        self._codes = pd.Index(every[self._rows])
        self._codes.get_indexer(self._codes[:1])  # its hash table built now, not by two windows' threads at once
        self._exact: tuple[Any, np.ndarray] | None = None
        self.fallbacks = 0  # windows joined the exact way (a code shared by two ids)

    def __len__(self) -> int:
        return len(self.values)

    @classmethod
    def read(cls, folder: Any) -> OutcomeIndex | None:
        """The outcome log under ``folder``, or None when there is none."""
        from ._log import _dataset

        dataset = _dataset(folder)
        if dataset is None:
            return None
        table = dataset.to_table(columns=["id", "outcome", "time"])
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

    def lookup(self, ids: Any) -> np.ndarray:
        """The outcome of each id (an Arrow array): NaN, or None for text labels, where none arrived."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if isinstance(ids, pa.ChunkedArray):
            ids = ids.combine_chunks()
        at, values = self._codes.get_indexer(codes(ids)), self.values
        hit = at >= 0
        if hit.any():
            mine = ids.filter(pa.array(hit)).cast(pa.string())
            same = pc.equal(mine, self._all_ids.take(pa.array(self._rows[at[hit]])).cast(pa.string()))
            if same.null_count or not pc.all(same).as_py():  # a code shared by two ids
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
