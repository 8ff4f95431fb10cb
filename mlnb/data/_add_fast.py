"""``mlnb data add`` of a file that has not changed, decided without DVC or SQLAlchemy.

Every add that the full path (:func:`mlnb.data._versions.add`) finishes for a file leaves a stamp:
the file's stat (device, inode, size, mtime and ctime in ns), the hash DVC recorded for it and the
cache object that holds it. A later add of the same path answers from the stamp when, under the
project's data lock,

- the file's stat is exactly the stamped one (so is its content: the hash is still true),
- its ``.dvc`` file records that hash, and the cache object is still there,
- the registry (a SQLite file) has that hash as a version of the dataset that tracks the path
  (and ``--name``, if given, names that dataset),
- no interrupted write waits to be undone and git's index is not locked.

Anything else — a changed file, a folder, a first add, another name, PostgreSQL — takes the full
path, which hashes, tracks and registers as before (and says what is wrong, where something is).
Stamps live in ``.dvc/tmp/mlnb-added/`` (DVC's scratch folder, never in git); a missing or
unreadable stamp only means the full path runs.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import yaml

from .._lock import project_lock
from .._project import Project, current_project
from ..store._file import NoFastPath, fast_read
from ._dataversion import DataVersion, version_from_mapping

#: the registry schema version that created the data tables (mlnb/store/_schema.py, migration 1)
_DATA_SCHEMA = 1

_VERSION_QUERY = """
SELECT v.*, d.name AS name, d.path AS path FROM data_versions AS v JOIN datasets AS d ON d.id = v.dataset_id
WHERE d.name = ? AND v.md5 = ?
"""


def journal_dir(project: Project) -> Path:
    """Where a data write keeps what it needs to undo itself (mlnb/data/_write.py)."""
    return project.root / ".mlnb" / "tmp" / "data-write"


def recorded_md5(project: Project, rel: str) -> str | None:
    """The hash the ``.dvc`` file of ``rel`` records (what was last checked out or added)."""
    dvcfile = project.root / f"{rel}.dvc"
    if not dvcfile.is_file():
        return None
    try:
        outs = (yaml.safe_load(dvcfile.read_text()) or {}).get("outs") or [{}]
    except yaml.YAMLError:
        return None
    return outs[0].get("md5")


def _stamp_file(project: Project, rel: str) -> Path:
    key = hashlib.sha256(rel.encode()).hexdigest()[:32]
    return project.root / ".dvc" / "tmp" / "mlnb-added" / f"{key}.json"


def file_stat(full: Path) -> list[int] | None:
    """What tells a file's content unchanged: device, inode, size, mtime and ctime (ns)."""
    try:
        st = os.stat(full, follow_symlinks=False)
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def save_stamp(project: Project, rel: str, stat: list[int] | None, md5: str, cache_object: Path) -> None:
    """Remember that the file at ``rel`` with ``stat`` hashes to ``md5`` (called by the full path
    with the stat taken before it hashed; nothing is stamped if the file changed meanwhile)."""
    full = project.root / rel
    if stat is None or full.is_symlink() or file_stat(full) != stat:
        return
    path = _stamp_file(project, rel)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"rel": rel, "stat": stat, "md5": md5, "cache": str(cache_object)}))
        os.replace(tmp, path)
    except OSError:
        pass  # a stamp only saves time: without one the next add takes the full path


def load_stamp(project: Project, rel: str) -> dict[str, Any] | None:
    """The stamp of ``rel`` (see the module doc), None when there is none or it is unreadable."""
    try:
        stamp = json.loads(_stamp_file(project, rel).read_text())
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) and stamp.get("rel") == rel else None


def add_unchanged(path: str, name: str | None = None) -> DataVersion | None:
    """The registered version when ``path`` is exactly what was added last, else None (then the
    full add runs). Raises what the full path raises for a path outside the project."""
    project = current_project()
    rel = project.relpath(path)
    stamp = load_stamp(project, rel)
    full = project.root / rel
    if stamp is None or file_stat(full) != stamp.get("stat") or not full.is_file():
        return None
    with project_lock(project.root, "data", what=f"adding {rel}"):
        if journal_dir(project).exists() or (project.root / ".git" / "index.lock").exists():
            return None  # the full path undoes the dead write / names git's lock
        md5 = stamp.get("md5")
        if not md5 or recorded_md5(project, rel) != md5 or not Path(stamp.get("cache", "")).is_file():
            return None
        try:
            with fast_read(project, _DATA_SCHEMA) as conn:
                if conn is None:
                    return None
                owner = conn.execute("SELECT name FROM datasets WHERE path = ?", (rel,)).fetchone()
                if owner is None or name not in (None, owner[0]):
                    return None
                cur = conn.execute(_VERSION_QUERY, (owner[0], md5))
                row = cur.fetchone()
                columns = [c[0] for c in cur.description]
        except NoFastPath:
            return None
        if row is None or file_stat(full) != stamp["stat"]:
            return None
    return version_from_mapping(dict(zip(columns, row)))
