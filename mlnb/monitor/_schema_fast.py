"""A window's schema failures against the model's signature, counted on its Arrow columns.

The report checks a window's inputs against the signature's structure only (each column's dtype
and whether it may hold missing values). Where every signature column is in the window with an
Arrow type whose pandas dtype is the signature's dtype family — floats for ``float``, integers
without nulls for ``int`` — the dtype checks cannot fail, and the only failures are the missing
values of columns that may hold none: nulls plus NaNs, as pandas' ``isna`` counts them after the
conversion. Those are counted here without building the DataFrame. Anything else (a missing or
extra column under ``strict``, another dtype, another check) returns None, and the caller runs
:meth:`mlnb.checks.Schema.validate` itself; ``tests/monitor/test_fast_path.py`` compares both.
"""

from __future__ import annotations

from typing import Any

_FLOATS = ("float",)
_INTS = ("int",)


def structure_failures(signature: dict[str, Any], columns: dict[str, dict[str, Any]], table: Any,
                       prefix: str) -> tuple[int, list[str]] | None:
    """``(failing values, "column:check" of each failing check)`` of ``table``'s columns named
    ``prefix + name`` against ``columns`` (name -> {dtype, nullable}), or None outside the fast
    path's reach (module docstring)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    names = [c[len(prefix):] for c in table.column_names if c.startswith(prefix)]
    if signature.get("strict") and set(names) - set(columns):
        return None
    total, failed = 0, []
    for name, spec in columns.items():
        if set(spec) - {"dtype", "nullable"} or name not in names:
            return None
        arr = table.column(prefix + name)
        t = arr.type
        if spec.get("dtype") in _FLOATS and pa.types.is_floating(t) and not pa.types.is_float16(t):
            missing = arr.null_count + (int(pc.sum(pc.is_nan(arr)).as_py() or 0) if len(arr) else 0)
        elif spec.get("dtype") in _INTS and pa.types.is_integer(t) and not arr.null_count:
            missing = 0
        else:
            return None
        if not spec.get("nullable", True) and missing:
            total += missing
            failed.append(f"{name}:not_null")
    return total, failed
