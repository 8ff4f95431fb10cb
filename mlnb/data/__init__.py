"""Version datasets and models through DVC.

>>> v = mlnb.data.save(df, "train", message="raw export")   # doctest: +SKIP
>>> mlnb.data.load("train@1")                                # doctest: +SKIP
"""

from ._versions import (
    DataDiff,
    DataVersion,
    add,
    checkout,
    diff,
    list_datasets,
    load,
    log,
    path,
    pull,
    push,
    resolve,
    save,
    status,
)

list = list_datasets  # noqa: A001 - `mlnb.data.list()` reads like the CLI verb

__all__ = [
    "DataDiff",
    "DataVersion",
    "add",
    "checkout",
    "diff",
    "list",
    "list_datasets",
    "load",
    "log",
    "path",
    "pull",
    "push",
    "resolve",
    "save",
    "status",
]
