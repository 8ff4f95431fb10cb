"""Version datasets and models through DVC.

>>> v = mlnb.data.save(df, "train", message="raw export")   # doctest: +SKIP
>>> mlnb.data.load("train@1")                                # doctest: +SKIP
"""

from ._diff import DataDiff, diff
from ._refs import DataVersion, resolve, working_copy_refs
from ._storage import checkout, pull, push, status
from ._versions import add, list_datasets, load, log, path, save

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
    "working_copy_refs",
]
