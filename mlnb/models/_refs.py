"""Model versions and references: ``"churn"``, ``"churn@3"``, ``"churn@latest"``, ``"churn@champion"``.

A version is one row of the registry: a model name, a number and DVC's hash of the saved model.
``latest`` is never stored: it is always the highest number.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import select

from .._display import Record, RecordView, format_bytes, format_time
from .._project import Project, current_project
from ..data._dataversion import HashedVersion
from ..errors import NotFound, UsageError, shown
from ..store import registry
from ..store._schema import aliases as al
from ..store._schema import data_versions as dv
from ..store._schema import datasets as ds
from ..store._schema import model_data as md
from ..store._schema import model_versions as mv
from ..store._schema import models as mo

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
#: aliases read like words; numbers are version numbers and ``latest`` is automatic
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")
RESERVED_ALIASES = {"latest"}


@dataclass(frozen=True, repr=False)
class ModelVersion(RecordView, HashedVersion):
    """One registered version of a model."""

    id: int
    name: str
    version: int
    md5: str
    flavour: str
    format: str
    size: int
    nfiles: int | None
    run_id: str | None
    metrics: dict[str, float]
    signature: dict[str, Any] | None
    profile_md5: str | None
    message: str
    user: str | None
    host: str | None
    git_commit: str | None
    created_at: float
    aliases: tuple[str, ...] = ()
    data: tuple[str, ...] = field(default=())  # refs of the data versions it was trained on

    def to_dict(self) -> dict[str, Any]:
        # not asdict(): it deep-copies every version's signature, most of a 500-row page's time
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["metrics"] = dict(self.metrics)
        out["aliases"], out["data"] = list(self.aliases), list(self.data)
        out["ref"] = self.ref
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)

    def _record(self) -> Record:
        shown_fields = {k: v for k, v in self.to_dict().items() if k not in ("id", "signature")}
        if self.signature:
            shown_fields["signature"] = ", ".join(self.signature.get("columns", {}))
        return Record(shown_fields, title=f"model {self.ref}",
                      formatters={"size": format_bytes, "created_at": format_time})


def validate_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise UsageError(f"invalid model name {shown(str(name))}: use letters, digits, '_', '-' or '.', "
                         "starting with a letter or digit")
    return name


def validate_alias(alias: Any) -> str:
    if not isinstance(alias, str) or not _ALIAS.match(alias) or alias in RESERVED_ALIASES:
        raise UsageError(f"invalid alias {shown(str(alias))}: use a word of letters, digits, '_' or '-' starting "
                         "with a letter ('latest' is automatic)")
    return alias


def model_id(conn: Any, name: str) -> int:
    found = conn.execute(select(mo.c.id).where(mo.c.name == name)).scalar()
    if found is None:
        raise NotFound(f"no model named {name!r}: `mlnb models list` shows the models there are")
    return int(found)


#: ids per ``IN (...)`` list: far below SQLite's limit on bound parameters
_CHUNK = 900


def version_links(conn: Any, ids: list[int] | None = None, model: int | None = None
                  ) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """``({version id: aliases}, {version id: data refs})`` of the versions ``ids``, or of every
    version of model id ``model`` (two queries by the model's key, however many versions)."""
    names: dict[int, list[str]] = {}
    links: dict[int, list[int]] = {}
    if model is not None:
        batches = [(al.c.model_id == model,
                    md.c.model_version_id.in_(select(mv.c.id).where(mv.c.model_id == model).scalar_subquery()))]
    else:
        batches = [(al.c.model_version_id.in_(chunk), md.c.model_version_id.in_(chunk))
                    for chunk in (ids[start:start + _CHUNK] for start in range(0, len(ids or []), _CHUNK))]
    for alias_where, data_where in batches:
        for vid, alias in conn.execute(select(al.c.model_version_id, al.c.alias).where(alias_where).order_by(al.c.alias)):
            names.setdefault(vid, []).append(alias)
        for vid, data_id in conn.execute(select(md.c.model_version_id, md.c.data_version_id).where(data_where)):
            links.setdefault(vid, []).append(data_id)
    refs = data_refs(conn, sorted({d for found in links.values() for d in found}))
    return names, {vid: [refs[d] for d in sorted(found) if d in refs] for vid, found in links.items()}


def to_versions(conn: Any, rows: list[Any]) -> list[ModelVersion]:
    """Registry rows as versions, with their aliases and data versions (two queries in all)."""
    names, data = version_links(conn, ids=[r._mapping["id"] for r in rows])
    signatures: dict[str, Any] = {}  # versions trained on the same columns share one parsed signature
    out = []
    for row in rows:
        m = row._mapping
        text = m["signature"]
        if text and text not in signatures:
            signatures[text] = json.loads(text)
        out.append(ModelVersion(
            id=m["id"], name=m["name"], version=m["version"], md5=m["md5"], flavour=m["flavour"],
            format=m["format"], size=m["size"], nfiles=m["nfiles"], run_id=m["run_id"],
            metrics=json.loads(m["metrics"] or "{}"),
            signature=signatures[text] if text else None, profile_md5=m["profile_md5"],
            message=m["message"] or "", user=m["user"], host=m["host"], git_commit=m["git_commit"],
            created_at=m["created_at"], aliases=tuple(names.get(m["id"], ())),
            data=tuple(data.get(m["id"], ())),
        ))
    return out


def data_refs(conn: Any, ids: list[int]) -> dict[int, str]:
    """``{data version id: "name@N"}`` for the given ids, in id order."""
    if not ids:
        return {}
    q = (select(dv.c.id, ds.c.name, dv.c.version).join(ds, ds.c.id == dv.c.dataset_id)
         .where(dv.c.id.in_(ids)).order_by(dv.c.id))
    return {i: f"{n}@{v}" for i, n, v in conn.execute(q)}


def versions_query():  # type: ignore[no-untyped-def]
    return select(mv, mo.c.name).join(mo, mo.c.id == mv.c.model_id)


def split_ref(ref: Any) -> tuple[str, str]:
    """``"churn@champion"`` -> ``("churn", "champion")``; a bare name means ``latest``."""
    if not isinstance(ref, str) or not ref.strip():
        raise UsageError(f"invalid model reference {ref!r}: use NAME, NAME@VERSION or NAME@ALIAS")
    name, _, spec = ref.strip().partition("@")
    validate_name(name)
    return name, spec or "latest"


def resolve_in(conn: Any, ref: str) -> ModelVersion:
    """The version ``ref`` names, read on ``conn`` (inside a caller's transaction)."""
    name, spec = split_ref(ref)
    mid = model_id(conn, name)
    q = versions_query().where(mv.c.model_id == mid)
    if spec == "latest":
        row = conn.execute(q.order_by(mv.c.version.desc()).limit(1)).first()
    elif re.fullmatch(r"[0-9]+", spec):  # not str.isdigit(), which takes '²'
        # a number past any version (or SQLite's integers) is simply not there
        row = conn.execute(q.where(mv.c.version == int(spec))).first() if len(spec) < 16 else None
    else:
        validate_alias(spec)
        row = conn.execute(q.join(al, al.c.model_version_id == mv.c.id).where(al.c.alias == spec)).first()
        if row is None:
            raise NotFound(f"model {name} has no alias {spec!r}: `mlnb models show {name}` lists its aliases")
    if row is None:
        raise NotFound(f"no model version {ref!r}: `mlnb models log {name}` lists the versions there are")
    return to_versions(conn, [row])[0]


def resolve(ref: str, project: Project | None = None) -> ModelVersion:
    """The version named by ``ref``: ``"churn"`` / ``"churn@latest"``, ``"churn@3"`` or ``"churn@champion"``.

    >>> mlnb.models.resolve("churn@champion").version  # doctest: +SKIP
    4
    """
    project = project or current_project()
    with registry(project).read() as conn:
        return resolve_in(conn, ref)


def by_id(conn: Any, version_id: int | None) -> ModelVersion | None:
    if version_id is None:
        return None
    row = conn.execute(versions_query().where(mv.c.id == version_id)).first()
    return to_versions(conn, [row])[0] if row else None
