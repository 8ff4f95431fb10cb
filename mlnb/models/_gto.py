"""The git tags DVC's GTO reads, written when an alias moves with ``git_tag=True``.

GTO keeps a registry in annotated git tags: ``churn@v4.0.0`` registers a version on a commit,
``churn#champion#7`` assigns a stage to the version on the tagged commit and ``churn#champion!#8``
unassigns it (the ``#N`` counter runs over all of an artifact's stage tags). mlnb's versions map
to ``vN.0.0`` (GTO wants semantic versions) and aliases to stages. GTO tells versions apart by
commit, so each version gets a commit object of its own: the tree of the commit the model was
registered at, that commit as its parent, no branch moved. An alias is unique in mlnb, so a move
unassigns the old holder and assigns the new one: ``gto show`` then agrees with ``mlnb models``.
git dates have whole seconds and GTO orders tags by date, so each tag of an artifact is dated at
least one second after the one before.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import time
from typing import Any

from .._project import Project
from ..errors import MlnbError, UsageError
from ._refs import ModelVersion

#: the names GTO accepts for artifacts and stages (gto/constants.py)
_GTO_NAME = re.compile(r"^[a-z0-9]([a-z0-9-/]*[a-z0-9])?$")


def version_tag(version: ModelVersion) -> str:
    """``churn@v4.0.0``: GTO's registration tag of mlnb's ``churn@4``."""
    return f"{version.name}@v{version.version}.0.0"


def check(project: Project, name: str, alias: str) -> None:
    """Refuse, before anything moves, what GTO could not read."""
    for what, value in (("model name", name), ("alias", alias)):
        if not _GTO_NAME.match(value):
            raise UsageError(f"--git-tag: GTO cannot read the {what} {value!r} (lowercase letters, digits and "
                             "'-' only): move it without --git-tag, or use a name GTO accepts")
    if project.git_commit() is None:
        raise UsageError("--git-tag: the project has no git commit yet for the tags to point at: commit first")


def write(project: Project, name: str, alias: str, versions: list[ModelVersion], previous: ModelVersion | None,
          to: ModelVersion | None, message: str) -> list[str]:
    """Tag every version of ``name`` GTO does not know yet, then the move of ``alias`` from
    ``previous`` to ``to``; returns the tags created."""
    existing = _tags(project, name)
    latest = max((date for date, _ in existing.values()), default=0)
    counter = max((int(m[1]) for t in existing if (m := re.search(r"#(\d+)$", t))), default=0)
    commits = {t: target for t, (_, target) in existing.items()}
    created: list[str] = []

    def tag(tag_name: str, target: str, text: str, when: float) -> None:
        nonlocal latest
        latest = max(int(when), latest + 1)
        _git(project, "tag", "-a", tag_name, "-m", text, target, env={"GIT_COMMITTER_DATE": f"{latest} +0000"})
        commits[tag_name] = target
        created.append(tag_name)

    for version in sorted(versions, key=lambda v: v.version):
        if version_tag(version) not in commits:
            tag(version_tag(version), _version_commit(project, version),
                f"Registering artifact {name} version v{version.version}.0.0", version.created_at)
    now = time.time()
    note = f"\n\nmlnb: {message}" if message else ""
    if previous is not None:
        counter += 1
        tag(f"{name}#{alias}!#{counter}", commits[version_tag(previous)],
            f"Unassigning stage '{alias}' to artifact '{name}' version 'v{previous.version}.0.0'{note}", now)
    if to is not None:
        counter += 1
        tag(f"{name}#{alias}#{counter}", commits[version_tag(to)],
            f"Assigning stage {alias} to artifact {name} version v{to.version}.0.0{note}", now)
    return created


def _tags(project: Project, name: str) -> dict[str, tuple[int, str]]:
    """``{tag: (date, commit)}`` of the tags of artifact ``name``."""
    out = _git(project, "for-each-ref", f"refs/tags/{name}@*", f"refs/tags/{name}#*",
               "--format=%(refname:strip=2) %(taggerdate:unix) %(*objectname) %(objectname)")
    found = {}
    for line in out.splitlines():
        tag_name, date, peeled, target = (line.split(" ") + ["", "", ""])[:4]
        found[tag_name] = (int(date or 0), peeled or target)
    return found


def _version_commit(project: Project, version: ModelVersion) -> str:
    """A commit of this version's own: the registered-at commit's tree, that commit as parent."""
    base = version.git_commit or project.git_commit()
    stamp = f"{int(version.created_at)} +0000"
    return _git(project, "commit-tree", f"{base}^{{tree}}", "-p", str(base), "-m",
                f"mlnb model {version.ref}\n\nDVC hash {version.md5}, flavour {version.flavour}",
                env={"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})


def _git(project: Project, *args: str, env: dict[str, str] | None = None) -> str:
    full_env = {**os.environ, **(env or {})}
    for key, value in _identity(str(project.root)).items():
        full_env.setdefault(key, value)
    proc = subprocess.run(["git", *args], cwd=project.root, capture_output=True, text=True, env=full_env)
    if proc.returncode:
        raise MlnbError(f"git {args[0]} failed while writing GTO tags: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout.strip()


@functools.lru_cache(maxsize=8)
def _identity(root: str) -> dict[str, Any]:
    """A committer for the tags when git has none configured (a container, a CI runner)."""
    configured = subprocess.run(["git", "config", "user.name"], cwd=root, capture_output=True, text=True)
    if configured.stdout.strip():
        return {}
    from ._register import _user

    user = _user()
    return {"GIT_COMMITTER_NAME": user, "GIT_COMMITTER_EMAIL": f"{user}@localhost",
            "GIT_AUTHOR_NAME": user, "GIT_AUTHOR_EMAIL": f"{user}@localhost"}
