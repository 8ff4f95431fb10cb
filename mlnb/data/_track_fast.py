"""``mlnb data add`` of a file with new content, without DVC's Python API or SQLAlchemy.

Opening a DVC ``Repo`` and importing SQLAlchemy cost more than a second of a command's start-up;
for a big file that is a third of an add (issue 16 §4). What DVC's add leaves is simple, so for a
plain case this module writes it itself, exactly as DVC 3 writes it:

- the cache object ``.dvc/cache/files/md5/XX/YYYY…``: the file hashed while copied into a temp
  file of the cache, flushed to disk, renamed to its hash, made read-only (:mod:`._ingest`);
- ``FILE.dvc``: ``outs: [{md5, size, hash: md5, path}]``, written whole and renamed into place;
- ``/FILE`` appended to the folder's ``.gitignore`` unless git already ignores the file;
- both staged with one ``git add`` (the project's ``core.autostage``);
- the version registered with ``sqlite3`` in one ``BEGIN IMMEDIATE`` transaction that also bumps
  the registry revision, as the full path's registry write does.

All of it runs inside :func:`._write.data_write` — the data lock, the journal that a failure, a
Ctrl-C or the next write after a kill uses to put the ``.dvc`` file, ``.gitignore``, git's index
and the cache back — so the fault guarantees are the full path's own.

The plain case: a regular file (not a link) that git does not track, not tabular (tabular files
get a summary: that is the full path's), inside no DVC-tracked folder and with no ``dvc.yaml``
on its way up, a project whose DVC config sets nothing but ``core`` options (default cache in
``.dvc/cache``, link types reflink then copy: a copy on this filesystem) with
``autostage = true``, an empty ``.dvcignore``, a SQLite registry, and a dataset name and path
that agree with the registry. Anything else — and any check that cannot be made — returns None
and the full path runs. Not written: DVC's own hash cache (``.dvc/tmp``), so the first
``dvc status`` after such an add hashes the file once (mlnb's ``data status`` reads the stamp).
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import time
from pathlib import Path

from .._project import Project, current_project
from ..store._file import _open
from ._add_fast import _VERSION_QUERY, file_stat, save_stamp
from ._dataversion import DataVersion, _validate_name, version_from_mapping

#: what the project's DVC config may set for this path to apply (the section ``core``)
_CORE_KEYS = {"autostage", "analytics", "check_update", "remote"}
_TABULAR = {".parquet", ".pq", ".csv", ".tsv", ".feather", ".json", ".jsonl"}
#: file names written as they are in YAML and .gitignore (no quoting, no escaping)
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")


class _FullPath(Exception):
    """Found under the lock: this add is the full path's (nothing was changed yet)."""


def add_new(path: str, name: str | None, message: str) -> DataVersion | None:
    """Add the file at ``path`` as a version of ``name`` (module doc), or None: the full path adds."""
    project = current_project()
    rel = project.relpath(path)
    full = project.root / rel
    if not _plain_file(project, rel, full) or not _plain_project(project):
        return None
    conn = _open(project, 1)
    if conn is None:
        return None
    conn.close()
    default = Path(rel).stem
    from ._write import data_write

    stat = file_stat(full)
    try:
        with data_write(project, rel, name or default, what=f"adding {rel}", rewrites=False):
            version = _track(project, rel, name, default, message)
            save_stamp(project, rel, stat, version.md5, _object(project, version.md5))
            return version
    except _FullPath:
        return None


def _plain_file(project: Project, rel: str, full: Path) -> bool:
    if full.is_symlink() or not full.is_file() or full.suffix.lower() in _TABULAR:
        return False
    if not _PLAIN_NAME.match(full.name):
        return False  # YAML and .gitignore would need quoting or escaping: DVC's own writers do that
    parts = Path(rel).parts
    if parts[0] in (".dvc", ".mlnb", ".git") or not os.access(full, os.R_OK):
        return False
    for depth in range(len(parts)):
        folder = project.root.joinpath(*parts[:depth])
        if (folder / "dvc.yaml").exists() or (depth and folder.with_name(folder.name + ".dvc").exists()):
            return False
    if not _plain_dvc_file(full.with_name(full.name + ".dvc"), full.name):
        return False
    tracked = _git(project, "ls-files", "--", rel)
    return tracked.returncode == 0 and not tracked.stdout.strip()


def _plain_dvc_file(dvcfile: Path, name: str) -> bool:
    """No ``.dvc`` file yet, or one that holds only what this module writes (DVC keeps a
    description, labels, a remote ... across an add: its own add does that)."""
    if not dvcfile.exists():
        return True
    import yaml

    try:
        doc = yaml.safe_load(dvcfile.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    outs = doc.get("outs") if isinstance(doc, dict) and set(doc) == {"outs"} else None
    return (isinstance(outs, list) and len(outs) == 1 and isinstance(outs[0], dict)
            and set(outs[0]) <= {"md5", "size", "hash", "path"} and outs[0].get("path") == name)


def _plain_project(project: Project) -> bool:
    """DVC's config sets only core options, with autostage; nothing is dvcignored."""
    dvc = project.root / ".dvc"
    if not (dvc / "config").is_file() or (dvc / "config.local").exists() or not (project.root / ".git").is_dir():
        return False
    try:
        ignore = (project.root / ".dvcignore").read_text() if (project.root / ".dvcignore").exists() else ""
        config = configparser.ConfigParser()
        config.read_string((dvc / "config").read_text())
    except (OSError, UnicodeDecodeError, configparser.Error):
        return False
    if any(line.strip() and not line.lstrip().startswith("#") for line in ignore.splitlines()):
        return False
    sections = [s for s in config.sections() if not s.strip("'").startswith("remote ")]  # ['remote "x"']
    if sections != ["core"] or set(config["core"]) - _CORE_KEYS:
        return False
    return config["core"].get("autostage", "").strip().lower() == "true"


def _git(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=project.root, capture_output=True, text=True)


def _object(project: Project, md5: str) -> Path:
    return project.root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]


def _track(project: Project, rel: str, name: str | None, default: str, message: str) -> DataVersion:
    """Under the data lock and journal: check the names, store, write, stage, register."""
    conn = _open(project, 1)
    if conn is None:
        raise _FullPath
    try:
        owner = conn.execute("SELECT name FROM datasets WHERE path = ?", (rel,)).fetchone()
        name = _validate_name(name or (owner[0] if owner else default))
        tracks = conn.execute("SELECT path FROM datasets WHERE name = ?", (name,)).fetchone()
        if (owner and owner[0] != name) or (tracks and tracks[0] != rel):
            raise _FullPath  # the full path says which name or path to use instead
        conn.execute("SELECT revision FROM mlnb_revision WHERE id = 1").fetchone()
        full = project.root / rel
        before = file_stat(full)
        md5, size = _store(project, full)
        if file_stat(full) != before:
            raise _FullPath  # changed while read: the full path hashes what it holds by then
        _write_dvc_file(full, md5, size)
        staged = [f"{rel}.dvc"]
        if _git(project, "check-ignore", "-q", "--", rel).returncode != 0:
            staged.append(_ignore(full, project))
        added = _git(project, "add", "--", *staged)
        if added.returncode:
            raise OSError(f"git add failed: {added.stderr.strip()[:200]}")
        return _register(conn, project, rel, name, md5, size, message)
    finally:
        conn.close()


def _store(project: Project, full: Path) -> tuple[str, int]:
    """The file's content as a read-only cache object (hashed while copied); its md5 and size."""
    from ._ingest import _copy_hashing, _fsync_dir, _progress

    root = project.root / ".dvc" / "cache" / "files" / "md5"
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{os.urandom(8).hex()}.tmp"  # as DVC names its temps (swept by _write)
    size = full.stat().st_size
    try:
        with _progress(full, size) as advance:
            md5 = _copy_hashing(full, tmp, advance)
        dest = _object(project, md5)
        if not dest.exists():
            dest.parent.mkdir(exist_ok=True)
            os.chmod(tmp, 0o444)  # DVC keeps cache objects read-only
            os.replace(tmp, dest)
            _fsync_dir(dest.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return md5, size


def _write_dvc_file(full: Path, md5: str, size: int) -> None:
    """``FILE.dvc`` as DVC 3 writes it, whole (a temp file renamed over it)."""
    dvcfile = full.with_name(full.name + ".dvc")
    tmp = dvcfile.with_name(f".{dvcfile.name}.{os.getpid()}.mlnb-tmp")
    tmp.write_text(f"outs:\n- md5: {md5}\n  size: {size}\n  hash: md5\n  path: {full.name}\n")
    os.replace(tmp, dvcfile)


def _ignore(full: Path, project: Project) -> str:
    """Append ``/FILE`` to the folder's ``.gitignore`` as DVC does; its path from the root."""
    gitignore = full.parent / ".gitignore"
    entry = "/" + full.name
    text = gitignore.read_text() if gitignore.exists() else ""
    if entry not in text.splitlines():
        with open(gitignore, "a") as f:
            f.write(("" if not text or text.endswith("\n") else "\n") + entry + "\n")
    return gitignore.relative_to(project.root).as_posix()


def _register(conn: object, project: Project, rel: str, name: str, md5: str, size: int,
              message: str) -> DataVersion:
    """The version of ``name`` with hash ``md5`` (registered now unless it was already)."""
    now = time.time()
    commit = project.git_commit()
    conn.execute("BEGIN IMMEDIATE")  # type: ignore[attr-defined]
    try:
        row = conn.execute("SELECT id FROM datasets WHERE name = ?", (name,)).fetchone()  # type: ignore[attr-defined]
        dataset_id = row[0] if row else conn.execute(  # type: ignore[attr-defined]
            "INSERT INTO datasets (name, path, created_at) VALUES (?, ?, ?)", (name, rel, now)).lastrowid
        known = conn.execute("SELECT 1 FROM data_versions WHERE dataset_id = ? AND md5 = ?",  # type: ignore[attr-defined]
                             (dataset_id, md5)).fetchone()
        if known is None:
            latest = conn.execute("SELECT MAX(version) FROM data_versions WHERE dataset_id = ?",  # type: ignore[attr-defined]
                                  (dataset_id,)).fetchone()[0] or 0
            conn.execute(  # type: ignore[attr-defined]
                "INSERT INTO data_versions (dataset_id, version, md5, size, nfiles, rows, cols, summary, message, "
                "git_commit, created_at) VALUES (?, ?, ?, ?, NULL, NULL, NULL, NULL, ?, ?, ?)",
                (dataset_id, latest + 1, md5, size, message or "", commit, now))
            conn.execute("UPDATE mlnb_revision SET revision = revision + 1 WHERE id = 1")  # type: ignore[attr-defined]
        conn.execute("COMMIT")  # type: ignore[attr-defined]
    except BaseException:
        conn.execute("ROLLBACK")  # type: ignore[attr-defined]
        raise
    cur = conn.execute(_VERSION_QUERY, (name, md5))  # type: ignore[attr-defined]
    columns = [c[0] for c in cur.description]
    return version_from_mapping(dict(zip(columns, cur.fetchone())))
