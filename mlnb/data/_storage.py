"""Where version content lives: DVC's cache, the remote, the working copy.

Reading a version never touches the working copy; ``checkout`` is the one verb that does, and it
refuses to discard changes that were never saved as a version unless forced.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from .._display import Record, Table
from .._project import Project, current_project
from ..errors import NotFound, UsageError
from ..store import registry
from ..store._schema import data_versions as dv
from ..store._schema import datasets as ds
from ._refs import DataVersion, resolve

#: Progress bars vanish when done and appear only for operations slower than half a second,
#: so quick calls leave no output behind.
_BAR = {"leave": False, "delay": 0.5}


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

    from ..store._schema import model_versions as mv

    # model files and their training profiles live in the same cache and travel with the data
    hashes = select(dv.c.md5).union(select(mv.c.md5), select(mv.c.profile_md5).where(mv.c.profile_md5.is_not(None)))
    with registry(project).read() as conn:
        return [HashInfo("md5", m) for (m,) in conn.execute(hashes)]


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
