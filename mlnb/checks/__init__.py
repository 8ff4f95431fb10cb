"""Data checks: schema inference and validation, and drift detection with Altair charts.

>>> schema = mlnb.checks.infer_schema(train_df)                       # doctest: +SKIP
>>> schema.save("schemas/train.yaml")                                 # doctest: +SKIP
>>> mlnb.checks.load_schema("schemas/train.yaml").validate(new_df)    # doctest: +SKIP
>>> mlnb.checks.profile(train_df).drift(new_df)                       # doctest: +SKIP

Everything loads on first use: ``import mlnb.checks`` imports neither pandas nor scipy. The
modules holding ``profile`` and ``drift`` are private (``_profile``, ``_drift``) so that importing
them never shadows the functions of the same name.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "infer_schema": "schema",
    "load_schema": "schema",
    "Schema": "schema",
    "ColumnSchema": "schema",
    "ValidationResult": "validation",
    "profile": "_profile",
    "Profile": "_profile",
    "load_profile": "_profile_file",
    "drift": "_drift",
    "DriftConfig": "_drift",
    "DriftReport": "report",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
