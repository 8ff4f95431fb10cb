"""What a column is (numeric, datetime or categorical) and its values in the form the statistics use.

* int, float (numpy or nullable) and timedelta (in seconds) → **numeric**; never turned categorical
  because of low cardinality.
* datetime (any unit, with or without time zone) → **datetime**: compared as seconds since the epoch.
* bool, category, string, object → **categorical**. A reference object column holding values of
  several types (among its first 10,000) is compared on each value's string form (and says so);
  that choice is the reference's, applied to every window whatever the window holds.

NaN/None/NaT count as missing; ±inf are counted apart and left out of the distribution statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

NUMERIC, DATETIME, CATEGORICAL = "numeric", "datetime", "categorical"
MIXED_AS_TEXT = "mixed value types: compared as text"
UNHASHABLE_AS_TEXT = "unhashable values: compared as text"
#: values of the first this many non-missing entries decide whether an object column is mixed
MIXED_PROBE = 10_000


def compared_as_text(notes: list[str] | tuple[str, ...]) -> bool:
    """Whether a column's counts are keyed by the values' text (its notes say so)."""
    return MIXED_AS_TEXT in notes or UNHASHABLE_AS_TEXT in notes


def as_text(counts: dict[Any, int]) -> dict[str, int]:
    """Counts re-keyed by each value's text, merging values with the same text (1 and "1")."""
    out: dict[str, int] = {}
    for k, v in counts.items():
        out[str(k)] = out.get(str(k), 0) + v
    return out


def kind_of(s: pd.Series) -> str:
    import pandas as pd

    dt = s.dtype
    if pd.api.types.is_bool_dtype(dt):
        return CATEGORICAL
    if pd.api.types.is_datetime64_any_dtype(dt):
        return DATETIME
    if pd.api.types.is_timedelta64_dtype(dt):
        return NUMERIC
    if pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_complex_dtype(dt):
        return NUMERIC
    return CATEGORICAL


@dataclass
class ColumnData:
    """One column of one frame, reduced to what drift statistics need."""

    name: str
    kind: str
    n_rows: int
    n_missing: int
    n_inf: int = 0
    values: np.ndarray | None = None  # numeric/datetime: finite float64 values
    counts: dict[Any, int] | None = None  # categorical: value -> count
    notes: list[str] = field(default_factory=list)
    #: numeric: a fine histogram of all finite values (see :mod:`.stats.sketch`); alone when
    #: ``values`` is None (too many to keep), with exact ``moments`` (mean, std)
    sketch: Any = None
    moments: tuple[float, float] | None = None

    @property
    def n_values(self) -> int:
        if self.values is not None:
            return int(len(self.values))
        if self.sketch is not None:
            return self.sketch.n
        return int(sum(self.counts.values())) if self.counts is not None else 0


def numeric_values(s: pd.Series, kind: str) -> tuple[np.ndarray, int, int]:
    """(finite float64 values, missing count, infinite count); no copy when all are finite."""
    import pandas as pd

    if kind == DATETIME:
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        ns = s.astype("datetime64[ns]").to_numpy()
        missing = np.isnat(ns)
        x = ns.view("i8").astype(np.float64) / 1e9
        n_missing = int(missing.sum())
        return (x[~missing] if n_missing else x), n_missing, 0
    if pd.api.types.is_timedelta64_dtype(s.dtype):
        s = s.dt.total_seconds()
    if isinstance(s.dtype, np.dtype) and s.dtype.kind == "f":
        x = s.to_numpy()
        if x.dtype != np.float64:
            x = x.astype(np.float64)
    else:
        x = s.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(x)
    if finite.all():
        return x, 0, 0
    n_missing = int(np.isnan(x).sum())
    n_inf = int(len(x) - finite.sum() - n_missing)
    return x[finite], n_missing, n_inf


def category_counts(
    s: pd.Series, known: list[Any] | None = None, text: bool | None = None
) -> tuple[dict[Any, int], int, list[str]]:
    """(value -> count for non-missing values, missing count, notes).

    ``known`` (the reference's categories) lets an Arrow string column be counted by looking
    each value up in a small table of them, cheaper than building a new value-count table.
    ``text`` is the reference's choice for a window: count the values' text (True) or the values
    (False); None (a reference) decides from the column itself.
    """
    fast = _counts_among(s, known) if known else None
    if fast is not None:
        return fast
    notes: list[str] = []
    n_missing = int(s.isna().sum())
    if text is None and s.dtype == object:
        text = len({type(v) for v in s.dropna().head(MIXED_PROBE)}) > 1
    if text:
        s = s.map(lambda v: v if v is None or (isinstance(v, float) and v != v) else str(v), na_action="ignore")
        notes.append(MIXED_AS_TEXT)
    try:  # pandas 3 counts lists itself, but they cannot be the keys of a dict
        return _value_counts(s), n_missing, notes
    except TypeError:  # unhashable values such as lists
        return _value_counts(s.dropna().astype(str)), n_missing, [*notes, UNHASHABLE_AS_TEXT]


def _value_counts(s: pd.Series) -> dict[Any, int]:
    vc = s.value_counts(dropna=True, sort=False)
    return {_plain(k): int(v) for k, v in vc[vc > 0].items()}


def _counts_among(s: pd.Series, known: list[Any]) -> tuple[dict[Any, int], int, list[str]] | None:
    """Counts of an Arrow string column whose values are mostly among ``known`` strings."""
    arrow = getattr(s.array, "__arrow_array__", None)
    if arrow is None or not all(isinstance(k, str) for k in known):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = arrow()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    where = pc.index_in(arr, value_set=pa.array(known, type=arr.type))
    tally = np.bincount(where.fill_null(len(known)).to_numpy(), minlength=len(known) + 1)
    counts = {k: int(n) for k, n in zip(known, tally[:-1].tolist()) if n}
    if tally[-1] > arr.null_count:  # values not among the known ones
        new = pc.value_counts(pc.filter(arr, pc.and_(pc.is_null(where), pc.is_valid(arr))))
        counts.update(zip(new.field("values").to_pylist(), new.field("counts").to_pylist()))
    return counts, arr.null_count, []


def _plain(v: Any) -> Any:
    """numpy scalars → Python scalars, so counts serialise and compare across frames."""
    return v.item() if isinstance(v, np.generic) else v


def column_data(s: pd.Series, name: str, kind: str | None = None, known: list[Any] | None = None,
                text: bool | None = None) -> ColumnData:
    """One column reduced for the statistics; ``known`` are the reference's categories, if any,
    and ``text`` its choice of comparing the values' text (see :func:`category_counts`)."""
    kind = kind or kind_of(s)
    n = len(s)
    if kind == CATEGORICAL:
        counts, n_missing, notes = category_counts(s, known, text)
        return ColumnData(name, kind, n, n_missing, counts=counts, notes=notes)
    values, n_missing, n_inf = numeric_values(s, kind)
    notes = [f"{n_inf} infinite values left out of the statistics"] if n_inf else []
    return ColumnData(name, kind, n, n_missing, n_inf, values=values, notes=notes)
