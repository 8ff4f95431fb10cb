"""Two clones of one real git repository sharing one local-directory DVC remote."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@dataclass
class Clones:
    a: Any  # mlnb Project: the first clone (where the repository was made)
    b: Any  # a `git clone` of it
    remote: Path

    @contextlib.contextmanager
    def at(self, project: Any) -> Iterator[Any]:
        """Work in one clone: its folder is the cwd and it is the current project."""
        import os

        from mlnb._project import using_project

        before = os.getcwd()
        os.chdir(project.root)
        try:
            with using_project(project):
                yield project
        finally:
            os.chdir(before)


def clone(origin: Path, dest: Path) -> Any:
    from mlnb._project import Project

    git(origin.parent, "clone", "-q", str(origin), str(dest))
    return Project(dest)


@pytest.fixture
def clones(project, tmp_path: Path) -> Iterator[Clones]:
    """Project A (committed to git) and B, a fresh `git clone` of it: no registry, same remote."""
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", "init")
    b = clone(project.root, tmp_path / "b")
    yield Clones(project, b, tmp_path / "remote")
    b.close()


def registry_records(project: Any) -> dict[str, dict[str, Any]]:
    """Every record of every shared table, by natural key, with the numbers this clone shows, and
    each alias's holder: what two clones must agree on."""
    from mlnb.store import registry
    from mlnb.store._schema import aliases, model_versions, models
    from mlnb.sync._records import View
    from mlnb.sync._tables import specs

    out: dict[str, dict[str, Any]] = {}
    with registry(project).read() as conn:
        view = View({})
        for spec in specs():
            out[spec.name] = {k: rec for k, (_, rec) in view.rows(conn, spec).items()}
        q = (select(models.c.name, aliases.c.alias, model_versions.c.version)
             .join(models, models.c.id == aliases.c.model_id)
             .join(model_versions, model_versions.c.id == aliases.c.model_version_id))
        out["aliases"] = {f"{m}:{a}": v for m, a, v in conn.execute(q)}
    return out
