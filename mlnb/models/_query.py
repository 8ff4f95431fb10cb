"""Reading the registry: loading and predicting with a version, listing models and versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from .._display import Record, Table, format_bytes, format_time
from .._project import current_project
from ..errors import ValidationFailed
from ..store import registry
from ..store._schema import aliases as al
from ..store._schema import model_versions as mv
from ..store._schema import models as mo
from ..store._schema import runs
from . import _files
from ._refs import ModelVersion, model_id, resolve, split_ref, version_links


def load(ref: str, trusted: bool = False) -> Any:
    """The model object of ``ref`` (``"churn@champion"``, ``"churn@3"``, ``"churn@latest"``).

    skops files load through mlnb's safe loader (trusted types only); a pickle needs
    ``trusted=True``. Files of other flavours: use :func:`path`.

    >>> model = mlnb.models.load("churn@champion")  # doctest: +SKIP
    """
    project = current_project()
    return _files.load_file(project, resolve(ref, project), trusted=trusted)


def path(ref: str) -> Path:
    """A local path holding the bytes of ``ref`` (fetched from the DVC remote when not cached)."""
    project = current_project()
    return _files.local_path(project, resolve(ref, project))


#: what predict checks of the signature: columns, dtypes, nulls (ranges and categories are the
#: ``schema`` gate's: ordinary new data falls outside a training set's exact range)
_STRUCTURE = ("dtype", "nullable")


def check_signature(version: ModelVersion, frame: Any, full: bool = False) -> None:
    """Raise :class:`ValidationFailed` naming the columns of ``frame`` that break the signature:
    its columns, dtypes and nulls, and with ``full`` its ranges and categories too."""
    if not version.signature:
        return
    import pandas as pd

    from ..checks import Schema

    if not isinstance(frame, pd.DataFrame):
        raise ValidationFailed(f"{version.ref} takes a pandas DataFrame with columns "
                               f"{', '.join(version.signature['columns'])}; "
                               f"got {type(frame).__name__}")
    signature = version.signature if full else {
        **version.signature,
        "columns": {name: {k: v for k, v in spec.items() if k in _STRUCTURE}
                    for name, spec in version.signature["columns"].items()}}
    result = Schema.from_dict(signature, source=version.ref).validate(frame)
    if not result.ok:
        failing = sorted({str(c["column"]) for c in result.failed_checks})
        raise ValidationFailed(f"the frame does not match the signature of {version.ref}: columns "
                               f"{', '.join(failing)} fail ({result.headline()}); fix those columns first")


def predict(ref: str, frame: Any, trusted: bool = False) -> Any:
    """``model.predict(frame)`` after checking ``frame`` against the version's signature.

    >>> mlnb.models.predict("churn@champion", frame)  # doctest: +SKIP
    """
    project = current_project()
    version = resolve(ref, project)
    check_signature(version, frame)
    model = _files.load_file(project, version, trusted=trusted)
    columns = list(version.signature["columns"]) if version.signature else None
    return model.predict(frame[columns] if columns else frame)


_LIST_COLUMNS = ["name", "latest", "versions", "aliases", "metrics", "updated"]
_LOG_COLUMNS = ["version", "aliases", "metrics", "flavour", "format", "run_id", "data", "size", "created_at"]


def list_models() -> Table:
    """One row per model: latest version, number of versions, aliases, the latest's metrics."""
    project = current_project()
    latest = (select(mv.c.model_id, func.max(mv.c.version).label("latest"), func.count().label("versions"))
              .group_by(mv.c.model_id).subquery())
    q = (select(mo.c.id, mo.c.name, latest.c.latest, latest.c.versions, mv.c.metrics, mv.c.created_at)
         .join(latest, latest.c.model_id == mo.c.id)
         .join(mv, (mv.c.model_id == mo.c.id) & (mv.c.version == latest.c.latest)).order_by(mo.c.name))
    with registry(project).read() as conn:
        found = conn.execute(q).fetchall()
        alias_rows = conn.execute(select(al.c.model_id, al.c.alias, mv.c.version)
                                  .join(mv, mv.c.id == al.c.model_version_id).order_by(al.c.alias)).fetchall()
    names: dict[int, list[str]] = {}
    for mid, alias, number in alias_rows:
        names.setdefault(mid, []).append(f"{alias}={number}")
    rows = [{"name": r.name, "latest": f"{r.name}@{r.latest}", "versions": r.versions,
             "aliases": names.get(r.id, []), "metrics": json.loads(r.metrics or "{}"), "updated": r.created_at}
            for r in found]
    return Table(rows, _LIST_COLUMNS, title="models", formatters={"updated": format_time},
                 empty="no models yet: mlnb.models.register(NAME, model)")


def log(name: str, limit: int | None = None, offset: int = 0) -> Table:
    """Every version of model ``name``, newest first; ``limit``/``offset`` give one page of them,
    read as such from the registry. Rows hold the listed columns (and ``ref``), read straight
    from the registry: 10,000 versions list in tens of milliseconds.

    >>> mlnb.models.log("churn", limit=50)  # doctest: +SKIP
    """
    project = current_project()
    name, _ = split_ref(name)
    q = (select(mv.c.id, mv.c.version, mv.c.metrics, mv.c.flavour, mv.c.format, mv.c.run_id, mv.c.size,
                mv.c.created_at).order_by(mv.c.version.desc()).limit(limit).offset(offset or None))
    with registry(project).read() as conn:
        mid = model_id(conn, name)
        found = conn.execute(q.where(mv.c.model_id == mid)).all()
        aliases, data = version_links(conn, model=mid)
    rows = [{"version": r.version, "ref": f"{name}@{r.version}", "aliases": aliases.get(r.id, []),
             "metrics": json.loads(r.metrics or "{}"), "flavour": r.flavour, "format": r.format, "run_id": r.run_id,
             "data": data.get(r.id, []), "size": r.size, "created_at": r.created_at} for r in found]
    return Table(rows, _LOG_COLUMNS, title=f"versions of {name}",
                 formatters={"size": format_bytes, "created_at": format_time})


def show(ref: str) -> Record:
    """One version: its fields, lineage (data versions → run → version; in a notebook drawn, and
    ``.chart()``) and stored evaluations."""
    from ._charts import VersionRecord
    from ._evaluate import evaluations

    project = current_project()
    version = resolve(ref, project)
    fields = {k: v for k, v in version.to_dict().items() if k not in ("id", "signature")}
    with registry(project).read() as conn:
        fields["run_name"] = (conn.execute(select(runs.c.name).where(runs.c.id == version.run_id)).scalar()
                              if version.run_id else None)
    fields["signature"] = list((version.signature or {}).get("columns", {}))
    fields["evaluations"] = evaluations(version, project)
    return VersionRecord(fields, title=f"model {version.ref}",
                         formatters={"size": format_bytes, "created_at": format_time})
