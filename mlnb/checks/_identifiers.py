"""Identifier-like columns: keys whose distribution says nothing, so drift does not test them.

A column is identifier-like when, in the reference, with at least ``min_values`` values:

* **text / categorical**: at least ``share`` (default 95 %) of its values are distinct — every
  label is (nearly) unique, so a chi-square table has one count per cell and a new batch's
  labels are all "new": Jensen–Shannon is 1.0 whatever happened to the data;
* **whole numbers** (an integer dtype, or floats that are all integral): at least ``share``
  distinct *and* spanning a range at most twice their count — a row number or an
  auto-increment key, whose next batch simply continues the sequence.

Continuous floats are never identifier-like (their values are distinct by nature), nor are
integers spread thinly over a wide range (amounts in cents, counts): those are measurements and
are tested. Datetimes are tested as numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._columns import CATEGORICAL, NUMERIC

if TYPE_CHECKING:  # pragma: no cover
    from ._profile import ColumnProfile

__all__ = ["identifier_like"]

#: an integer column spanning at most this many values per value is a sequence (a key)
SEQUENCE_SPAN = 2.0


def identifier_like(ref: ColumnProfile, share: float | None, min_values: int) -> str | None:
    """Why ``ref`` is identifier-like (a short phrase), or None when it is a feature to test."""
    if share is None:
        return None
    if ref.kind == CATEGORICAL:
        counts = ref.counts or {}
        n, distinct = sum(counts.values()), len(counts)
        if n < max(min_values, 2) or distinct < share * n:
            return None
        return f"identifier-like: {distinct:,} distinct of {n:,} values ({distinct / n:.0%} >= {share:.0%})"
    if ref.kind != NUMERIC or ref.numeric is None:
        return None
    x = ref.numeric.values
    n_values = ref.n_rows - ref.n_missing - ref.n_inf  # x may be a sample of these
    if len(x) < max(min_values, 2) or ref.numeric.max - ref.numeric.min + 1 > SEQUENCE_SPAN * n_values:
        return None
    head = x[:1024]  # a fraction among the first values settles it without a pass over all
    if not np.array_equal(head, np.floor(head)) or not np.array_equal(x, np.floor(x)):
        return None
    distinct = len(np.unique(x))
    if distinct < share * len(x):
        return None
    return (f"identifier-like: whole numbers, {distinct / len(x):.0%} distinct, in a range of "
            f"{ref.numeric.max - ref.numeric.min + 1:,.0f} for {n_values:,} values (a key or row number)")
