"""One Arrow column batch reduced to what the streaming summaries count, straight from its buffers.

Numbers (integer and floating types) go to numpy without a copy where Arrow allows it; strings are
read as dictionary arrays (``read_dictionary``), so counting them is one ``bincount`` of the
indices. Every other type (timestamps, booleans, decimals, nested ...) goes through pandas and
:func:`~._columns.column_data`, as a DataFrame would. The counts are those of the pandas path:
nulls and NaN are missing, ±inf counted apart, strings counted by value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._columns import CATEGORICAL, NUMERIC, ColumnData, column_data

#: how a column is read: numbers and strings from Arrow, the rest through pandas
FAST_NUMBER, FAST_TEXT, PANDAS = "number", "text", "pandas"
_NO_MASK = np.empty(0, np.uint8)


def reading_mode(arrow_type: Any) -> str:
    """How a column of ``arrow_type`` is summarised (see the module docstring)."""
    import pyarrow as pa

    t = arrow_type
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return FAST_NUMBER
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return FAST_TEXT
    return PANDAS


def kind_for(mode: str) -> str | None:
    """The column kind a reading mode implies (None: pandas decides)."""
    return {FAST_NUMBER: NUMERIC, FAST_TEXT: CATEGORICAL}.get(mode)


def finite_values(arr: Any) -> tuple[np.ndarray, int, int]:
    """(finite float64 values, missing, infinite) of an Arrow integer or floating array."""
    missing = arr.null_count
    if missing:
        arr = arr.drop_null()
    x = number_buffers(arr)[0]  # a view of the values (Array.to_numpy would import pandas)
    if x.dtype != np.float64:
        x = x.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf in the sum is a finding, not a warning
        total = x.sum() if x.dtype.kind == "f" else 0.0
    if not np.isfinite(total) and not np.isfinite(x).all():  # a finite sum: all finite
        finite = np.isfinite(x)
        nan = int(np.isnan(x).sum())
        inf = int(len(x) - finite.sum() - nan)
        return x[finite], missing + nan, inf
    return x, missing, 0


def number_buffers(arr: Any) -> tuple[np.ndarray, np.ndarray | None, int]:
    """(values, validity bitmap or None, bit offset) of an Arrow integer or floating array as
    numpy views of its buffers, without a copy: the values under a null are left in place, for
    a kernel to skip by the bitmap (its bit for value ``i`` is bit ``offset + i``)."""
    validity, data = arr.buffers()[:2]
    dtype = np.dtype(arr.type.to_pandas_dtype())
    if data is None:  # no values at all
        return np.empty(0, dtype), None, 0
    values = np.frombuffer(data, dtype, count=len(arr), offset=arr.offset * dtype.itemsize)
    if not arr.null_count:
        return values, None, 0
    return values, np.frombuffer(validity, np.uint8), arr.offset


def text_counts(arr: Any) -> tuple[dict[Any, int], int]:
    """(value -> count, missing) of an Arrow string or dictionary-of-string array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(arr)
    from .stats._sketch_kernels import count_codes

    values = arr.dictionary
    tally = np.zeros(len(values) + 1, np.int64)
    codes, validity, offset = number_buffers(arr.indices)
    if count_codes(codes, _NO_MASK if validity is None else validity, offset, tally):
        raise ValueError("a dictionary index points outside its dictionary")  # Arrow validates: never seen
    # a dictionary may hold a value twice (dictionaries of several pages): add, do not overwrite
    counts: dict[Any, int] = {}
    missing = arr.null_count
    for k, n in zip(values.to_pylist(), tally[:len(values)].tolist()):
        if k is None:  # a null in the dictionary itself
            missing += n
        elif n:
            counts[k] = counts.get(k, 0) + n
    return counts, missing


def batch_data(arr: Any, name: str, mode: str, kind: str | None) -> ColumnData:
    """A column batch as :class:`ColumnData` (``kind``: the column's kind, fixed by its first batch)."""
    if mode == FAST_NUMBER:
        x, missing, inf = finite_values(arr)
        return ColumnData(name, NUMERIC, len(arr), missing, inf, values=x)
    if mode == FAST_TEXT:
        counts, missing = text_counts(arr)
        return ColumnData(name, CATEGORICAL, len(arr), missing, counts=counts)
    import pyarrow as pa

    series = pa.table({name: arr}).to_pandas()[name]
    return column_data(series, name, kind)
