"""``mlnb validate`` of a small CSV or parquet file that passes, decided without pandas.

pandas costs ~0.35 s to import, more than the CLI's whole start-up budget. This path reads the
file with pyarrow (its CSV reader set to pandas' defaults: pandas' missing-value words, pandas'
boolean words) and only answers when it can *prove every check passes*, with numpy on the
Arrow buffers. The answer is then fully determined: one summary row per check, in the order the
pandas path (:mod:`.validation`) writes them, each with 0 failures. Anything else returns None and
the pandas path runs, so a failing check, and every file or schema this module is unsure about,
gets exactly the pandas path's result, messages and exit code:

- the file: CSV or parquet, at most :data:`MAX_BYTES`, at least one row, unique non-empty
  column names; no pandas dtype metadata other than plain numbers, booleans and strings;
- a column: Arrow int64 (pandas int64, or float64 when it has nulls), float64, bool without
  nulls, or string. A CSV string column whose values all read as numbers or as booleans to
  Python goes to pandas (pandas' parser might read it as numbers where Arrow's did not); so does
  a CSV float column with a NaN word pandas does not know (``NAN``), an infinity, or only whole
  numbers of 2^63 and more (pandas: uint64);
- a check: dtype (the same family, or int and float either way), not_null, numeric min/max,
  allowed (string columns), unique (numbers and strings); not ``strict`` with extra columns.

The test ``tests/checks/test_validate_fast.py`` compares this path with the pandas path on
files built to differ between the two readers.
"""

from __future__ import annotations

import json
import numbers as _numbers_abc
from pathlib import Path
from typing import Any

from .schema import ColumnSchema, Schema
from .validation import ValidationResult, allowed_text, bound_text

#: files larger than this take the pandas path (its import is then a small part of the work)
MAX_BYTES = 32 * 1024**2

#: pandas' default missing-value words (``pandas._libs.parsers.STR_NA_VALUES``; a test checks)
PANDAS_NA = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
             "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")
PANDAS_TRUE, PANDAS_FALSE = ("True", "TRUE", "true"), ("False", "FALSE", "false")

_NUMBERS = ("int", "float")
_SAFE_NUMPY = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
               "float32", "float64", "bool", "object", "str"}


class _Unsure(Exception):
    """This file or schema is for the pandas path."""


def validate_fast(schema: Schema, spec: str) -> ValidationResult | None:
    """The passing result of ``schema`` on the file ``spec``, or None: the pandas path decides."""
    path = Path(spec)
    suffix = path.suffix.lower()
    try:
        if suffix not in (".csv", ".parquet", ".pq") or not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        columns, n_rows = _read(path, suffix == ".csv")
        if n_rows == 0:
            raise _Unsure
        summary = []
        for name, col_spec in schema.columns.items():
            if name not in columns:
                raise _Unsure  # a missing column fails
            summary += _passing_checks(name, col_spec, columns[name], suffix == ".csv")
        if schema.strict and any(n not in schema.columns for n in columns):
            raise _Unsure
    except _Unsure:
        return None
    except Exception:  # noqa: BLE001 - a file pyarrow cannot read: the pandas path says what is wrong
        return None
    return ValidationResult(summary, None, n_rows)


def _read(path: Path, csv: bool) -> tuple[dict[str, Any], int]:
    """The file's columns (name -> one Arrow array) and its number of rows."""
    if csv:
        import pyarrow.csv as pacsv

        table = pacsv.read_csv(
            path, parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(null_values=list(PANDAS_NA), strings_can_be_null=True,
                                                 true_values=list(PANDAS_TRUE), false_values=list(PANDAS_FALSE)))
    else:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        _check_pandas_metadata(table.schema.metadata or {})
    names = [n for n in table.column_names if not n.startswith("__index_level_")]
    if len(set(names)) != len(names) or not all(names):
        raise _Unsure  # pandas renames these ("a.1", "Unnamed: 0")
    return {n: table.column(n).combine_chunks() for n in names}, table.num_rows


def _check_pandas_metadata(metadata: dict[bytes, bytes]) -> None:
    """Refuse a parquet file whose pandas metadata makes pandas read other dtypes (categories,
    nullable integers, datetimes ...) than the Arrow types say."""
    raw = metadata.get(b"pandas")
    if raw is None:
        return
    for col in json.loads(raw).get("columns", []):
        if str(col.get("numpy_type")) not in _SAFE_NUMPY:
            raise _Unsure


def _family(arr: Any, csv: bool) -> str:
    """The dtype family (:func:`~.schema.dtype_family`) pandas gives this Arrow column."""
    import pyarrow as pa

    t = arr.type
    if pa.types.is_integer(t):
        if t == pa.uint64() or (csv and t != pa.int64()):
            raise _Unsure
        return "float" if arr.null_count else "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_boolean(t):
        if arr.null_count:
            raise _Unsure  # pandas: object
        return "bool"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    raise _Unsure


def _numbers(arr: Any) -> Any:
    """The non-missing values of an Arrow integer or float array as numpy (NaN is missing)."""
    import numpy as np

    dtype = np.dtype(arr.type.to_pandas_dtype())
    values = np.frombuffer(arr.buffers()[1], dtype=dtype, count=len(arr) + arr.offset)[arr.offset:]
    if arr.null_count:
        bits = np.frombuffer(arr.buffers()[0], dtype=np.uint8)
        valid = np.unpackbits(bits, bitorder="little", count=len(arr) + arr.offset)[arr.offset:].astype(bool)
        values = values[valid]
    if dtype.kind == "f":
        values = values[~np.isnan(values)]
    return values


def _strings(arr: Any) -> list[str]:
    return [v for v in arr.to_pylist() if v is not None]


def _missing(arr: Any, family: str) -> int:
    if family == "float":
        return len(arr) - len(_numbers(arr))
    return arr.null_count


def _reads_as_number_or_bool(values: list[str]) -> bool:
    """Whether pandas' parser might have read these strings as numbers or booleans."""
    if all(v.strip().lower() in ("true", "false") for v in values):
        return True
    for v in values:
        try:
            float(v)
        except ValueError:
            return False
    return True


def _passing_checks(name: str, spec: ColumnSchema, arr: Any, csv: bool) -> list[dict[str, Any]]:
    """The summary rows of column ``name`` when all its checks pass; raises _Unsure otherwise."""
    import numpy as np

    actual, want = _family(arr, csv), spec.dtype
    if not (actual == want or (want in _NUMBERS and actual in _NUMBERS)):
        raise _Unsure
    numbers = _numbers(arr) if actual in _NUMBERS else None
    strings = _strings(arr) if actual == "string" else None
    if csv and strings is not None and _reads_as_number_or_bool(strings):
        raise _Unsure
    if csv and numbers is not None and numbers.dtype.kind == "f":  # words pandas may not read as numbers
        if len(numbers) + arr.null_count != len(arr) or not np.isfinite(numbers).all() or (
                len(numbers) and (numbers % 1 == 0).all() and np.abs(numbers).max() >= 2.0**63):
            raise _Unsure
    checks = ["dtype"]
    expected = {"dtype": f"dtype {want}"}
    if want == "int" and numbers is not None and numbers.dtype.kind == "f" and (numbers % 1 != 0).any():
        raise _Unsure
    if not spec.nullable:
        if _missing(arr, actual):
            raise _Unsure
        checks.append("not_null")
        expected["not_null"] = "no missing values"
    for check, bound, op in (("min", spec.min, "ge"), ("max", spec.max, "le")):
        if bound is None:
            continue
        if numbers is None or isinstance(bound, bool) or not isinstance(bound, _numbers_abc.Real):
            raise _Unsure
        if len(numbers) and not (numbers.min() >= bound if op == "ge" else numbers.max() <= bound):
            raise _Unsure
        checks.append(check)
        expected[check] = bound_text(op, bound)
    if spec.allowed is not None:
        if strings is None or want == "object" or not set(strings) <= set(spec.allowed):
            raise _Unsure
        checks.append("allowed")
        expected["allowed"] = allowed_text(spec, len(set(spec.allowed)))
    if spec.unique:
        if numbers is not None:
            if len(np.unique(numbers)) != len(numbers):
                raise _Unsure
        elif strings is None or len(set(strings)) != len(strings):
            raise _Unsure
        checks.append("unique")
        expected["unique"] = "no duplicates"
    return [{"column": name, "check": c, "expected": expected[c], "failures": 0, "percent": 0.0, "examples": ""}
            for c in checks]

