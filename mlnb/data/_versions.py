"""Data versions: DVC tracks the bytes, the registry remembers every version by its hash.

A version is registered only after DVC has put the content in its cache, in one transaction, so
an interrupted add leaves either nothing or a complete version. Identical content is never a new
version: the registry keeps one row per (dataset, hash).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from .. import _lineage
from .._display import Table, format_bytes, format_time
from .._project import Project, current_project
from ..errors import NotFound, UsageError
from ..store import registry
from ..store._schema import data_versions as dv
from ..store._schema import datasets as ds
from . import _frames, _write
from ._add_fast import file_stat, recorded_md5, save_stamp
from ._ingest import store_file
from ._list_fast import datasets_table
from ._refs import DataVersion, _resolve_for_read, _row_to_version, _validate_name, _versions_query, resolve
from ._storage import _cache_path, _materialize

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

logger = logging.getLogger(__name__)


def add(path: str | os.PathLike[str], name: str | None = None, message: str = "") -> DataVersion:
    """Track a file or folder with DVC and register its content as a version of ``name``.

    >>> v = mlnb.data.add("data/images", name="images", message="first crawl")  # doctest: +SKIP
    """
    project = current_project()
    rel = project.relpath(path)
    full = project.root / rel
    if not full.exists():
        raise NotFound(f"{path} does not exist: check the path (relative to {Path.cwd()})")
    if rel.split("/")[0] in (".dvc", ".mlnb", ".git", ".", ""):
        raise UsageError(f"{path} cannot be versioned: pick a data file or folder inside the project")
    # default name: the dataset already tracking this path, else the file's stem ("train.csv" ->
    # "train", so references read train@2) or the folder's name
    default = Path(rel).stem if full.is_file() else Path(rel).name
    name = _validate_name(name or _dataset_at(project, rel) or default)
    _write.check_no_outside_links(project, rel)
    _frames.check_readable(full)
    stat = file_stat(full) if full.is_file() else None  # before hashing: the stamp's stat
    with _write.data_write(project, rel, name, what=f"adding {rel}", rewrites=False):
        version = _track(project, rel, name, message)
        save_stamp(project, rel, stat, version.md5, _cache_path(project, version.md5))
        return version


def save(df: pd.DataFrame, name: str, message: str = "", path: str | None = None) -> DataVersion:
    """Write ``df`` in the dataset's format, track it with DVC and register a version of ``name``.

    A new dataset is parquet (``data/NAME.parquet``); an existing one keeps its file's format
    (a dataset added as ``t.csv`` gets CSV). The same frame saved twice is one version.

    >>> v = mlnb.data.save(df, "train", message="raw export")  # doctest: +SKIP
    >>> v.ref  # doctest: +SKIP
    'train@1'
    """
    project = current_project()
    name = _validate_name(name)
    rel = project.relpath(path) if path else _dataset_path(project, name) or f"data/{name}.parquet"
    _check_target(project, rel, name)  # before writing: a refused save changes no file
    full = project.root / rel
    _frames.check_writable(df, full)
    with _write.data_write(project, rel, name, what=f"saving {rel}", rewrites=True):
        full.parent.mkdir(parents=True, exist_ok=True)
        tmp = _write.temp_path(full)
        try:
            _frames.write_table(df, tmp, full.suffix)
            if full.exists() and _same_bytes(tmp, full):
                tmp.unlink()  # keep the old file's stat so DVC's hash cache still knows it
            else:
                os.replace(tmp, full)
        finally:
            tmp.unlink(missing_ok=True)
        return _track(project, rel, name, message, frame=df)


def _same_bytes(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def _dataset_path(project: Project, name: str) -> str | None:
    with registry(project).read() as conn:
        return conn.execute(select(ds.c.path).where(ds.c.name == name)).scalar()


def _dataset_at(project: Project, rel: str) -> str | None:
    """The dataset that tracks ``rel``, if any."""
    with registry(project).read() as conn:
        return conn.execute(select(ds.c.name).where(ds.c.path == rel)).scalar()


def _check_target(project: Project, rel: str, name: str) -> None:
    """One dataset per path and one path per dataset."""
    existing_path = _dataset_path(project, name)
    if existing_path is not None and existing_path != rel:
        raise UsageError(
            f"dataset {name!r} already tracks {existing_path}, not {rel}: pick another --name or add {existing_path}"
        )
    owner = _dataset_at(project, rel)
    if owner not in (None, name):
        raise UsageError(f"{rel} is already dataset {owner!r}: add it without --name (or as --name {owner}) "
                         "for its next version, or copy it to another path")


def _track(project: Project, rel: str, name: str, message: str, frame: pd.DataFrame | None = None) -> DataVersion:
    _check_target(project, rel, name)
    unchanged = _unchanged_version(project, rel, name)
    if unchanged is not None:
        _lineage.touched("output", unchanged.id)
        return unchanged
    repo = project.dvc
    repo._reset()
    from dvc.exceptions import DvcException

    store_file(project, project.root / rel)  # one read: DVC finds the hash and the object

    try:
        # DVC's "relink" deletes the working file and copies it back from the cache: pointless with
        # copy-type caches, and a Ctrl-C between the two loses the user's file. Relink only when the
        # project asked for links (hardlink/symlink caches), where it saves space.
        links = {"hardlink", "symlink"} & set(repo.cache.local.cache_types)
        with _write.dvc_errors_unlogged():
            # absolute: DVC reads a relative path from the working directory, which may be a
            # folder of the project (a notebook in notebooks/), not its root
            (stage,) = repo.add(str(project.root / rel), relink=bool(links))
    except DvcException as exc:
        raise UsageError(f"DVC could not track {rel}: {exc}") from exc
    out = stage.outs[0]
    md5, meta = out.hash_info.value, out.meta
    reg = registry(project)
    with reg.read() as conn:
        row = conn.execute(_versions_query().where(ds.c.name == name, dv.c.md5 == md5)).first()
    if row is not None:
        version = _row_to_version(row)
    else:
        version = _register(project, rel, name, message, md5, meta, frame)
    _lineage.touched("output", version.id)
    return version


def _unchanged_version(project: Project, rel: str, name: str) -> DataVersion | None:
    """The registered version when the file is exactly what its ``.dvc`` file and the registry
    already record (same stat as when DVC hashed it): re-adding it then costs no hashing at all."""
    full = project.root / rel
    md5 = recorded_md5(project, rel) if full.is_file() else None
    if not md5:
        return None
    repo = project.dvc
    _, hash_info = repo.state.get(str(full), repo.fs)
    if hash_info is None or hash_info.value != md5 or not _cache_path(project, md5).exists():
        return None
    with registry(project).read() as conn:
        row = conn.execute(_versions_query().where(ds.c.name == name, dv.c.md5 == md5)).first()
    return _row_to_version(row) if row else None


def _register(project: Project, rel: str, name: str, message: str, md5: str, meta: Any,
              frame: pd.DataFrame | None) -> DataVersion:
    rows = cols = None
    summary = None
    full = project.root / rel
    suffix = full.suffix.lower()
    if frame is not None:
        rows, cols = len(frame), len(frame.columns)
        summary = _frames.summarize(frame)
    elif not meta.isdir and _frames.is_tabular(full):
        rows, cols = _frames.shape_of(full, suffix)
        if meta.size is not None and meta.size <= _frames.SUMMARY_MAX_BYTES:
            try:
                table = _frames.read_table(full)
            # a file named .csv that is not CSV is still data worth versioning; pandas and pyarrow
            # report an unreadable file as ValueError (parse, decode, Arrow errors) or OSError
            except (ValueError, OSError):
                logger.debug("%s is not readable as a table: versioned without a summary", rel, exc_info=True)
                table = None
            if table is not None:
                rows, cols, summary = len(table), len(table.columns), _frames.summarize(table)
    now = time.time()
    commit = project.git_commit()
    reg = registry(project)
    with reg.write() as conn:
        dataset_id = conn.execute(select(ds.c.id).where(ds.c.name == name)).scalar()
        if dataset_id is None:
            dataset_id = conn.execute(ds.insert().values(name=name, path=rel, created_at=now)).inserted_primary_key[0]
        existing = conn.execute(
            select(dv.c.version).where(dv.c.dataset_id == dataset_id, dv.c.md5 == md5)
        ).scalar()
        if existing is not None:  # registered meanwhile (by a writer on another machine)
            number = existing
        else:
            number = _insert_version(conn, dataset_id, md5, meta, rows, cols, summary, message, commit, now)
    return resolve(f"{name}@{number}", project)


def _insert_version(conn: Any, dataset_id: int, md5: str, meta: Any, rows: int | None, cols: int | None,
                    summary: dict[str, Any] | None, message: str, commit: str | None, now: float) -> int:
    latest = conn.execute(select(func.max(dv.c.version)).where(dv.c.dataset_id == dataset_id)).scalar() or 0
    conn.execute(
        dv.insert().values(
            dataset_id=dataset_id, version=latest + 1, md5=md5, size=meta.size or 0, nfiles=meta.nfiles,
            rows=rows, cols=cols, summary=json.dumps(summary) if summary else None,
            message=message or "", git_commit=commit, created_at=now,
        )
    )
    return latest + 1


def path(ref: str) -> Path:
    """A local path holding the content of ``ref``, fetched from the remote when not cached.

    The working copy is not touched: files are read from DVC's cache; a folder version is
    assembled under ``.mlnb/tmp/``.
    """
    project = current_project()
    version = _resolve_for_read(ref, project)
    return _materialize(project, version)


def load(ref: str) -> pd.DataFrame:
    """The DataFrame stored as version ``ref`` (``"train"``, ``"train@1"``, a hash prefix ...).

    >>> df1 = mlnb.data.load("train@1")  # doctest: +SKIP
    """
    project = current_project()
    version = _resolve_for_read(ref, project)
    if version.is_dir or not _frames.is_tabular(version.path):
        raise UsageError(f"{version.ref} ({version.path}) is not a table: use mlnb.data.path({version.ref!r})")
    frame = _frames.read_table(_materialize(project, version), Path(version.path).suffix)
    frame.attrs["mlnb_data_version"] = version.id  # mlnb.models.register(data=frame) links it
    _lineage.touched("input", version.id)
    return frame


_LOG_COLUMNS = ["version", "md5", "size", "rows", "cols", "message", "git_commit", "created_at"]


def list_datasets() -> Table:
    """One row per dataset: name, latest version, size, rows, number of versions, last update."""
    project = current_project()
    latest = (
        select(dv.c.dataset_id, func.max(dv.c.version).label("latest"), func.count().label("versions"))
        .group_by(dv.c.dataset_id)
        .subquery()
    )
    q = (
        select(ds.c.name, ds.c.path, latest.c.latest, latest.c.versions, dv.c.size, dv.c.rows, dv.c.cols,
               dv.c.created_at.label("updated"))
        .join(latest, latest.c.dataset_id == ds.c.id)
        .join(dv, (dv.c.dataset_id == ds.c.id) & (dv.c.version == latest.c.latest))
        .order_by(ds.c.name)
    )
    with registry(project).read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q)]
    return datasets_table(rows)


def log(name: str) -> Table:
    """Every version of dataset ``name``, newest first."""
    project = current_project()
    name = name.partition("@")[0]
    with registry(project).read() as conn:
        if conn.execute(select(ds.c.id).where(ds.c.name == name)).first() is None:
            raise NotFound(f"no dataset named {name!r}: `mlnb data list` shows the datasets there are")
        q = select(*(dv.c[c] for c in _LOG_COLUMNS)).join(ds, ds.c.id == dv.c.dataset_id)
        rows = [dict(r._mapping) for r in conn.execute(q.where(ds.c.name == name).order_by(dv.c.version.desc()))]
    return Table(rows, _LOG_COLUMNS, title=f"versions of {name}",
                 formatters={"size": format_bytes, "created_at": format_time,
                             "md5": lambda h: h[:10], "git_commit": lambda c: (c or "")[:8]})


def versions_by_id(ids: list[int], project: Project | None = None) -> list[DataVersion]:
    """Versions by registry id (lineage uses this to name what a run read or wrote)."""
    project = project or current_project()
    with registry(project).read() as conn:
        rows = conn.execute(_versions_query().where(dv.c.id.in_(ids)).order_by(dv.c.id)).fetchall()
    return [_row_to_version(r) for r in rows]
