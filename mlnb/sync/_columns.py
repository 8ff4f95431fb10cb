"""A table's rows as typed columns: what a segment stores, fast to read back and never code.

Whole-number and float columns are little-endian 8-byte arrays (base64), with the positions of
their nulls; text columns are their distinct values plus a 4-byte index per row; any other column
(mixed types, booleans, huge integers) is a plain JSON list. Decoding is checked: a length or an
index that does not fit is refused, never guessed.
"""

from __future__ import annotations

import base64
import sys
from array import array
from collections.abc import Sequence
from typing import Any

_I8, _F8 = "q", "d"
_BIG = sys.byteorder == "big"


def _bytes(values: array) -> str:
    if _BIG:  # pragma: no cover - big-endian hosts
        values = array(values.typecode, values)
        values.byteswap()
    return base64.b64encode(values.tobytes()).decode()


def _array(code: str, text: Any, count: int) -> array:
    if not isinstance(text, str):
        raise ValueError("packed data is not base64 text")
    raw = base64.b64decode(text.encode(), validate=True)
    out = array(code)
    if len(raw) != out.itemsize * count:
        raise ValueError(f"{len(raw)} bytes for {count} values")
    out.frombytes(raw)
    if _BIG:  # pragma: no cover
        out.byteswap()
    return out


def pack(values: Any) -> dict[str, Any]:
    """One column as its most compact exact form."""
    types = set(map(type, values))
    nulls = [i for i, v in enumerate(values) if v is None] if type(None) in types else []
    types.discard(type(None))
    try:
        if types == {int}:
            return {"type": "i8", "data": _bytes(array(_I8, [0 if v is None else v for v in values] if nulls
                                                       else values)), "nulls": nulls}
        if types == {float}:
            return {"type": "f8", "data": _bytes(array(_F8, [0.0 if v is None else v for v in values] if nulls
                                                       else values)), "nulls": nulls}
    except OverflowError:  # an integer beyond 8 bytes
        pass
    if types == {str}:
        distinct = sorted(set(values) - {None})
        at = {v: i for i, v in enumerate(distinct)}
        at[None] = 0
        return {"type": "str", "values": distinct, "index": _bytes(array("q", map(at.__getitem__, values))),
                "nulls": nulls}
    return {"type": "json", "data": list(values)}


def unpack(col: Any, count: int) -> Sequence[Any]:
    """A column back as a sequence of ``count`` values (a number column without nulls stays an
    array: iterating it gives Python ints or floats, with no list of them made first); ValueError
    when it does not decode exactly."""
    if not isinstance(col, dict):
        raise ValueError("a column is not an object")
    kind, nulls = col.get("type"), col.get("nulls", [])
    if kind == "json":
        data = col.get("data")
        if not isinstance(data, list) or len(data) != count:
            raise ValueError("a JSON column of the wrong length")
        return data
    if kind in ("i8", "f8"):
        out = _array(_I8 if kind == "i8" else _F8, col.get("data"), count)
    elif kind == "str":
        values = col.get("values")
        index = _array("q", col.get("index"), count)
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ValueError("a text column's values are not text")
        try:  # an index past the end raises; one below zero would count from the end: refused too
            out = list(map(values.__getitem__, index))
        except IndexError:
            out = []
        if len(out) != count or (index and min(index) < 0):
            raise ValueError("a text column's index does not fit its values")
    else:
        raise ValueError(f"unknown column type {kind!r}")
    if not isinstance(nulls, list) or not all(type(i) is int and 0 <= i < count for i in nulls):
        raise ValueError("null positions out of range")
    if nulls:
        out = list(out)
        for i in nulls:
            out[i] = None
    return out
