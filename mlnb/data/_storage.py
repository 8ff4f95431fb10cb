"""Where version content lives: DVC's cache, the remote, the working copy.

Reading a version never touches the working copy; ``checkout`` is the one verb that does, and it
refuses to discard changes that were never saved as a version unless forced.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from .._display import Record, Table
from .._project import Project, current_project
from ..errors import NotFound, UsageError
from ..store import registry
from ..store._schema import data_versions as dv
from ..store._schema import datasets as ds
from . import _workcopy
from ._ingest import _BAR
from ._refs import DataVersion, resolve
from ._status_fast import status_rows, status_table

#: Progress bars vanish when done and appear only for operations slower than half a second,
#: so quick calls leave no output behind.

logger = logging.getLogger(__name__)


def _cache_path(project: Project, md5: str) -> Path:
    return Path(project.dvc.cache.local.oid_to_path(md5))


def _ensure_cached(project: Project, version: DataVersion) -> None:
    if _cache_path(project, version.md5).exists():
        if not version.is_dir or _missing_children(project, version.md5) == 0:
            return
    from dvc.exceptions import DvcException
    from dvc_data.hashfile.hash_info import HashInfo

    try:
        result = _transfer_with_progress(project, "pull", [HashInfo("md5", version.md5)], None)
    # no remote configured (DVC's error), its plugin not installed, the remote unreachable; any
    # other exception is a bug and surfaces as itself (CLI exit 4), never as "not found"
    except (DvcException, ImportError, OSError) as exc:
        logger.debug("fetching %s failed", version.ref, exc_info=True)
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


def status() -> Table:
    """Per dataset: which version the working copy holds and whether it was changed since.

    ``state`` is ``latest``, ``older version`` (after a checkout), ``modified`` (its content is
    not what its ``.dvc`` file records), ``missing`` (deleted, or not pulled on this clone) or
    ``untracked`` (no ``.dvc`` file). The working copy is hashed (DVC's state database spares
    unchanged files), so the answer does not depend on what the cache holds.
    """
    project = current_project()
    project.dvc._reset()
    q = select(ds.c.name, ds.c.path, dv.c.version, dv.c.md5).join(dv, dv.c.dataset_id == ds.c.id)
    with registry(project).read() as conn:
        registered = conn.execute(q.order_by(ds.c.name, dv.c.version)).all()
    return status_table(status_rows(project, registered, lambda rel: _workcopy.working_md5(project, rel)))


@contextlib.contextmanager
def _lock(project: Project, what: str) -> Iterator[None]:
    """Hold the project's "data" lock (the one adds and saves take), first cleaning up after
    checkouts that were killed."""
    from .._lock import project_lock

    with project_lock(project.root, "data", what=what):
        with registry(project).read() as conn:
            paths = [p for (p,) in conn.execute(select(ds.c.path))]
        _workcopy.recover(project, paths)
        yield


def checkout(ref: str, force: bool = False) -> DataVersion:
    """Put version ``ref`` in the working copy and point its ``.dvc`` file at it.

    Content of the working copy that exists nowhere else (changes not added as a version, or a
    version whose cache object is gone) is never discarded unless ``force`` is true (as with
    ``dvc checkout --force``). The working copy is replaced atomically: an interrupted checkout
    leaves the old or the new version in place, complete.

    >>> mlnb.data.checkout("train@1")  # doctest: +SKIP
    """
    project = current_project()
    version = resolve(ref, project)
    with _lock(project, f"a checkout of {version.ref}"):
        if not (project.root / f"{version.path}.dvc").exists():
            raise NotFound(f"{version.path}.dvc is missing: restore it from git or re-add {version.path}")
        _ensure_cached(project, version)
        current = _workcopy.working_md5(project, version.path)
        if not force:
            reason = _workcopy.unsaved_reason(project, version.path, version.name, current, version.md5)
            if reason:
                raise _workcopy.refuse_unsaved(reason, version.path, ref)
        if current != version.md5:
            _workcopy.place(project, version.path, version.md5)
        if _workcopy.recorded_md5(project, version.path) != version.md5:
            _workcopy.write_dvcfile(project, version.path, version.md5, version.size, version.nfiles)
    return version


def _registered_objects(project: Project) -> dict[str, list[str]]:
    """Hash -> the versions (``name@n``) registered with that content; model files and their
    training profiles live in the same cache and travel with the data."""
    from ..store._schema import model_versions as mv
    from ..store._schema import models as mo

    q = select(dv.c.md5, ds.c.name, dv.c.version).join(ds, ds.c.id == dv.c.dataset_id)
    models = select(mv.c.md5, mv.c.profile_md5, mo.c.name, mv.c.version).join(mo, mo.c.id == mv.c.model_id)
    refs: dict[str, list[str]] = {}
    with registry(project).read() as conn:
        for md5, name, number in conn.execute(q.order_by(ds.c.name, dv.c.version)):
            refs.setdefault(md5, []).append(f"{name}@{number}")
        for md5, profile, name, number in conn.execute(models.order_by(mo.c.name, mv.c.version)):
            refs.setdefault(md5, []).append(f"model {name}@{number}")
            if profile:
                refs.setdefault(profile, []).append(f"model {name}@{number} (training profile)")
    return refs


def push(remote: str | None = None) -> Record:
    """Send every registered version (not just the checked-out ones) to the DVC remote.

    A version whose content is neither in the local cache nor on the remote is named in the
    error (exit 3) after the others were sent.
    """
    return _transfer("push", remote)


def pull(remote: str | None = None) -> Record:
    """Fetch every registered version from the DVC remote into the local cache, then bring the
    working copies to what their ``.dvc`` files record (never over unsaved changes).

    A version found neither on the remote nor in the local cache is named in the error (exit 3).
    """
    return _transfer("pull", remote)


def _transfer(direction: str, remote: str | None) -> Record:
    project = current_project()
    from dvc.exceptions import DvcException
    from dvc_data.hashfile.hash_info import HashInfo

    with _lock(project, f"a data {direction}"):
        objects = _registered_objects(project)
        hashes = [HashInfo("md5", m) for m in objects]
        try:
            result = _transfer_with_progress(project, direction, hashes, remote)
            missing = _missing_objects(project, direction, objects, remote)
        except ImportError as exc:  # DVC knows the URL scheme but its plugin is not installed
            plugin = re.search(r"'(dvc-[\w-]+)'", str(exc))
            hint = f"pip install {plugin.group(1)}" if plugin else "install the DVC plugin for this remote"
            raise UsageError(f"{direction} failed: {_one_line(exc)}: {hint}") from exc
        except DvcException as exc:
            raise UsageError(f"{direction} failed: {_one_line(exc)} (set a remote with `mlnb init --remote URL`)") from exc
        if missing:
            raise NotFound(_missing_message(direction, missing, len(objects)))
        if result.failed:
            raise NotFound(f"{direction}: {len(result.failed)} object(s) could not be transferred: run it again")
        if direction == "pull":
            _pull_working_copies(project, remote)
    return Record({"direction": direction, "versions": len(hashes), "transferred": len(result.transferred)},
                  title=f"data {direction}")


def _missing_objects(project: Project, direction: str, objects: dict[str, list[str]],
                     remote: str | None) -> dict[str, list[str]]:
    """The registered objects that are neither in the local cache nor on the remote (after the
    transfer: for a pull, whatever is still not local; for a push, what is not local and the
    remote does not have either), with the versions that name them."""
    absent = {md5: refs for md5, refs in objects.items() if not _workcopy.is_cached(project, md5)}
    if direction == "pull" or not absent:
        return absent
    odb = project.dvc.cloud.get_remote_odb(remote, "push")
    missing = {}
    for md5, refs in absent.items():
        wanted = [md5]
        if _cache_path(project, md5).exists():  # a folder whose listing is here but some files are not
            wanted = [e["md5"] for e in _tree_entries(project, md5) if not _cache_path(project, e["md5"]).exists()]
        if not all(odb.exists(oid) for oid in wanted):
            missing[md5] = refs
    return missing


def _missing_message(direction: str, missing: dict[str, list[str]], total: int) -> str:
    named = [f"{', '.join(refs)} (md5 {md5})" for md5, refs in missing.items()]
    shown = "; ".join(named[:5]) + (f"; and {len(named) - 5} more" if len(named) > 5 else "")
    done = "" if len(missing) == total else f"; the other {total - len(missing)} were {direction}ed"
    return (f"{direction}: {len(missing)} of {total} registered object(s) are neither in the local cache nor on "
            f"the remote: {shown}{done}. Re-add the data from a copy (`mlnb data add PATH`) "
            "or pull from a remote that has it (`mlnb data pull -r NAME`)")


def _pull_working_copies(project: Project, remote: str | None) -> None:
    """Like `dvc pull`, tracked files in the working copy appear too: datasets first, each replaced
    atomically and never over content that exists nowhere else; then DVC for other outputs."""
    from dvc.exceptions import DvcException

    unsaved = []
    with registry(project).read() as conn:
        datasets = conn.execute(select(ds.c.name, ds.c.path).order_by(ds.c.name)).all()
    for name, rel in datasets:
        md5 = _workcopy.recorded_md5(project, rel)
        if not md5 or not _workcopy.is_cached(project, md5):
            continue
        current = _workcopy.working_md5(project, rel)
        if current == md5:
            continue
        if _workcopy.unsaved_reason(project, rel, name, current, md5):
            unsaved.append(rel)
            continue
        _workcopy.place(project, rel, md5)
    if unsaved:
        raise UsageError(
            f"pulled every version into the cache, but {', '.join(unsaved)} has changes not saved as a version: "
            f"`mlnb data add PATH` keeps them, `mlnb data checkout REF --force` discards them"
        )
    project.dvc._reset()
    try:
        project.dvc.pull(remote=remote)
    except DvcException as exc:
        raise UsageError(f"pull: DVC could not update the working copy: {_one_line(exc)}") from exc


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
    # dvc_data logs one multi-line error per object it cannot find; mlnb names them in one line
    quiet = logging.getLogger("dvc_data")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    with contextlib.ExitStack() as stack:
        stack.callback(quiet.setLevel, level)
        callback = stack.enter_context(TqdmCallback(tqdm_kwargs=bar, tqdm_cls=tqdm))
        return cloud.transfer(src, dest, hashes, cache_odb=cache, validate_status=None,
                              callback=callback, **kwargs)
