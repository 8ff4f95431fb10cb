"""What a run accepts: checked at the call, so both SQLite and PostgreSQL store everything let through.

A value the registry cannot store must fail where it is logged, in one line naming the value and
the limit, never later in a flush (where it would take the rest of the buffer down with it).
Limits are listed in docs/runs.md.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from typing import Any

from ..errors import UsageError

#: longest name (metric, param, tag, run): the registry's VARCHAR(255) columns
MAX_NAME = 255
#: steps are stored as signed 64-bit integers
MIN_STEP, MAX_STEP = -(2**63), 2**63 - 1
#: longest param value, as the JSON text that is stored
MAX_PARAM_CHARS = 1_000_000

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_name(kind: str, name: Any) -> str:
    """A metric, param, tag or run name: 1 to 255 characters, no control character, valid Unicode."""
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"invalid {kind} name {_show(name)}: use a non-empty string")
    if len(name) > MAX_NAME:
        raise UsageError(f"invalid {kind} name {_show(name)}: {len(name)} characters, the limit is {MAX_NAME}")
    bad = _CONTROL.search(name)
    if bad:
        raise UsageError(f"invalid {kind} name {_show(name)}: it holds the control character {bad.group()!r} "
                         f"at position {bad.start()}; names are printable text")
    _unicode(kind, name)
    return name


def metric_value(key: str, value: Any) -> float:
    """A metric value as a float; NaN and +/-inf are kept."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__float__"):
        raise UsageError(f"metric {key!r} must be a number, got {_show(value)} ({type(value).__name__}): "
                         "log text as a param or a tag instead")
    try:
        return float(value)
    except OverflowError:
        raise UsageError(f"metric {key!r} = {_show(value)} is too large: values are 64-bit floats "
                         f"(at most ±{sys.float_info.max:.4g})") from None
    except (TypeError, ValueError) as exc:
        raise UsageError(f"metric {key!r} must be a number, got {_show(value)}: {exc}") from None


def step(key: str, value: Any) -> int:
    """A step: an integer that fits in a signed 64-bit column."""
    if isinstance(value, bool) or not isinstance(value, int) and not hasattr(value, "__index__"):
        raise UsageError(f"step of metric {key!r} must be an integer, got {_show(value)}")
    number = int(value.__index__())
    if not MIN_STEP <= number <= MAX_STEP:
        raise UsageError(f"step of metric {key!r} = {_show(number)} is out of range: steps are 64-bit integers "
                         f"from {MIN_STEP} to {MAX_STEP}")
    return number


def param_value(key: str, value: Any) -> Any:
    """A param value that is stored as JSON text (and as a float for numeric filters when a number)."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            float(value)
        except OverflowError:
            raise UsageError(f"param {key!r} = {_show(value)} is too large: numbers must fit a 64-bit float "
                             f"(at most ±{sys.float_info.max:.4g}); log it as a string") from None
    try:
        text = json.dumps(value, default=str)
    except (ValueError, TypeError, RecursionError) as exc:
        raise UsageError(f"param {key!r} = {_show(value)} cannot be stored: {exc}; log it as a string") from None
    if len(text) > MAX_PARAM_CHARS:
        raise UsageError(f"param {key!r} is {len(text)} characters as JSON, the limit is {MAX_PARAM_CHARS}: "
                         "log a large value as an artifact instead")
    return value


def artifact_path(path: Any) -> str:
    """An artifact path the registry can hold: text without NUL, valid UTF-8."""
    try:
        text = os.fspath(path)
    except TypeError:
        raise UsageError(f"artifact path must be a path, got {_show(path)}") from None
    if isinstance(text, bytes) or "\x00" in text:
        raise UsageError(f"invalid artifact path {_show(path)}: give a text path without NUL characters")
    _unicode("artifact path", text)
    return text


def error_line(error: BaseException) -> str:
    """The first line of the driver's own message (not SQLAlchemy's SQL and parameters)."""
    inner = getattr(error, "orig", None) or error
    lines = str(inner).strip().splitlines()
    return f"{type(inner).__name__}: {lines[0] if lines else ''}".rstrip(": ")[:300]


def _unicode(kind: str, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UsageError(f"invalid {kind} {_show(text)}: it is not valid Unicode (a lone surrogate "
                         f"{text[exc.start]!r} at position {exc.start}, e.g. from an undecodable file name)") from None


def _show(value: Any) -> str:
    """A value for an error message: short, and safe for ints too large for ``repr``."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - e.g. a list holding an int too long to print
        return f"a {type(value).__name__}"
    return text if len(text) <= 80 else text[:60] + f"... ({len(text)} characters)"
