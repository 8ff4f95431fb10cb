"""Data versions: DVC tracks the bytes, the registry remembers every version by its hash.

A version is registered only after DVC has put the content in its cache, in one transaction, so
an interrupted add leaves either nothing or a complete version. Identical content is never a new
version: the registry keeps one row per (dataset, hash).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import func, select

from .. import _lineage
from .._display import Record, Table, format_bytes, format_time
from .._project import Project, current_project
from ..errors import NotFound, UsageError
from ..store import registry
from ..store._schema import data_versions as dv
from ..store._schema import datasets as ds
from . import _frames

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_HEX = re.compile(r"^[0-9a-f]{6,32}$")


@dataclass(frozen=True)
class DataVersion:
    """One registered version of a dataset."""

    id: int
    name: str
    version: int
    path: str
    md5: str
    size: int
    nfiles: int | None
    rows: int | None
    cols: int | None
    message: str
    git_commit: str | None
    created_at: float
    summary: dict[str, Any] | None = None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(".dir")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("summary")
        out["ref"] = self.ref
        return out

    def to_json(self) -> str:
        """``to_dict()`` as JSON: what ``mlnb data show REF --json`` prints."""
        return json.dumps(self.to_dict(), indent=2)

    def _record(self) -> Record:
        return Record(
            {k: v for k, v in self.to_dict().items() if k not in ("id",)},
            title=f"dataset {self.ref}",
            formatters={"size": format_bytes, "created_at": format_time},
        )

    def __str__(self) -> str:
        return str(self._record())

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self._record()._repr_html_()


# -- references ------------------------------------------------------------------------------


def _validate_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise UsageError(
            f"invalid dataset name {name!r}: use letters, digits, '_', '-' or '.', starting with a letter or digit"
        )
    return name


def _row_to_version(row: Any) -> DataVersion:
    m = row._mapping
    return DataVersion(
        id=m["id"], name=m["name"], version=m["version"], path=m["path"], md5=m["md5"], size=m["size"],
        nfiles=m["nfiles"], rows=m["rows"], cols=m["cols"], message=m["message"] or "",
        git_commit=m["git_commit"], created_at=m["created_at"],
        summary=json.loads(m["summary"]) if m["summary"] else None,
    )


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


# -- adding ----------------------------------------------------------------------------------


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
    name = _validate_name(name or _dataset_at(project, rel) or Path(rel).name)
    return _track(project, rel, name, message)


def save(df: pd.DataFrame, name: str, message: str = "", path: str | None = None) -> DataVersion:
    """Write ``df`` as parquet, track it with DVC and register a version of ``name``.

    The same frame saved twice is one version.

    >>> v = mlnb.data.save(df, "train", message="raw export")  # doctest: +SKIP
    >>> v.ref  # doctest: +SKIP
    'train@1'
    """
    project = current_project()
    name = _validate_name(name)
    rel = project.relpath(path) if path else _dataset_path(project, name) or f"data/{name}.parquet"
    _check_target(project, rel, name)  # before writing: a refused save changes no file
    full = project.root / rel
    full.parent.mkdir(parents=True, exist_ok=True)
    tmp = full.with_name(f".{full.name}.mlnb-tmp")
    try:
        _frames.write_parquet(df, tmp)
        if full.exists() and _same_bytes(tmp, full):
            tmp.unlink()  # keep the old file's stat so DVC's hash cache still knows it
        else:
            os.replace(tmp, full)
    finally:
        tmp.unlink(missing_ok=True)
    version = _track(project, rel, name, message, frame=df)
    return version


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

    _hash_with_progress(project, project.root / rel)

    try:
        (stage,) = repo.add(rel)
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
    dvcfile = full.with_name(full.name + ".dvc")
    if not full.is_file() or not dvcfile.is_file():
        return None
    recorded = yaml.safe_load(dvcfile.read_text()) or {}
    outs = recorded.get("outs") or [{}]
    md5 = outs[0].get("md5")
    if not md5:
        return None
    repo = project.dvc
    _, hash_info = repo.state.get(str(full), repo.fs)
    if hash_info is None or hash_info.value != md5 or not _cache_path(project, md5).exists():
        return None
    with registry(project).read() as conn:
        row = conn.execute(_versions_query().where(ds.c.name == name, dv.c.md5 == md5)).first()
    return _row_to_version(row) if row else None


#: Progress bars vanish when done and appear only for operations slower than half a second,
#: so quick calls leave no output behind.
_BAR = {"leave": False, "delay": 0.5}

#: Files at least this big get a progress bar while hashed (hashing is most of an add).
PROGRESS_MIN_BYTES = 64 * 1024**2


def _hash_with_progress(project: Project, full: Path) -> None:
    """Hash a large file with a tqdm.auto bar (a widget in notebooks) and hand the hash to DVC's
    state database, so DVC's own add finds it there instead of hashing a second time."""
    if not full.is_file() or full.stat().st_size < PROGRESS_MIN_BYTES:
        return
    from dvc_data.hashfile.hash import file_md5
    from dvc_data.hashfile.hash_info import HashInfo
    from fsspec.callbacks import TqdmCallback
    from tqdm.auto import tqdm

    repo = project.dvc
    fs = repo.fs
    info = fs.info(str(full))
    meta, cached = repo.state.get(str(full), fs, info=info)
    if cached is not None:
        return
    kwargs = {"desc": f"hashing {full.name}", "unit": "B", "unit_scale": True, "unit_divisor": 1024, **_BAR}
    with TqdmCallback(tqdm_kwargs=kwargs, tqdm_cls=tqdm) as callback:
        callback.set_size(info["size"])
        oid = file_md5(str(full), fs, callback=callback, size=info["size"])
    repo.state.save(str(full), fs, HashInfo("md5", oid), info=info)


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
            except Exception:  # a file named .csv that is not CSV is still data worth versioning
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
        latest = conn.execute(select(func.max(dv.c.version)).where(dv.c.dataset_id == dataset_id)).scalar() or 0
        conn.execute(
            dv.insert().values(
                dataset_id=dataset_id, version=latest + 1, md5=md5, size=meta.size or 0, nfiles=meta.nfiles,
                rows=rows, cols=cols, summary=json.dumps(summary) if summary else None,
                message=message or "", git_commit=commit, created_at=now,
            )
        )
    return resolve(f"{name}@{latest + 1}", project)


# -- reading ---------------------------------------------------------------------------------


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
    _lineage.touched("input", version.id)
    return frame


def _cache_path(project: Project, md5: str) -> Path:
    return Path(project.dvc.cache.local.oid_to_path(md5))


def _ensure_cached(project: Project, version: DataVersion) -> None:
    if _cache_path(project, version.md5).exists():
        if not version.is_dir or _missing_children(project, version.md5) == 0:
            return
    from dvc_data.hashfile.hash_info import HashInfo

    try:
        result = _transfer_with_progress(project, "pull", [HashInfo("md5", version.md5)], None)
    except Exception as exc:  # no remote configured, remote unreachable ...
        raise NotFound(
            f"{version.ref} is not in the local cache and could not be fetched: {_one_line(exc)}"
        ) from exc
    if result.failed or not _cache_path(project, version.md5).exists():
        raise NotFound(f"{version.ref} is not in the local cache nor on the remote: was it pushed (`mlnb data push`)?")


def _tree_entries(project: Project, md5: str) -> list[dict[str, str]]:
    return json.loads(_cache_path(project, md5).read_text())


def _missing_children(project: Project, md5: str) -> int:
    return sum(not _cache_path(project, e["md5"]).exists() for e in _tree_entries(project, md5))


def _materialize(project: Project, version: DataVersion) -> Path:
    _ensure_cached(project, version)
    cached = _cache_path(project, version.md5)
    if not version.is_dir:
        return cached
    target = project.mlnb_dir / "tmp" / "dirs" / version.md5
    if target.is_dir():
        return target
    staging = target.with_name(target.name + f".{os.getpid()}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    for entry in _tree_entries(project, version.md5):
        dest = staging / entry["relpath"]
        dest.parent.mkdir(parents=True, exist_ok=True)
        src = _cache_path(project, entry["md5"])
        try:
            os.link(src, dest)
        except OSError:
            shutil.copyfile(src, dest)
    staging.mkdir(parents=True, exist_ok=True)
    os.replace(staging, target)
    return target


# -- listing ---------------------------------------------------------------------------------

_LIST_COLUMNS = ["name", "latest", "path", "size", "rows", "cols", "versions", "updated"]
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
    return Table(rows, _LIST_COLUMNS, title="datasets", formatters={"size": format_bytes, "updated": format_time},
                 empty="no datasets yet: mlnb.data.save(df, NAME) or `mlnb data add PATH`")


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


_STATUS_COLUMNS = ["name", "path", "checked_out", "latest", "state"]


def status() -> Table:
    """Per dataset: which version the working copy holds and whether it was changed since.

    ``state`` is ``latest``, ``older version`` (after a checkout), ``modified`` (changed and
    not added yet), ``missing`` (deleted, or not pulled on this clone) or ``untracked`` (no
    ``.dvc`` file).
    """
    project = current_project()
    repo = project.dvc
    repo._reset()
    q = select(ds.c.name, ds.c.path, dv.c.version, dv.c.md5).join(dv, dv.c.dataset_id == ds.c.id)
    with registry(project).read() as conn:
        versions: dict[str, dict[str, int]] = {}
        paths: dict[str, str] = {}
        for name, rel, number, md5 in conn.execute(q.order_by(ds.c.name, dv.c.version)):
            versions.setdefault(name, {})[md5] = number
            paths[name] = rel
    rows = []
    for name, rel in paths.items():
        dvcfile = project.root / f"{rel}.dvc"
        latest = max(versions[name].values())
        row = {"name": name, "path": rel, "checked_out": None, "latest": f"{name}@{latest}"}
        if not dvcfile.is_file():
            rows.append({**row, "state": "untracked"})
            continue
        recorded = (yaml.safe_load(dvcfile.read_text()) or {}).get("outs", [{}])[0].get("md5")
        number = versions[name].get(recorded)
        row["checked_out"] = f"{name}@{number}" if number else None
        outs = _changed_outs(project, dvcfile)
        if "deleted" in outs or ("not in cache" in outs and not (project.root / rel).exists()):
            state = "missing"
        elif outs:
            state = "modified"
        else:
            state = "latest" if number == latest else "older version"
        rows.append({**row, "state": state})
    return Table(rows, _STATUS_COLUMNS, title="working copy", empty="no datasets yet")


def _changed_outs(project: Project, dvcfile: Path) -> list[str]:
    """How the working copy differs from what its ``.dvc`` file records (DVC's words:
    ``modified``, ``deleted``, ``not in cache``); empty when it matches."""
    changed = project.dvc.status(targets=[str(dvcfile)])
    return [state for entry in changed.get(str(dvcfile.relative_to(project.root)), [])
            for state in entry.get("changed outs", {}).values()]


def versions_by_id(ids: list[int], project: Project | None = None) -> list[DataVersion]:
    """Versions by registry id (lineage uses this to name what a run read or wrote)."""
    project = project or current_project()
    with registry(project).read() as conn:
        rows = conn.execute(_versions_query().where(dv.c.id.in_(ids)).order_by(dv.c.id)).fetchall()
    return [_row_to_version(r) for r in rows]


# -- working copy and remote -----------------------------------------------------------------


def checkout(ref: str, force: bool = False) -> DataVersion:
    """Put version ``ref`` in the working copy and point its ``.dvc`` file at it.

    Changes to the working copy that are not saved as a version are never discarded unless
    ``force`` is true (as with ``dvc checkout --force``).

    >>> mlnb.data.checkout("train@1")  # doctest: +SKIP
    """
    project = current_project()
    version = resolve(ref, project)
    _ensure_cached(project, version)
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_data.hashfile.meta import Meta

    repo = project.dvc
    repo._reset()
    dvcfile = f"{version.path}.dvc"
    if not (project.root / dvcfile).exists():
        raise NotFound(f"{dvcfile} is missing: restore it from git or re-add {version.path}")
    if not force and "modified" in _changed_outs(project, project.root / dvcfile):
        raise UsageError(
            f"{version.path} has changes that are not saved as a version: `mlnb data add {version.path}` "
            f"keeps them, `mlnb data checkout {ref} --force` discards them"
        )
    stage = repo.stage.load_one(dvcfile)
    out = stage.outs[0]
    out.hash_info = HashInfo("md5", version.md5)
    out.meta = Meta(isdir=version.is_dir, size=version.size, nfiles=version.nfiles)
    stage.dump()
    repo._reset()
    repo.checkout(targets=[dvcfile], force=True)
    return version


def _all_hashes(project: Project) -> list[Any]:
    from dvc_data.hashfile.hash_info import HashInfo

    with registry(project).read() as conn:
        return [HashInfo("md5", m) for (m,) in conn.execute(select(dv.c.md5).distinct())]


def push(remote: str | None = None) -> Record:
    """Send every registered version (not just the checked-out ones) to the DVC remote."""
    return _transfer("push", remote)


def pull(remote: str | None = None) -> Record:
    """Fetch every registered version from the DVC remote into the local cache."""
    return _transfer("pull", remote)


def _transfer(direction: str, remote: str | None) -> Record:
    project = current_project()
    hashes = _all_hashes(project)
    from dvc.exceptions import DvcException

    try:
        result = _transfer_with_progress(project, direction, hashes, remote)
    except ImportError as exc:  # DVC knows the URL scheme but its plugin is not installed
        plugin = re.search(r"'(dvc-[\w-]+)'", str(exc))
        hint = f"pip install {plugin.group(1)}" if plugin else "install the DVC plugin for this remote"
        raise UsageError(f"{direction} failed: {_one_line(exc)}: {hint}") from exc
    except DvcException as exc:
        raise UsageError(f"{direction} failed: {_one_line(exc)} (set a remote with `mlnb init --remote URL`)") from exc
    if result.failed:
        raise NotFound(f"{direction}: {len(result.failed)} object(s) could not be transferred")
    if direction == "pull":  # like `dvc pull`: tracked files in the working copy appear too
        project.dvc._reset()
        try:
            project.dvc.pull(remote=remote)
        except DvcException as exc:
            if "unsaved" not in str(exc):
                raise UsageError(f"pull: DVC could not update the working copy: {_one_line(exc)}") from exc
            # DVC refuses to overwrite changes not saved as a version; its message lists the paths
            unsaved = [line.strip() for line in str(exc).splitlines()[1:] if line.strip()]
            where = ", ".join(project.relpath(p) for p in unsaved) or "the working copy"
            raise UsageError(
                f"pulled every version into the cache, but {where} has changes not saved as a version: "
                f"`mlnb data add PATH` keeps them, `mlnb data checkout REF --force` discards them"
            ) from exc
    return Record({"direction": direction, "versions": len(hashes), "transferred": len(result.transferred)},
                  title=f"data {direction}")


def _one_line(exc: BaseException) -> str:
    """DVC's messages may span lines; mlnb shows errors as one line."""
    return " ".join(str(exc).split())


def _transfer_with_progress(project: Project, direction: str, hashes: list[Any], remote: str | None) -> Any:
    """DVC's cache <-> remote transfer with a tqdm.auto bar (DVC's own bar hides outside a TTY)."""
    from dvc_data.hashfile.db import get_index
    from fsspec.callbacks import TqdmCallback
    from tqdm.auto import tqdm

    cloud = project.dvc.cloud
    odb = cloud.get_remote_odb(remote, direction)
    cache = project.dvc.cache.local
    if direction == "push":
        src, dest, kwargs = cache, odb, {"dest_index": get_index(odb)}
    else:
        src, dest, kwargs = odb, cache, {"src_index": get_index(odb), "verify": odb.verify}
    bar = {"desc": f"{direction} {odb.fs.unstrip_protocol(odb.path)}", "unit": "file", **_BAR}
    with TqdmCallback(tqdm_kwargs=bar, tqdm_cls=tqdm) as callback:
        return cloud.transfer(src, dest, hashes, cache_odb=cache, validate_status=cloud._log_missing,
                              callback=callback, **kwargs)


# -- diff ------------------------------------------------------------------------------------

_STATS = ("mean", "std", "min", "max", "nulls", "distinct")


class DataDiff(Table):
    """What changed between two versions: shape, columns, dtypes and summary statistics."""

    def __init__(self, a: DataVersion, b: DataVersion) -> None:
        self.a, self.b = a, b
        rows: list[dict[str, Any]] = []

        def change(what: str, column: str, before: Any, after: Any) -> None:
            rows.append({"change": what, "column": column, "before": before, "after": after})

        if a.md5 == b.md5:
            super().__init__([], ["change", "column", "before", "after"], title=f"{a.ref} → {b.ref}",
                             empty="identical content")
            return
        for field in ("rows", "cols", "size", "nfiles"):
            if getattr(a, field) != getattr(b, field):
                change(field, "", getattr(a, field), getattr(b, field))
        sa, sb = a.summary or {}, b.summary or {}
        for col in sa.keys() - sb.keys():
            change("column removed", col, sa[col]["dtype"], None)
        for col in sb.keys() - sa.keys():
            change("column added", col, None, sb[col]["dtype"])
        for col in (c for c in sa if c in sb):
            if sa[col]["dtype"] != sb[col]["dtype"]:
                change("dtype", col, sa[col]["dtype"], sb[col]["dtype"])
            for stat in _STATS:
                x, y = sa[col].get(stat), sb[col].get(stat)
                if x != y and not (x is None and y is None):
                    change(stat, col, x, y)
        if not rows:
            change("content", "", a.md5[:10], b.md5[:10])
        super().__init__(rows, ["change", "column", "before", "after"], title=f"{a.ref} → {b.ref}")


def diff(a: str, b: str) -> DataDiff:
    """Compare two versions: ``mlnb.data.diff("train@1", "train@2")``."""
    project = current_project()
    return DataDiff(resolve(a, project), resolve(b, project))
