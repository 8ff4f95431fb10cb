"""Project-level verbs that belong to no single area."""

from __future__ import annotations

import os

from ._display import Record
from ._project import Project


def init(path: str | os.PathLike[str] | None = None, remote: str | None = None) -> Record:
    """Make ``path`` (default: cwd) an mlnb project: git, DVC and the registry; safe to repeat.

    >>> mlnb.init(remote="/mnt/team/dvc-store")  # doctest: +SKIP
    """
    project = Project.init(path, remote=remote)
    remote_url = None
    conf = project.dvc.config
    default = conf["core"].get("remote")
    if default:
        remote_url = conf["remote"][default]["url"]
    return Record(
        {"root": str(project.root), "registry": project.registry_url, "remote": remote_url},
        title="mlnb project ready",
    )
