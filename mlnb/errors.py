"""Errors that mlnb raises on purpose.

Every message says what was wrong and what to do next; the magic and the CLI show it as one line.

    MlnbError
     ├── UsageError          bad arguments, malformed references or expressions
     ├── NotAProject         no mlnb project here: run `mlnb init`
     ├── NotFound            unknown dataset, version, run, model ...
     ├── ValidationFailed    data did not match its schema
     ├── DriftDetected       a drift check found drift
     └── GateFailed          a promotion gate refused
"""

from __future__ import annotations

__all__ = [
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
    exit_code = 1


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


class ValidationFailed(MlnbError):
    """Data did not satisfy its schema."""


class DriftDetected(MlnbError):
    """A drift check found drift."""


class GateFailed(MlnbError):
    """A promotion gate refused."""
