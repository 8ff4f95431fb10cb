"""One data write at a time, all or nothing: the lock, the journal that undoes a failed write, and
the checks made before anything is touched.

Every ``add`` and ``save`` runs under the project lock ``"data"`` (checkout, push and pull take it
too), so DVC's own repo lock and git's index are never contended by two mlnb writers. Before a
write changes a file it records, under ``.mlnb/tmp/data-write/``, what the files it may change
(the working file of a save, its ``.dvc`` file, the folder's ``.gitignore``) and their git index
entries were. A write that fails or is interrupted (Ctrl-C) puts them back at once; a write
killed outright is put back by the next data write, which finds the journal under the lock its
dead writer no longer holds — unless the registry already has the version the ``.dvc`` file
names, in which case the write had completed. So a ``.dvc`` file never stays pointing at a hash
the registry does not know.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from .._lock import project_lock
from .._project import Project
from ..errors import Busy, MlnbError, UsageError
from ._add_fast import journal_dir

#: Suffix of the temporary files a save writes beside its target before renaming them into place.
TMP_SUFFIX = ".mlnb-tmp"


@contextmanager
def data_write(project: Project, rel: str, name: str, what: str, rewrites: bool) -> Iterator[None]:
    """Hold the data lock, undo any write a dead process left half done, then journal this one:
    the block either completes (and registers its version) or leaves the saved state as it was.

    ``rewrites``: the block replaces the working file (a save), so it is backed up too.
    """
    with project_lock(project.root, "data", what=what):
        check_git_index_lock(project)  # first: undoing a dead write needs git's index too
        recover(project)
        _begin(project, rel, name, rewrites)
        try:
            yield
        except BaseException as exc:
            try:
                rollback(project)
            except MlnbError:
                check_git_index_lock(project)  # a git holds the index: say that, the journal stays
                raise
            if isinstance(exc, Exception) and not isinstance(exc, MlnbError):
                check_git_index_lock(project)  # a git started meanwhile: say so in one line
            if disk_full(exc):
                raise MlnbError(
                    f"the disk is full while saving {rel} (nothing was saved): free some space, then run it again"
                ) from exc
            raise
        _end(project)


def _protected(rel: str) -> list[str]:
    """The files a write of ``rel`` may change."""
    parent = Path(rel).parent
    return [rel, f"{rel}.dvc", (parent / ".gitignore").as_posix()]


def _begin(project: Project, rel: str, name: str, rewrites: bool) -> None:
    jdir = journal_dir(project)
    shutil.rmtree(jdir, ignore_errors=True)
    jdir.mkdir(parents=True)
    files: dict[str, str | None] = {}
    for i, path in enumerate(_protected(rel)):
        full = project.root / path
        if path == rel and not rewrites:
            files[path] = "-"  # an add never changes the file it adds
        elif full.is_file() and not full.is_symlink():
            backup = jdir / f"{i}.bak"
            try:
                if path != rel:  # DVC rewrites .dvc and .gitignore files in place: copy them
                    raise OSError
                os.link(full, backup)  # the old inode survives the rename a save makes
            except OSError:
                shutil.copy2(full, backup)
            files[path] = backup.name
        elif full.exists() or full.is_symlink():
            files[path] = "-"  # a folder (or link) DVC reads but mlnb never rewrites
        else:
            files[path] = None
    manifest = {"rel": rel, "name": name, "files": files, "index": _index_entries(project, list(files))}
    tmp = jdir / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest))
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, jdir / "manifest.json")


def _end(project: Project) -> None:
    shutil.rmtree(journal_dir(project), ignore_errors=True)


def recover(project: Project) -> bool:
    """Finish what a killed write left: keep it if its version is registered, else undo it.

    Call only under the data lock. Returns True when something was undone.
    """
    _repair_dvc_rwlock(project)
    manifest_path = journal_dir(project) / "manifest.json"
    if not manifest_path.is_file():
        _end(project)
        _remove_temp_files(project, None)
        return False
    manifest = json.loads(manifest_path.read_text())
    if _registered(project, manifest["rel"], manifest["name"]):
        _end(project)
        _remove_temp_files(project, manifest["rel"])
        return False
    rollback(project)
    return True


def _repair_dvc_rwlock(project: Project) -> None:
    """Remove DVC's ``.dvc/tmp/rwlock`` when it is empty or not JSON: DVC rewrites it on every
    command (truncate, then write), so a Ctrl-C or kill between the two leaves it unreadable and
    every later DVC command fails on it. Under DVC's own guard of that file; a readable one stays."""
    tmp = project.root / ".dvc" / "tmp"
    path = tmp / "rwlock"
    if not path.is_file() or _readable_json(path):  # the common case, decided without importing DVC
        return
    from dvc.lock import LockError, make_lock

    try:
        with make_lock(str(tmp / "rwlock.lock"), tmp_dir=str(tmp)):
            try:
                json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                path.unlink(missing_ok=True)
    except LockError:
        pass  # a DVC command is editing it right now: it is being written, not left broken


def _readable_json(path: Path) -> bool:
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return True


def _registered(project: Project, rel: str, name: str) -> bool:
    dvcfile = project.root / f"{rel}.dvc"
    try:
        md5 = ((yaml.safe_load(dvcfile.read_text()) or {}).get("outs") or [{}])[0].get("md5")
    except (OSError, yaml.YAMLError, AttributeError):
        return False
    if not md5:
        return False
    from sqlalchemy import select

    from ..store import registry
    from ..store._schema import data_versions as dv
    from ..store._schema import datasets as ds

    with registry(project).read() as conn:
        q = select(dv.c.id).join(ds, ds.c.id == dv.c.dataset_id).where(ds.c.name == name, dv.c.md5 == md5)
        return conn.execute(q).first() is not None


def rollback(project: Project) -> None:
    """Put back the files and git index entries recorded by the journal, then drop it."""
    jdir = journal_dir(project)
    manifest_path = jdir / "manifest.json"
    rel = None
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        rel = manifest["rel"]
        for path, backup in manifest["files"].items():
            full = project.root / path
            if backup == "-":
                continue
            if backup is None:
                if full.is_file() or full.is_symlink():
                    full.unlink()
                continue
            tmp = full.with_name(f".{full.name}.restore{TMP_SUFFIX}")
            shutil.copy2(jdir / backup, tmp)
            os.replace(tmp, full)
        _remove_new_orphans(project, manifest_path.stat().st_mtime)
        _restore_index(project, manifest["index"], list(manifest["files"]))
    _end(project)
    _remove_temp_files(project, rel)


def temp_path(full: Path) -> Path:
    """A temp name of this process beside ``full``, for writing it whole before renaming it in."""
    return full.with_name(f".{full.name}.{os.getpid()}-{secrets.token_hex(4)}{TMP_SUFFIX}")


def _remove_new_orphans(project: Project, since: float) -> None:
    """Cache objects the undone write created that no registered version uses: without this an
    undone write would still have changed DVC's cache (harmlessly, but not nothing)."""
    cache = project.root / ".dvc" / "cache" / "files" / "md5"
    new = [p for p in cache.glob("*/*") if not p.name.startswith(".") and p.stat().st_ctime >= since - 1]
    if not new:
        return
    from sqlalchemy import select

    from ..store import registry
    from ..store._schema import data_versions as dv

    with registry(project).read() as conn:
        registered = set(conn.execute(select(dv.c.md5)).scalars())
    used = {md5.removesuffix(".dir") for md5 in registered}
    for md5 in registered:
        if md5.endswith(".dir"):
            obj = cache / md5[:2] / md5[2:]
            try:
                used.update(entry["md5"] for entry in json.loads(obj.read_text()))
            except (OSError, ValueError, KeyError, TypeError):
                continue
    for obj in new:
        if (obj.parent.name + obj.name).removesuffix(".dir") not in used:
            obj.unlink(missing_ok=True)


def _remove_temp_files(project: Project, rel: str | None) -> None:
    """Temp files of dead writers: DVC's ``*.tmp`` cache objects and, beside ``rel``, what a save
    wrote before its rename."""
    sweep_cache_temps(project)
    if rel is not None:
        full = project.root / rel
        for tmp in full.parent.glob(f".{full.name}.*{TMP_SUFFIX}"):
            tmp.unlink(missing_ok=True)


def sweep_cache_temps(project: Project, since: float = 0.0) -> None:
    """Remove the ``*.tmp`` objects in DVC's cache (modified at or after ``since``) that no live
    writer owns. Two locks cover the writers of the cache, ``data`` and ``models``; the sweep
    runs only when it holds both (re-entrantly for the caller's own) and is otherwise skipped —
    the temp files may be another writer's objects in flight — and left to a later write."""
    cache = project.root / ".dvc" / "cache" / "files" / "md5"
    if not cache.is_dir():
        return
    try:
        with project_lock(project.root, "data", timeout=0), project_lock(project.root, "models", timeout=0):
            for tmp in [*cache.glob("*/*.tmp"), *cache.glob("*.tmp")]:  # mlnb's own (_ingest.py) at the top
                with contextlib.suppress(OSError):
                    if tmp.stat().st_mtime >= since:
                        tmp.unlink()
    except Busy:
        return


def _git(project: Project, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=project.root, input=stdin, capture_output=True, text=True)


def _index_entries(project: Project, paths: list[str]) -> str:
    if not (project.root / ".git").exists():
        return ""
    return _git(project, "ls-files", "-s", "--", *paths).stdout


def _restore_index(project: Project, entries: str, paths: list[str]) -> None:
    if not (project.root / ".git").exists():
        return
    done = [_git(project, "update-index", "--force-remove", "--", *paths)]
    if entries:
        # ls-files -s prints "mode sha stage\tpath"; update-index --index-info reads the same
        done.append(_git(project, "update-index", "--index-info", stdin=entries))
    for proc in done:
        if proc.returncode:  # the journal stays, so the next data write tries again
            reason = (proc.stderr.strip().splitlines() or ["git failed"])[0]
            raise MlnbError(f"could not put git's index back after an unfinished data write ({reason}): "
                            "run the data command again once git is idle")


@contextmanager
def dvc_errors_unlogged() -> Iterator[None]:
    """DVC logs a failed transfer as an ``ERROR:`` line before raising; mlnb says it in its own one line."""
    loggers = [logging.getLogger(n) for n in ("dvc", "dvc_data", "dvc_objects")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def check_git_index_lock(project: Project) -> None:
    """Refuse to start while git's ``index.lock`` exists: DVC could not stage the ``.dvc`` file."""
    lock = project.root / ".git" / "index.lock"
    if not lock.exists():
        return
    if _git_running(project.root):
        raise Busy(f"git is busy in this repository ({lock} exists and a git process is running): "
                   "wait for it to finish, then run this again")
    raise MlnbError(f"{lock} is left over from a git command that was killed (no git process is running): "
                    f"remove it (rm {lock}), then run this again")


def _git_running(root: Path) -> bool:
    """Whether a git process is alive in the repository at ``root`` (its working directory is in
    it, as for any git run there, ``git -C`` included): the only owners of ``index.lock``."""
    root = root.resolve()
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not pid.isdigit():
            continue
        try:
            argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
            if os.path.basename(argv0) not in (b"git", b"git.exe"):
                continue
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            continue
        if cwd == root or root in cwd.parents:
            return True
    return False


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is ENOSPC / EDQUOT."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(current):
            return True
        current = current.__cause__ or current.__context__
        seen += 1
    return False


def check_no_outside_links(project: Project, rel: str) -> None:
    """Refuse a folder holding a symlink that leads outside the project (DVC would copy the target's
    bytes in, so the version would not be what the folder holds)."""
    full = project.root / rel
    if not full.is_dir():
        return
    root = project.root.resolve()
    for dirpath, dirnames, filenames in os.walk(full):
        for entry in dirnames + filenames:
            link = Path(dirpath) / entry
            if not link.is_symlink():
                continue
            target = link.resolve()
            if target != root and root not in target.parents:
                shown = link.relative_to(project.root).as_posix()
                raise UsageError(f"{shown} is a link to {os.readlink(link)}, outside the project: "
                                 "copy the file into the folder or remove the link, then add it again")
