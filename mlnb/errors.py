"""Errors that mlnb raises on purpose.

Every message says what was wrong and what to do next; the magic and the CLI show it as one line.

    MlnbError                    exit 3: something mlnb could not do (a missing or unreadable file, ...)
     ├── UsageError              exit 2: bad arguments, malformed references or expressions
     ├── NotAProject             exit 3: no mlnb project here: run `mlnb init`
     ├── NotFound                exit 3: unknown dataset, version, run, model ...
     ├── Busy                    exit 3: another process holds the project lock too long
     ├── Conflict                exit 3: another process changed it since this one read it (an alias moved)
     └── CheckFailed             exit 1: a check ran and its answer is "no" (a CI gate reads this)
          ├── ValidationFailed   data did not match its schema
          ├── DriftDetected      a drift check found drift
          └── GateFailed         a promotion gate refused

The CLI's exit codes (docs/cli.md): 0 ok, 1 a check failed, 2 usage, 3 error, 4 internal error
(a bug in mlnb), 130 interrupted. Only a check that ran to its end exits 1, so a CI gate never
reads a crash as a result.
"""

from __future__ import annotations

__all__ = [
    "Busy",
    "CheckFailed",
    "Conflict",
    "DriftDetected",
    "GateFailed",
    "MlnbError",
    "NotAProject",
    "NotFound",
    "UsageError",
    "ValidationFailed",
]


class MlnbError(Exception):
    """Base class of every error mlnb raises for the user to read."""

    #: exit status the CLI uses for this error
    exit_code = 3


class UsageError(MlnbError, ValueError):
    """Arguments, references or expressions that cannot be understood."""

    exit_code = 2


class NotAProject(MlnbError):
    """The working directory is not inside an mlnb project."""

    def __init__(self, path: object) -> None:
        super().__init__(
            f"{path} is not inside an mlnb project: run `%mlops init` (or `mlnb init`) first"
        )


class NotFound(MlnbError, LookupError):
    """Something named by the user does not exist."""


class Busy(MlnbError):
    """Another process holds a lock this operation needs, for longer than it was willing to wait."""


class Conflict(MlnbError):
    """Another process changed what this operation read before it could write (compare-and-set)."""


class CheckFailed(MlnbError):
    """A check ran to its end and refused: the one error that exits 1."""

    exit_code = 1


class ValidationFailed(CheckFailed):
    """Data did not satisfy its schema."""


class DriftDetected(CheckFailed):
    """A drift check found drift."""


class GateFailed(CheckFailed):
    """A promotion gate refused."""


def shown(text: str, keep: int = 60) -> str:
    """``repr(text)`` for a message, cut to ``keep`` characters so a huge input stays one line."""
    return repr(text) if len(text) <= keep else f"{text[:keep]!r}... ({len(text):,} characters)"
