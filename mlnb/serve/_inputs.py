"""Request bodies into model inputs: KServe V1 instances and Open Inference Protocol V2 tensors,
checked against the answering version's signature. Every refusal is one line with a 4xx status."""

from __future__ import annotations

import functools
import json
import math
from typing import Any

from ..errors import ValidationFailed, shown
from ._live import LiveArm

#: the largest request body served (bytes); ``mlnb serve --max-body`` changes it
MAX_BODY = 4 * 1024 * 1024

#: Open Inference Protocol datatypes of mlnb's signature dtypes
V2_TYPES = {"int": "INT64", "float": "FP64", "bool": "BOOL"}


class BadRequest(Exception):
    """A request the server refuses: an HTTP status and one line saying what to fix."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(" ".join(message.split()))
        self.status = status


def parse_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON ({exc}): send a JSON object") from None
    if not isinstance(data, dict):
        raise BadRequest(f"the body is a JSON {type(data).__name__}, not an object: send {{\"instances\": [...]}} "
                         "(V1) or {\"inputs\": [...]} (V2)")
    return data


def v1_rows(data: dict[str, Any], columns: list[str] | None, key: str | None) -> list[dict[str, Any]]:
    """KServe V1 ``instances``: rows as objects, or as lists in the signature's column order."""
    instances = data.get("instances")
    if not isinstance(instances, list) or not instances:
        raise BadRequest('the body needs "instances": a non-empty list of rows (objects, or lists in the order '
                         f"{', '.join(columns or [])})")
    rows = []
    for i, row in enumerate(instances):
        if isinstance(row, list):
            if columns is None:
                raise BadRequest("this model has no signature: send each instance as an object of column: value")
            if len(row) != len(columns):
                raise BadRequest(f"instance {i} has {len(row)} values; the model takes {len(columns)}: "
                                 f"{', '.join(columns)}")
            row = dict(zip(columns, row))
        elif not isinstance(row, dict):
            raise BadRequest(f"instance {i} is a JSON {type(row).__name__}: send an object or a list of values")
        rows.append(row)
    return rows


def v2_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Open Inference Protocol V2 ``inputs``: one named tensor per column, all of one length."""
    inputs = data.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise BadRequest('the body needs "inputs": a list of tensors {"name", "shape", "datatype", "data"}, '
                         "one per column")
    columns: dict[str, list[Any]] = {}
    for i, tensor in enumerate(inputs):
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
            raise BadRequest(f"input {i} needs a \"name\" (the column) and \"data\"")
        values = tensor.get("data")
        if not isinstance(values, list):
            raise BadRequest(f"input {tensor['name']!r}: \"data\" must be a list of values")
        if tensor["name"] in columns:
            raise BadRequest(f"input {tensor['name']!r} is given twice")
        columns[tensor["name"]] = values
    lengths = {len(v) for v in columns.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise BadRequest("every input must hold the same number of values, at least one")
    n = lengths.pop()
    return [{name: values[i] for name, values in columns.items()} for i in range(n)]


def key_of(rows: list[dict[str, Any]], key: str | None) -> Any:
    """The sticky key of a request: the key field of its first row."""
    if key is None:
        return None
    value = rows[0].get(key)
    if value is None or isinstance(value, (dict, list)):
        raise BadRequest(f"this routing keeps each {key} on one arm: send {key} (a number or text) in each row")
    return value


def to_frame(arm: LiveArm, rows: list[dict[str, Any]], key: str | None) -> Any:
    """The rows as the frame ``arm``'s model takes, checked against its signature (columns, types, nulls)."""
    import numpy as np
    import pandas as pd

    signature = arm.version.signature
    if signature is None:
        return pd.DataFrame([{k: v for k, v in r.items() if k != key} for r in rows])
    specs = signature["columns"]
    names = set().union(*rows)
    missing = [c for c in specs if c not in names]
    extra = sorted(n for n in names if n not in specs and n != key)
    if missing:
        raise BadRequest(f"missing column{'s' * (len(missing) > 1)} {', '.join(missing)}: "
                         f"{arm.version.ref} takes {', '.join(specs)}")
    if extra:
        raise BadRequest(f"unknown column{'s' * (len(extra) > 1)} {', '.join(shown(e, 40) for e in extra[:5])}: "
                         f"{arm.version.ref} takes {', '.join(specs)}")
    matrix = _float_matrix(specs, rows)
    if matrix is not None:  # the common case, checked in one pass: no per-column lists
        return pd.DataFrame(matrix, columns=_index(tuple(specs)), copy=False)
    data, nulls = {}, False
    for name, spec in specs.items():
        values = [r.get(name) for r in rows]
        _check_types(name, spec["dtype"], values)
        nulls = nulls or any(v is None for v in values)
        data[name] = values
    kinds = {spec["dtype"] for spec in specs.values()}
    if not nulls and len(kinds) == 1 and kinds <= {"float", "int"}:  # all one number type: one block, 20x cheaper
        matrix = np.asarray(list(data.values()), dtype="float64" if kinds == {"float"} else "int64")
        frame = pd.DataFrame(matrix.T, columns=_index(tuple(specs)), copy=False)
    else:
        frame = pd.DataFrame({name: _column(spec["dtype"], data[name]) for name, spec in specs.items()}, copy=False)
    if not nulls:  # columns and types are checked above: only nulls are left for the signature to judge
        return frame
    from ..models._query import check_signature

    try:
        check_signature(arm.version, frame)
    except ValidationFailed as exc:
        raise BadRequest(str(exc)) from None
    return frame


_NUMBERS = (int, float)


def _float_matrix(specs: dict[str, Any], rows: list[dict[str, Any]]) -> Any:
    """The rows as one float64 matrix when every column is a float and every value a finite number
    (not a bool, not null); None otherwise, and the column-by-column checks say what is wrong."""
    import numpy as np

    if any(spec["dtype"] != "float" for spec in specs.values()):
        return None
    flat = [row.get(name) for row in rows for name in specs]
    if not all(type(v) in _NUMBERS for v in flat):  # type(): True is an int to isinstance
        return None
    try:
        matrix = np.asarray(flat, dtype="float64").reshape(len(rows), len(specs))
    except OverflowError:
        return None
    return matrix if np.isfinite(matrix).all() else None


@functools.lru_cache(maxsize=256)
def _index(columns: tuple[str, ...]) -> Any:
    """The frame's column index, built once per signature (building it is most of a small frame's cost)."""
    import pandas as pd

    return pd.Index(columns)


def _column(dtype: str, values: list[Any]) -> Any:
    """A column built in the signature's dtype at once (converting a built frame costs more)."""
    import numpy as np
    import pandas as pd

    if dtype == "float":
        return np.asarray([np.nan if v is None else v for v in values], dtype="float64")
    if dtype in ("int", "bool") and None not in values:
        return np.asarray(values, dtype="int64" if dtype == "int" else "bool")
    if dtype == "category":
        return pd.Categorical(values)
    if dtype == "datetime":
        return pd.to_datetime(values, errors="coerce")
    return pd.Series(values, dtype="object" if dtype != "string" or None in values else None)


def _finite(v: int | float) -> bool:
    try:
        return math.isfinite(v)
    except OverflowError:  # an integer past float's range
        return False


def _check_types(name: str, dtype: str, values: list[Any]) -> None:
    for i, v in enumerate(values):
        if v is None:
            continue
        if dtype == "float":
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and _finite(v)
            want = "a finite number"
        elif dtype == "int":
            ok = isinstance(v, int) and not isinstance(v, bool)
            want = "a whole number"
        elif dtype == "bool":
            ok, want = isinstance(v, bool), "true or false"
        elif dtype in ("string", "category", "datetime"):
            ok, want = isinstance(v, str), "text"
        else:
            ok, want = not isinstance(v, (dict, list)), "a number or text"
        if not ok:
            raise BadRequest(f"column {name} row {i}: expected {want}, got {shown(json.dumps(v), 40)}")
