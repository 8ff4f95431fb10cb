"""Validating a frame against a :class:`~mlnb.checks.schema.Schema`.

Every check of every column runs (nothing stops at the first failure). A missing column, an
unexpected column (``strict``) or a dtype that cannot hold the expected values is a failure row,
never an exception. Elements that cannot be read as the expected dtype (e.g. ``"n/a"`` in a
numeric column) fail the ``dtype`` check one by one, and the rest of the column is still checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._display import Table, format_value
from ._html import GOOD, HtmlDisplay, coloured_table
from .schema import ColumnSchema, Schema, dtype_family

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["ValidationResult", "validate"]

SUMMARY_COLUMNS = ["column", "check", "expected", "failures", "percent", "examples"]
FAILURE_COLUMNS = ["column", "check", "failure_case", "index"]
_NUMERIC = ("int", "float")
_TEXT = ("string", "category")


class ValidationResult(HtmlDisplay):
    """Outcome of ``Schema.validate``: a summary (one row per check) and the failure cases.

    >>> result = schema.validate(new_df)   # doctest: +SKIP
    >>> result.ok, result.n_failures       # doctest: +SKIP
    >>> result.failures                    # column, check, failure_case, index  # doctest: +SKIP
    """

    def __init__(self, summary: list[dict[str, Any]], failures: pd.DataFrame | None, n_rows: int) -> None:
        self.summary = summary
        self._failures = failures
        self.n_rows = n_rows

    @property
    def failures(self) -> pd.DataFrame:
        """One row per failure case kept: column, check, failure_case, index."""
        if self._failures is None:  # a result with no failures built without pandas (the CLI's fast path)
            self._failures = failure_frame([])
        return self._failures

    @property
    def ok(self) -> bool:
        return not any(r["failures"] for r in self.summary)

    @property
    def n_failures(self) -> int:
        """All failing values (and column-level failures), not only the examples kept."""
        return int(sum(r["failures"] for r in self.summary))

    @property
    def failed_checks(self) -> list[dict[str, Any]]:
        return [r for r in self.summary if r["failures"]]

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def headline(self) -> str:
        if self.ok:
            return f"Validation passed: {len(self.summary)} checks on {self.n_rows:,} rows"
        return (f"Validation FAILED: {len(self.failed_checks)} of {len(self.summary)} checks failed, "
                f"{self.n_failures:,} failing values in {self.n_rows:,} rows")

    def raise_for_failures(self) -> ValidationResult:
        """Raise :class:`mlnb.errors.ValidationFailed` when a check failed; else return self."""
        if not self.ok:
            from ..errors import ValidationFailed

            worst = ", ".join(f"{r['column']}:{r['check']}" for r in self.failed_checks[:5])
            raise ValidationFailed(f"{self.headline()} ({worst}); see result.failures")
        return self

    def table(self) -> Table:
        return Table(self.summary, SUMMARY_COLUMNS, title=self.headline(),
                     formatters={"percent": lambda v: "" if v is None else f"{v:.2%}"})

    def to_frame(self) -> pd.DataFrame:
        return self.table().to_frame()

    def to_dict(self) -> dict[str, Any]:
        records: list[dict[str, Any]] = []
        if self._failures is not None:
            fails = self._failures.astype(object).where(self._failures.notna(), None)
            records = [{k: _plain(v) for k, v in r.items()} for r in fails.to_dict("records")]
        return {"ok": self.ok, "n_rows": self.n_rows, "n_failures": self.n_failures,
                "checks": self.table().to_dict(), "failures": records}

    def to_json(self) -> str:
        import json

        return json.dumps(self.to_dict(), indent=2, default=str)

    def __str__(self) -> str:
        return str(self.table())

    def __repr__(self) -> str:
        return f"<ValidationResult: {self.headline()}>"

    def _repr_html_(self) -> str:
        return coloured_table(self.headline(), not self.ok, SUMMARY_COLUMNS, self.summary, self.table().formatters,
                              lambda r: bool(r["failures"]), good_colour=GOOD)


def _plain(v: Any) -> Any:
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if hasattr(v, "tolist") and getattr(v, "ndim", 0):  # an array held in an object column
        return v.tolist()
    return v.item() if hasattr(v, "item") else v


def _first_distinct(values: pd.Series, n: int) -> list[Any]:
    """The first ``n`` distinct values; unhashable ones (lists, arrays) are told apart by their text."""
    try:
        return list(values.drop_duplicates().iloc[:n].array)
    except TypeError:
        return list(values[~values.astype(str).duplicated().to_numpy()].iloc[:n].array)


class _Collector:
    def __init__(self, n_rows: int, max_examples: int) -> None:
        self.n_rows, self.max_examples = n_rows, max_examples
        self.summary: list[dict[str, Any]] = []
        self.failures: list[dict[str, Any]] = []

    def column_level(self, column: str, check: str, expected: str, case: Any) -> None:
        self.summary.append({"column": column, "check": check, "expected": expected, "failures": 1,
                             "percent": None, "examples": str(case)})
        self.failures.append({"column": column, "check": check, "failure_case": case, "index": None})

    def elements(self, column: str, check: str, expected: str, values: pd.Series, mask: pd.Series) -> None:
        count = int(mask.sum())
        examples = ""
        if count:
            bad = values[mask.to_numpy()]
            shown = bad.iloc[: self.max_examples]
            self.failures += [{"column": column, "check": check, "failure_case": v, "index": i}
                              for i, v in zip(shown.index, shown.array)]
            examples = ", ".join(format_value(_plain(v)) for v in _first_distinct(bad, 5))
        self.summary.append({"column": column, "check": check, "expected": expected, "failures": count,
                             "percent": count / self.n_rows if self.n_rows else 0.0, "examples": examples})


def _as_expected(s: pd.Series, spec: ColumnSchema, out: _Collector, name: str) -> pd.Series | None:
    """The column's values in the expected dtype (None: not comparable); records dtype failures."""
    import pandas as pd

    actual = dtype_family(s)
    want = spec.dtype
    expected = f"dtype {want}"
    if want == "object" or actual == want or (want in _TEXT and actual in _TEXT):
        out.elements(name, "dtype", expected, s, pd.Series(False, index=s.index))
        return s
    if want in _NUMERIC and actual in _NUMERIC:
        bad = s.notna() & (s % 1 != 0) if want == "int" else pd.Series(False, index=s.index)
        out.elements(name, "dtype", expected, s, bad)
        return s
    if want in _NUMERIC and actual in ("string", "object"):
        values = pd.to_numeric(s, errors="coerce")
    elif want == "datetime" and actual in ("string", "object"):
        values = pd.to_datetime(s, errors="coerce", format="mixed")
    elif want in _TEXT and actual == "object":
        values = s.where(s.map(lambda v: isinstance(v, str)), None)
    elif want == "bool" and actual in ("object", "int"):
        values = s.where(s.isin([True, False]), None)
    else:
        out.column_level(name, "dtype", expected, actual)
        return None
    out.elements(name, "dtype", expected, s, s.notna() & values.isna())
    return values


def _bound(values: pd.Series, bound: Any) -> Any:
    tz = getattr(getattr(values, "dt", None), "tz", None) if values.dtype.kind == "M" or hasattr(values.dtype, "tz") else None
    if hasattr(bound, "tzinfo"):
        if tz is not None and bound.tzinfo is None:
            return bound.tz_localize(tz)
        if tz is None and bound.tzinfo is not None:
            return bound.tz_convert(None)
    return bound


def bound_text(op: str, bound: Any) -> str:
    """What a ``min`` (``op`` "ge") or ``max`` ("le") check expects, as its summary row says."""
    return f"{'>=' if op == 'ge' else '<='} {bound}"


def allowed_text(spec: ColumnSchema, n_allowed: int) -> str:
    """What an ``allowed`` check expects (``n_allowed``: the distinct values compared with)."""
    shown = ", ".join(map(str, spec.allowed[:5])) + (" ..." if len(spec.allowed) > 5 else "")
    return f"one of {n_allowed}: {shown}"


def _check_column(s: pd.Series, spec: ColumnSchema, out: _Collector, name: str) -> None:
    import pandas as pd

    values = _as_expected(s, spec, out, name)
    if not spec.nullable:
        out.elements(name, "not_null", "no missing values", s, s.isna())
    if values is None:
        return
    present = values.notna()
    for check, bound, op in (("min", spec.min, "ge"), ("max", spec.max, "le")):
        if bound is None:
            continue
        b = _bound(values, spec.bound(bound))
        try:
            ok = getattr(values, op)(b)
        except TypeError:
            out.column_level(name, check, bound_text(op, bound), f"cannot compare {dtype_family(s)} values")
            continue
        out.elements(name, check, bound_text(op, bound), s, present & ~ok.fillna(False).astype(bool))
    if spec.allowed is not None:
        allowed = set(spec.allowed)
        text = values.astype(object) if isinstance(values.dtype, pd.CategoricalDtype) else values
        if spec.dtype == "object":  # inference keeps a mixed column's allowed values as text: compare text
            allowed |= {str(a) for a in spec.allowed}
            text = values.astype(str)
        out.elements(name, "allowed", allowed_text(spec, len(allowed)), s, present & ~text.isin(allowed))
    if spec.unique:
        out.elements(name, "unique", "no duplicates", s, present & values.duplicated(keep=False))


def validate(schema: Schema, df: pd.DataFrame, max_examples: int = 100) -> ValidationResult:
    """Run every check of ``schema`` on ``df``; see :meth:`Schema.validate`. A parquet file or
    folder (its path) is read in batches, in bounded memory (:mod:`._stream_schema`)."""
    import pandas as pd

    from ..errors import UsageError
    from ._stream_schema import parquet_or_frame

    df = parquet_or_frame(df)
    if isinstance(df, Path):
        from ._stream_schema import validate_parquet

        return validate_parquet(schema, df, max_examples)
    if not isinstance(df, pd.DataFrame):
        raise UsageError(f"validate expects a pandas DataFrame, got {type(df).__name__}")
    out = _Collector(len(df), max_examples)
    by_name = {str(c): c for c in df.columns}
    for name, spec in schema.columns.items():
        if name not in by_name:
            out.column_level(name, "column_present", "column present", name)
            continue
        s = df[by_name[name]]
        if isinstance(s, pd.DataFrame):
            out.column_level(name, "column_present", "exactly one column", "duplicated column name")
            continue
        _check_column(s, spec, out, name)
    if schema.strict:
        for extra in (n for n in by_name if n not in schema.columns):
            out.column_level(extra, "no_extra_columns", "only schema columns", extra)
    return ValidationResult(out.summary, failure_frame(out.failures), len(df))


def failure_frame(cases: list[dict[str, Any]]) -> pd.DataFrame:
    """The failure cases as a frame of :data:`FAILURE_COLUMNS` (object columns)."""
    import pandas as pd

    return pd.DataFrame({c: pd.Series([f[c] for f in cases], dtype=object) for c in FAILURE_COLUMNS})
