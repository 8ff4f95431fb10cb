"""``Schema.to_pandera()``: the same expectations as a pandera ``DataFrameSchema``."""

from __future__ import annotations

from typing import Any

from ..errors import UsageError
from .schema import Schema

_DTYPES = {"int": "int64", "float": "float64", "bool": "bool", "datetime": "datetime64[ns]"}


def _pandera() -> Any:
    try:
        import pandera.pandas as pa
    except ImportError:
        try:
            import pandera as pa  # pandera < 0.24
        except ImportError:
            raise UsageError("Schema.to_pandera() needs pandera: run `pip install pandera`") from None
    return pa


def to_pandera(schema: Schema) -> Any:
    """A ``pandera.DataFrameSchema``; string and category columns are checked by value, not dtype."""
    pa = _pandera()
    columns = {}
    for name, col in schema.columns.items():
        checks = []
        if col.min is not None:
            checks.append(pa.Check.ge(col.bound(col.min)))
        if col.max is not None:
            checks.append(pa.Check.le(col.bound(col.max)))
        if col.allowed is not None:
            checks.append(pa.Check.isin(col.allowed))
        if col.unique and col.nullable:  # pandera's unique counts missing values as duplicates; mlnb does not
            checks.append(pa.Check(lambda s: ~(s.notna() & s.duplicated(keep=False)), name="unique_non_null"))
        columns[name] = pa.Column(_DTYPES.get(col.dtype), checks=checks, nullable=col.nullable,
                                  unique=col.unique and not col.nullable, required=True)
    return pa.DataFrameSchema(columns, strict=schema.strict)
