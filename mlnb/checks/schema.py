"""Schemas: inferred from a frame, saved as readable YAML, reviewed in git, validated against.

>>> schema = mlnb.checks.infer_schema(train_df)                     # doctest: +SKIP
>>> schema.save("schemas/train.yaml")                               # doctest: +SKIP
>>> mlnb.checks.load_schema("schemas/train.yaml").validate(new_df)  # doctest: +SKIP

Inferred per column: dtype (int, float, bool, datetime, string, category, object), nullability,
min/max (numbers and datetimes), allowed values (category columns, and string/object columns
with at most ``max_categories`` distinct values), and uniqueness (int and string columns whose
values are all distinct, e.g. ids).
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MlnbError, NotFound, UsageError
from ._html import HtmlDisplay

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .validation import ValidationResult

__all__ = ["ColumnSchema", "Schema", "infer_schema", "load_schema"]

DTYPES = ("int", "float", "bool", "datetime", "string", "category", "object")
_HEADER = (
    "# mlnb schema (docs/checks.md). Edit freely and review it in git.\n"
    "# Per column: dtype, nullable, min/max, allowed values, unique. Check data with\n"
    "#   mlnb validate DATA --schema THIS_FILE\n"
)


def dtype_family(s: pd.Series) -> str:
    import pandas as pd

    t = pd.api.types
    dt = s.dtype
    if t.is_bool_dtype(dt):
        return "bool"
    if t.is_integer_dtype(dt):
        return "int"
    if t.is_float_dtype(dt):
        return "float"
    if t.is_datetime64_any_dtype(dt):
        return "datetime"
    if isinstance(dt, pd.CategoricalDtype):
        return "category"
    if t.is_string_dtype(dt):
        values = s.dropna()
        if dt == object and not values.map(type).eq(str).all():
            return "object"
        return "string"
    return "object"


@dataclass
class ColumnSchema:
    """Expectations for one column; ``None`` means "not checked"."""

    dtype: str
    nullable: bool = True
    min: Any = None
    max: Any = None
    allowed: list[Any] | None = None
    unique: bool = False

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise UsageError(f"unknown dtype {self.dtype!r}: use one of {', '.join(DTYPES)}")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dtype": self.dtype, "nullable": self.nullable}
        if self.min is not None:
            out["min"] = _yaml_value(self.min)
        if self.max is not None:
            out["max"] = _yaml_value(self.max)
        if self.allowed is not None:
            out["allowed"] = [_yaml_value(v) for v in self.allowed]
        if self.unique:
            out["unique"] = True
        return out

    def bound(self, value: Any) -> Any:
        """A min/max as the Python/pandas value it is compared with."""
        if value is None:
            return None
        if self.dtype == "datetime":
            import pandas as pd

            return pd.Timestamp(value)
        return value


def _yaml_value(v: Any) -> Any:
    if hasattr(v, "item") and not hasattr(v, "isoformat"):
        v = v.item()
    if isinstance(v, _dt.datetime) or hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, float) and math.isinf(v):
        return v
    return v


@dataclass
class Schema(HtmlDisplay):
    """An ordered set of column expectations; ``strict`` makes unexpected columns failures."""

    columns: dict[str, ColumnSchema] = field(default_factory=dict)
    strict: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "strict": self.strict, "columns": {n: c.to_dict() for n, c in self.columns.items()}}

    def to_yaml(self) -> str:
        import yaml

        return _HEADER + yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=100)

    def save(self, path: str | Path) -> Path:
        """Write the schema as YAML (folders are created)."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(self.to_yaml(), encoding="utf-8")
        return out

    @classmethod
    def from_dict(cls, data: Any, source: str = "schema") -> Schema:
        if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
            raise UsageError(f"{source} is not an mlnb schema: it needs a 'columns:' mapping")
        cols = {}
        for name, spec in data["columns"].items():
            if not isinstance(spec, dict) or "dtype" not in spec:
                raise UsageError(f"{source}: column {name!r} needs at least 'dtype:'")
            unknown = set(spec) - {"dtype", "nullable", "min", "max", "allowed", "unique"}
            if unknown:
                raise UsageError(f"{source}: column {name!r} has unknown key(s) {sorted(unknown)}")
            try:
                cols[str(name)] = ColumnSchema(**spec)
            except UsageError as exc:
                raise UsageError(f"{source}: column {name!r}: {exc}") from None
        return cls(cols, bool(data.get("strict", False)))

    def validate(self, df: pd.DataFrame | str | Path, max_examples: int = 100) -> ValidationResult:
        """Check ``df`` (or a parquet file or folder, streamed); every failing check is counted,
        with up to ``max_examples`` examples each."""
        from .validation import validate

        return validate(self, df, max_examples=max_examples)

    def to_pandera(self) -> Any:
        """The same expectations as a ``pandera`` DataFrameSchema (needs ``pip install pandera``)."""
        from ._pandera import to_pandera

        return to_pandera(self)

    def __str__(self) -> str:
        return self.to_yaml()

    def _plain_text(self) -> str:
        return self.to_yaml()

    def _repr_html_(self) -> str:
        from .._display import Table

        rows = [{"column": n, **c.to_dict()} for n, c in self.columns.items()]
        cols = ["column", "dtype", "nullable", "min", "max", "allowed", "unique"]
        return Table(rows, cols, title=f"Schema ({len(rows)} columns{', strict' if self.strict else ''})")._repr_html_()


def _infer_column(s: pd.Series, max_categories: int) -> ColumnSchema:
    family = dtype_family(s)
    values = s.dropna()
    col = ColumnSchema(dtype=family, nullable=bool(s.isna().any()))
    if values.empty:
        return col
    if family in ("int", "float", "datetime"):
        finite = values if family != "float" else values[values.abs() != math.inf]
        if not finite.empty:
            col.min, col.max = finite.min(), finite.max()
            if family == "datetime":
                col.min, col.max = col.min.isoformat(), col.max.isoformat()
    if family == "category":
        col.allowed = [_yaml_value(v) for v in s.cat.categories]
    elif family in ("string", "object"):
        uniq = values.astype(str).unique() if family == "object" else values.unique()
        if len(uniq) <= max_categories and len(uniq) < len(values):
            col.allowed = sorted(_yaml_value(v) for v in uniq)
    if family in ("int", "string") and len(values) > 1 and values.is_unique:
        col.unique = True
    return col


def infer_schema(df: pd.DataFrame, max_categories: int = 20, strict: bool = False) -> Schema:
    """Infer a schema from a (training) frame.

    ``df`` may also be the path of a parquet file or folder, read in batches in bounded memory
    (:mod:`._stream_schema`), with the same result.

    >>> schema = mlnb.checks.infer_schema(train_df, max_categories=30)   # doctest: +SKIP
    >>> schema = mlnb.checks.infer_schema("data/train/")                 # doctest: +SKIP
    """
    from ._inputs import check_frame
    from ._stream_schema import parquet_or_frame

    df = parquet_or_frame(df)
    if isinstance(df, Path):
        from ._stream_schema import infer_parquet

        return infer_parquet(df, max_categories, strict)

    check_frame(df, "infer_schema input")
    if df.empty:
        raise UsageError("cannot infer a schema from a frame with no rows: pass the training data")
    return Schema({str(n): _infer_column(df[n], max_categories) for n in df.columns}, strict)


def load_schema(path: str | Path) -> Schema:
    """Read a schema saved by :meth:`Schema.save` (or written by hand)."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise NotFound(f"no schema file at {p}: create one with `mlnb schema infer DATA -o {p}`")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MlnbError(f"{p} is not valid YAML: {exc}: fix it, or write it again with `mlnb schema infer`") from None
    return Schema.from_dict(data, str(p))
