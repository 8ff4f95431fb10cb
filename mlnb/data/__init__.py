"""Version datasets and models through DVC.

>>> v = mlnb.data.save(df, "train", message="raw export")   # doctest: +SKIP
>>> mlnb.data.load("train@1")                                # doctest: +SKIP
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "DataDiff": "_diff",
    "diff": "_diff",
    "preview": "_inspect",
    "schema": "_inspect",
    "DataVersion": "_refs",
    "resolve": "_refs",
    "working_copy_refs": "_refs",
    "checkout": "_storage",
    "pull": "_storage",
    "push": "_storage",
    "status": "_storage",
    "add": "_versions",
    "list": "_versions:list_datasets",  # `mlnb.data.list()` reads like the CLI verb
    "list_datasets": "_versions",
    "load": "_versions",
    "log": "_versions",
    "path": "_versions",
    "save": "_versions",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
