"""Reference profiles: fit once on the reference, score many windows.

A profile keeps, per column, what every drift statistic needs and nothing recomputed later:
finite values binned once on reference-quantile edges, mean and standard deviation (numeric and
datetime columns), category counts (categorical columns), and row, missing and infinite counts.

>>> import pandas as pd, mlnb
>>> ref = pd.DataFrame({"x": range(100), "c": ["a", "b"] * 50})
>>> p = mlnb.checks.profile(ref)
>>> p.drift(ref).drifted
[]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._display import Table
from ._batches import DEFAULT_BATCH, DEFAULT_SAMPLE, Accumulator, summarize, summarize_parquet
from ._columns import CATEGORICAL, ColumnData, column_data
from ._html import HtmlDisplay
from ._parallel import map_columns
from .stats.numeric import NumericReference
from .stats.sketch import Sketch

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .report import DriftReport
    from .stats.binning import ReferenceBins

__all__ = ["ColumnProfile", "Profile", "profile"]


@dataclass
class ColumnProfile:
    """The fitted reference of one column."""

    name: str
    kind: str
    n_rows: int
    n_missing: int
    n_inf: int
    numeric: NumericReference | None = None
    counts: dict[Any, int] | None = None
    notes: tuple[str, ...] = ()
    #: numeric: the fine histogram of all values (a streamed source); alone when ``numeric`` is None
    sketch: Sketch | None = None
    #: (mean, std), exact, of a column known only by its ``sketch``
    moments: tuple[float, float] | None = None

    @classmethod
    def fit(cls, data: ColumnData, mean: float | None = None, std: float | None = None, index: bool = True,
            bins: ReferenceBins | None = None) -> ColumnProfile:
        numeric = None
        if data.values is not None and len(data.values):
            numeric = NumericReference.fit(data.values, bins, index)
            if mean is not None:  # exact moments merged over batches (the values may be a sample)
                numeric.mean, numeric.std = mean, std
        return cls(data.name, data.kind, data.n_rows, data.n_missing, data.n_inf, numeric,
                   dict(data.counts) if data.counts is not None else None, tuple(data.notes), data.sketch,
                   data.moments)

    def grid(self) -> Sketch | None:
        """An empty histogram on this column's grid (to summarise a window comparably), if numeric."""
        if self.sketch is not None:
            return self.sketch.empty()
        return Sketch.grid(self.numeric.values) if self.numeric is not None else None

    def data(self) -> ColumnData:
        """This profile as a window (to score one profile against another)."""
        values = self.numeric.values if self.numeric is not None else (
            None if self.kind == CATEGORICAL or self.sketch is not None else np.empty(0))
        return ColumnData(self.name, self.kind, self.n_rows, self.n_missing, self.n_inf, values=values,
                          counts=self.counts, notes=list(self.notes), sketch=self.sketch, moments=self.moments)

    @property
    def missing_rate(self) -> float:
        return self.n_missing / self.n_rows if self.n_rows else float("nan")

    def summary(self) -> dict[str, Any]:
        row: dict[str, Any] = {"column": self.name, "kind": self.kind, "rows": self.n_rows,
                               "missing": round(self.missing_rate, 4)}
        if self.numeric is not None:
            num = self.numeric
            row.update(mean=num.mean, std=num.std, min=num.min, max=num.max,
                       categories=None)
        elif self.sketch is not None and self.moments is not None:
            row.update(mean=self.moments[0], std=self.moments[1], min=self.sketch.min, max=self.sketch.max,
                       categories=None)
        else:
            row.update(mean=None, std=None, min=None, max=None, categories=len(self.counts or {}))
        row["notes"] = "; ".join(self.notes)
        return row


class Profile(HtmlDisplay):
    """A fitted reference: ``profile.drift(window)`` scores a window against it."""

    def __init__(self, columns: dict[str, ColumnProfile], source: str = "") -> None:
        self.columns = columns
        self.source = source

    @property
    def n_rows(self) -> int:
        return max((c.n_rows for c in self.columns.values()), default=0)

    def drift(self, current: Any, columns: list[str] | None = None, **config: Any) -> DriftReport:
        """Score ``current`` (a DataFrame, a parquet path or another Profile) against this profile.

        Keyword arguments are :class:`mlnb.checks.DriftConfig` fields (``alpha``, ``thresholds`` ...).

        >>> report = profile.drift(new_df, thresholds={"age": 0.2})   # doctest: +SKIP
        """
        from ._drift import DriftConfig, score

        return score(self, current, columns=columns, config=DriftConfig.of(**config))

    def save(self, path: str | Path) -> Path:
        """Write this profile to a ``.npz`` file; :func:`mlnb.checks.load_profile` reads it back.

        >>> mlnb.checks.profile(train_df).save("profiles/train.npz")   # doctest: +SKIP
        """
        from ._profile_file import save_profile

        return save_profile(self, path)

    def summary(self) -> Table:
        cols = ["column", "kind", "rows", "missing", "mean", "std", "min", "max", "categories", "notes"]
        return Table([c.summary() for c in self.columns.values()], cols, title=f"Profile of {self.source or 'reference'}")

    def to_frame(self) -> pd.DataFrame:
        return self.summary().to_frame()

    def to_dict(self) -> list[dict[str, Any]]:
        return self.summary().to_dict()

    def __str__(self) -> str:
        return str(self.summary())

    def __repr__(self) -> str:
        return f"<Profile of {len(self.columns)} columns, {self.n_rows:,} rows>"

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()


def _from_accumulators(acc: dict[str, Accumulator], source: str, index: bool) -> Profile:
    def fit(a: Accumulator) -> ColumnProfile:
        exact = a.kind != CATEGORICAL and a.n
        return ColumnProfile.fit(a.data(), a.mean if exact else None, a.std if exact else None, index)

    return Profile(dict(zip(acc, map_columns(fit, acc.values()))), source)


def profile(
    reference: Any,
    columns: list[str] | None = None,
    batch_size: int = DEFAULT_BATCH,
    sample_size: int | None = None,
    *,
    index: bool = True,
    grids: dict[str, Sketch] | None = None,
) -> Profile:
    """Fit a reference profile from a DataFrame, a parquet file/folder, or an iterable of DataFrames
    (a ``.npz`` file saved by :meth:`Profile.save` is loaded instead).

    A DataFrame is profiled exactly. A parquet source is read ``batch_size`` rows at a time, row
    groups in parallel threads, with at most ``sample_size`` (default 2**20) values kept per
    numeric column and beyond that a fine histogram, so memory stays bounded; see
    :mod:`mlnb.checks._batches` for what is exact after merging and the report's notes for the
    error bounds. ``grids`` (per column, an empty :class:`~.stats.sketch.Sketch`) puts the
    histograms on a reference's grid, so that this profile can be scored against it.

    ``index=True`` keeps each numeric column's values grouped by bin (10–15 ms per million
    values), so that scoring windows against the profile is faster; ``drift(ref, cur)``, which
    scores once, skips it.

    >>> p = mlnb.checks.profile(train_df)                    # doctest: +SKIP
    >>> p = mlnb.checks.profile("big/", sample_size=200_000)  # doctest: +SKIP
    """
    from ..errors import UsageError
    from ._inputs import check_columns, check_frame, is_frame

    if isinstance(reference, Profile):
        return reference
    if is_frame(reference):
        check_frame(reference, "reference")
        if len(reference) == 0:
            raise UsageError("the reference has no rows: profile a non-empty frame")
        names = check_columns(reference, columns, "reference")
        if sample_size is None:
            fitted = map_columns(lambda n: ColumnProfile.fit(column_data(reference[n], str(n)), index=index), names)
            return Profile({str(n): c for n, c in zip(names, fitted)}, "DataFrame")
        return _from_accumulators(summarize([reference[names]], sample_size=sample_size), "DataFrame", index)
    if isinstance(reference, (str, Path)):
        path = Path(reference)
        if path.suffix == ".npz":
            from ._profile_file import load_profile

            return load_profile(path, index=index)
        if path.is_dir() or path.suffix.lower() in (".parquet", ".pq"):
            acc = summarize_parquet(path, columns, batch_size, sample_size or DEFAULT_SAMPLE, grids)
            if not any(a.n_rows for a in acc.values()):  # no batch, or only empty ones
                raise UsageError(f"{path} has no rows: profile a non-empty dataset")
            return _from_accumulators(acc, str(path), index)
        from ._inputs import load_frame

        return profile(load_frame(str(reference)), columns, batch_size, sample_size, index=index, grids=grids)
    from ._dask import is_dask

    if is_dask(reference):
        from ._dask import summarize_dask

        acc = summarize_dask(reference, columns, sample_size or DEFAULT_SAMPLE, grids)
        if not any(a.n_rows for a in acc.values()):
            raise UsageError("the Dask DataFrame has no rows: profile a non-empty dataset")
        return _from_accumulators(acc, "Dask DataFrame", index)
    if hasattr(reference, "__iter__"):
        return _from_accumulators(summarize(reference, columns, sample_size or DEFAULT_SAMPLE, grids), "batches", index)
    raise UsageError(f"cannot profile a {type(reference).__name__}: pass a DataFrame or a parquet path")
