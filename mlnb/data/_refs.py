"""Data versions and references: ``"train"``, ``"train@3"``, ``"train@latest"``, a hash prefix.

A version is one row of the registry: a dataset name, a number and DVC's hash of the content.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator
from typing import Any

import yaml
from sqlalchemy import select

from .._project import Project, current_project
from ..errors import NotFound, UsageError
from ..store import registry
from ..store._schema import data_versions as dv
from ..store._schema import datasets as ds
from ._dataversion import DataVersion, _validate_name, version_from_mapping

_HEX = re.compile(r"^[0-9a-f]{6,32}$")


def _row_to_version(row: Any) -> DataVersion:
    return version_from_mapping(row._mapping)


def _versions_query():  # type: ignore[no-untyped-def]
    return select(dv, ds.c.name, ds.c.path).join(ds, ds.c.id == dv.c.dataset_id)


def resolve(ref: str, project: Project | None = None) -> DataVersion:
    """``"train"``, ``"train@latest"``, ``"train@3"``, ``"train@<hash prefix>"`` or a bare hash prefix."""
    project = project or current_project()
    if not isinstance(ref, str) or not ref.strip():
        raise UsageError(f"invalid data reference {ref!r}: use NAME, NAME@VERSION or a hash prefix")
    name, _, spec = ref.strip().partition("@")
    q = _versions_query()
    with registry(project).read() as conn:
        if not name and spec:
            raise UsageError(f"invalid data reference {ref!r}: a name must come before '@'")
        known = conn.execute(select(ds.c.id).where(ds.c.name == name)).first()
        if not known:
            if not spec and _HEX.match(name):  # a bare hash prefix
                rows = conn.execute(q.where(dv.c.md5.like(f"{name}%")).order_by(dv.c.id)).fetchall()
                return _one(rows, ref)
            raise NotFound(f"no dataset named {name!r}: `mlnb data list` shows the datasets there are")
        q = q.where(ds.c.name == name)
        if spec in ("", "latest"):
            row = conn.execute(q.order_by(dv.c.version.desc()).limit(1)).first()
            return _one([row] if row else [], ref)
        if spec.isdigit():
            rows = conn.execute(q.where(dv.c.version == int(spec))).fetchall()
            if rows or not _HEX.match(spec):
                return _one(rows, ref)
            # no such version number: 6+ digits may be a hash prefix (md5s have runs of digits)
        if _HEX.match(spec):
            return _one(conn.execute(q.where(dv.c.md5.like(f"{spec}%"))).fetchall(), ref)
    raise UsageError(f"invalid version {spec!r} in {ref!r}: use a number, 'latest' or a hash prefix of 6+ characters")


def _one(rows: list[Any], ref: str) -> DataVersion:
    if not rows:
        raise NotFound(f"no data version {ref!r}: `mlnb data log NAME` lists the versions there are")
    if len(rows) > 1:
        refs = ", ".join(f"{r.name}@{r.version}" for r in rows[:5])
        raise UsageError(f"{ref!r} is ambiguous ({refs}): give more characters of the hash")
    return _row_to_version(rows[0])


_working_copy_refs: contextvars.ContextVar[bool] = contextvars.ContextVar("mlnb_working_copy_refs", default=False)


@contextlib.contextmanager
def working_copy_refs() -> Iterator[None]:
    """Inside, an unpinned reference (``"train"``, ``"train@latest"``) read by ``load``/``path``
    means the version checked out in the working copy, not the newest registered one.

    Exported pipeline stages run this way: ``dvc.yaml`` lists the working-copy file as the stage's
    dependency, so the data a stage reads is exactly the data DVC hashed for it.
    """
    token = _working_copy_refs.set(True)
    try:
        yield
    finally:
        _working_copy_refs.reset(token)


def _resolve_for_read(ref: str, project: Project) -> DataVersion:
    version = resolve(ref, project)
    spec = ref.strip().partition("@")[2]
    if not _working_copy_refs.get() or spec not in ("", "latest"):
        return version
    dvcfile = project.root / f"{version.path}.dvc"
    if not dvcfile.is_file():
        return version
    md5 = ((yaml.safe_load(dvcfile.read_text()) or {}).get("outs") or [{}])[0].get("md5")
    return resolve(f"{version.name}@{md5}", project) if md5 and md5 != version.md5 else version
