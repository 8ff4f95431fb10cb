"""The working copy of a dataset: what it holds, whether it may be replaced, replacing it atomically.

Whether a working copy holds unsaved edits is decided by hashing it and comparing with the hash
its ``.dvc`` file and the registry record, never by DVC's status (which answers "not in cache"
before "modified" when the recorded object is missing, and then the edits used to be lost).

A working copy is replaced, never deleted first: the new content is written beside it under a
unique hidden name (``.NAME.mlnb-checkout-<random>``), flushed to disk, and renamed over it —
``os.replace`` for a file, an atomic exchange (``renameat2``) for a folder. A killed process
leaves the old or the new content in place, complete, plus perhaps such a leftover, which the
next data command removes (or, for a folder moved aside on a system without ``renameat2``,
puts back).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import uuid
from pathlib import Path

from sqlalchemy import select

from .._project import Project
from .._whole import write_whole
from ..errors import UsageError
from ..store import registry
from ..store._schema import data_versions as dv
from ..store._schema import datasets as ds
from ._add_fast import file_stat, recorded_md5, save_stamp
from ._ingest import _fsync_dir

#: The infix of every temporary name a checkout writes beside a working copy.
TMP_INFIX = ".mlnb-checkout-"


def working_md5(project: Project, rel: str) -> str | None:
    """DVC's hash of the working copy at ``rel`` (``<md5>.dir`` for a folder), None when absent.

    Unchanged files are not read again: DVC's state database remembers hashes by inode, mtime
    and size.
    """
    full = project.root / rel
    if not full.exists():
        return None
    repo = project.dvc
    if full.is_dir():
        from dvc_data.hashfile.build import build

        _, _, obj = build(repo.cache.local, str(full), repo.fs, "md5", dry_run=True, ignore=repo.dvcignore)
        return obj.hash_info.value
    from dvc_data.hashfile.hash import file_md5
    from dvc_data.hashfile.hash_info import HashInfo

    info = repo.fs.info(str(full))
    _, known = repo.state.get(str(full), repo.fs, info=info)
    if known is not None:
        return known.value
    oid = file_md5(str(full), repo.fs, size=info["size"])
    repo.state.save(str(full), repo.fs, HashInfo("md5", oid), info=info)
    return oid


def is_cached(project: Project, md5: str) -> bool:
    """The object and, for a folder, every file it lists are in the local cache."""
    from ._storage import _cache_path, _missing_children

    if not _cache_path(project, md5).exists():
        return False
    return not md5.endswith(".dir") or _missing_children(project, md5) == 0


def _registered(project: Project, name: str) -> dict[str, int]:
    """Hash -> version number, for every version of dataset ``name``."""
    q = select(dv.c.md5, dv.c.version).join(ds, ds.c.id == dv.c.dataset_id).where(ds.c.name == name)
    with registry(project).read() as conn:
        return dict(conn.execute(q).all())


def unsaved_reason(project: Project, rel: str, name: str, current: str | None, target_md5: str) -> str | None:
    """Why replacing the working copy at ``rel`` (hash ``current``, from :func:`working_md5`) by
    ``target_md5`` would lose data, or None.

    Nothing is lost when the working copy is absent, already is the target, or is a version of
    ``name`` whose content the local cache holds. Otherwise its bytes exist nowhere else.
    """
    if current is None or current == target_md5:
        return None
    versions = _registered(project, name)
    if current in versions or current == recorded_md5(project, rel):
        if is_cached(project, current):
            return None
        which = f"{name}@{versions[current]}" if current in versions else "the version its .dvc file records"
        return f"{rel} holds {which}, whose content is not in the cache (its only copy)"
    return f"{rel} has changes that are not saved as a version"


def place(project: Project, rel: str, md5: str) -> None:
    """Make the working copy at ``rel`` the cached content ``md5``, atomically (see module doc)."""
    from ._storage import _cache_path, _tree_entries

    full = project.root / rel
    full.parent.mkdir(parents=True, exist_ok=True)
    staging = full.with_name(f".{full.name}{TMP_INFIX}{uuid.uuid4().hex[:12]}")
    try:
        if md5.endswith(".dir"):
            for entry in _tree_entries(project, md5):
                _copy_synced(_cache_path(project, entry["md5"]), staging / entry["relpath"])
            _fsync_tree(staging)
            _swap_dir(staging, full)
        else:
            _copy_synced(_cache_path(project, md5), staging)
            os.replace(staging, full)
            _fsync_dir(full.parent)
            _remember_hash(project, full, md5)
            save_stamp(project, rel, file_stat(full), md5, _cache_path(project, md5))
    finally:
        _remove(staging)


def write_dvcfile(project: Project, rel: str, md5: str, size: int, nfiles: int | None) -> None:
    """Point the ``.dvc`` file of ``rel`` at ``md5``, replacing it atomically (DVC's own format)."""
    from dvc.stage.serialize import to_single_stage_file
    from dvc.utils.serialize import dumps_yaml
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_data.hashfile.meta import Meta

    repo = project.dvc
    repo._reset()
    dvcfile = project.root / f"{rel}.dvc"
    stage = repo.stage.load_one(str(dvcfile.relative_to(project.root)))
    out = stage.outs[0]
    out.hash_info = HashInfo("md5", md5)
    out.meta = Meta(isdir=md5.endswith(".dir"), size=size, nfiles=nfiles)
    text = dumps_yaml(to_single_stage_file(stage))
    write_whole(dvcfile, text, dvcfile.with_name(f".{dvcfile.name}{TMP_INFIX}{uuid.uuid4().hex[:12]}"))
    repo._reset()


def recover(project: Project, paths: list[str]) -> list[str]:
    """Clean up after checkouts that were killed: put back a folder left moved aside, delete
    temporary copies. Call it holding the project's "data" lock. Returns what was removed."""
    removed = []
    for rel in [*paths, *(f"{p}.dvc" for p in paths)]:
        full = project.root / rel
        if not full.parent.is_dir():
            continue
        leftovers = sorted(full.parent.glob(f".{full.name}{TMP_INFIX}*"))
        aside = [p for p in leftovers if p.name.endswith(".old")]
        if aside and not full.exists():
            os.rename(aside[0], full)
            leftovers.remove(aside[0])
        for leftover in leftovers:
            _remove(leftover)
            removed.append(project.relpath(leftover))
    return removed


def _copy_synced(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
        fout.flush()
        os.fsync(fout.fileno())


def _fsync_tree(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)  # an empty folder version
    for dirpath, _dirs, _files in os.walk(root):
        _fsync_dir(Path(dirpath))


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _swap_dir(staging: Path, full: Path) -> None:
    """Put folder ``staging`` at ``full``; whatever was at ``full`` ends at ``staging``."""
    if not full.exists() and not full.is_symlink():
        os.rename(staging, full)
    elif not _exchange(staging, full):
        # no atomic exchange here: move the old one aside under a name `recover` knows
        aside = staging.with_name(staging.name + ".old")
        os.rename(full, aside)
        os.rename(staging, full)
        os.rename(aside, staging)
    _fsync_dir(full.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: this filesystem cannot exchange
        return False
    raise OSError(err, os.strerror(err), str(b))


def _remember_hash(project: Project, full: Path, md5: str) -> None:
    """Tell DVC's state database the hash of a file just written, so nobody hashes it again."""
    from dvc_data.hashfile.hash_info import HashInfo

    project.dvc.state.save(str(full), project.dvc.fs, HashInfo("md5", md5))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


def refuse_unsaved(reason: str, rel: str, ref: str) -> UsageError:
    """The one-line refusal for a working copy that would lose data."""
    return UsageError(f"{reason}: `mlnb data add {rel}` keeps it, `mlnb data checkout {ref} --force` discards it")
