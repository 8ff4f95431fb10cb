"""Model files: written canonically (the same model gives the same bytes), kept in DVC's cache
by content, fetched from the remote when missing, and loaded only through the safe loaders.

A model's bytes never go into the working copy: DVC's cache holds them under their hash and the
registry names the hash, so ``mlnb data push`` / ``pull`` carry them to and from the remote.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import shutil
import uuid
import zipfile
from pathlib import Path
from typing import Any

from .._project import Project
from .._safe_load import load_skops
from ..errors import UsageError
from ._refs import ModelVersion

FORMATS = ("skops", "pickle", "joblib")
#: formats whose loading runs code from the file: only with trusted=True
PICKLED = ("pickle", "joblib")
_EPOCH = (1980, 1, 1, 0, 0, 0)


def write_model(model: Any, path: Path, format: str) -> str:
    """Write ``model`` to ``path`` as skops (default), pickle or joblib; equal models give equal bytes.
    Returns the bytes' MD5 (DVC's hash of the file), taken from memory, not by reading it back."""
    if format == "pickle":
        raw = pickle.dumps(model, protocol=5)
    elif format == "joblib":
        import joblib

        buf = io.BytesIO()
        joblib.dump(model, buf)
        raw = buf.getvalue()
    else:
        raw = _skops_bytes(model, format)
    path.write_bytes(raw)
    return hashlib.md5(raw).hexdigest()


def _skops_bytes(model: Any, format: str) -> bytes:
    if format != "skops":
        raise UsageError(unknown_format(format))
    import skops.io as sio

    try:
        raw = sio.dumps(model)
    except Exception as exc:  # skops names what it cannot save
        raise UsageError(f"skops cannot save a {type(model).__name__} ({' '.join(str(exc).split())[:200]}): "
                         "save it yourself and use mlnb.models.register_path") from None
    return _canonical_zip(raw)


def unknown_format(format: Any) -> str:
    return f"unknown model format {format!r}: use 'skops' (safe, the default), 'pickle' or 'joblib'"


def _canonical_zip(raw: bytes) -> bytes:
    """skops names entries after ``id()`` of objects and stamps the time: renumber the ids in
    order of appearance and fix the time, so the same model saved twice is byte-identical.

    Entries are stored, not deflated (as skops and joblib do by default): deflating a 100 MB
    forest costs seconds on save and again on every load, for arrays that compress poorly."""
    src = zipfile.ZipFile(io.BytesIO(raw))
    schema = json.loads(src.read("schema.json"))
    ids: dict[str, str] = {}

    def new_id(old: Any) -> str:
        return ids.setdefault(str(old), str(len(ids) + 1))

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "__id__" and isinstance(value, int):
                    out[key] = int(new_id(value))
                elif key == "file" and isinstance(value, str) and value.endswith(".npy"):
                    out[key] = new_id(value[:-4]) + ".npy"
                else:
                    out[key] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    schema = walk(schema)
    entries = {"schema.json": json.dumps(schema, indent=2).encode()}
    for name in src.namelist():
        if name != "schema.json":
            stem, dot, ext = name.rpartition(".")
            entries[f"{new_id(stem)}.{ext}" if dot and stem in ids else name] = src.read(name)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(entries):
            zf.writestr(zipfile.ZipInfo(name, date_time=_EPOCH), entries[name])
    return out.getvalue()


def to_cache(project: Project, path: Path, md5: str | None = None) -> tuple[str, int, int | None]:
    """Put the file or folder at ``path`` in DVC's cache; returns (hash, size, files in a folder).

    A file whose MD5 the caller already knows (it wrote the bytes) is linked into the cache
    under that hash, not read again and copied; anything else goes through DVC, which writes each
    object to a temporary name and renames it into place. Either way an interrupted call leaves
    no partial object under a hash.
    """
    if md5 is not None and path.is_file():
        _link_into(project.dvc.cache.local, path, md5)
        return md5, path.stat().st_size, None
    from dvc_data.hashfile.build import build
    from dvc_data.hashfile.transfer import transfer

    cache = project.dvc.cache.local
    staging, meta, obj = build(cache, str(path), _local_fs(), "md5")
    result = transfer(staging, cache, {obj.hash_info}, shallow=False, hardlink=False)
    if result.failed:  # DVC counts a failed object instead of raising: a version must not lack bytes
        raise OSError(f"could not copy {len(result.failed)} objects of {path} into DVC's cache")
    return obj.hash_info.value, int(meta.size or 0), meta.nfiles


def _link_into(cache: Any, path: Path, md5: str) -> None:
    """Give the finished file at ``path`` a second name in the cache: a hard link appears whole
    or not at all; across file systems, a copy to a temporary name renamed into place."""
    dest = Path(cache.oid_to_path(md5))
    if dest.exists():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o444)  # cache objects are read-only, as DVC leaves them
    try:
        os.link(path, dest)
        return
    except FileExistsError:
        return
    except OSError:  # another file system, or links not allowed
        pass
    tmp = dest.with_name(f"{dest.name}.{uuid.uuid4().hex}.tmp")
    try:
        shutil.copyfile(path, tmp)
        os.chmod(tmp, 0o444)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _local_fs() -> Any:
    from dvc_objects.fs.local import LocalFileSystem

    return LocalFileSystem()


def local_path(project: Project, version: ModelVersion) -> Path:
    """A local path holding the version's bytes (fetched from the DVC remote when not cached)."""
    from ..data._storage import _materialize  # the data area's cache/remote logic, shared

    return _materialize(project, version)  # type: ignore[arg-type]  # duck-typed: ref, md5, is_dir, ...


def load_file(project: Project, version: ModelVersion, trusted: bool = False) -> Any:
    """The model object of ``version`` (skops through the safe loader; pickle only when trusted)."""
    if version.format in PICKLED:
        if not trusted:
            kind = "pickle" if version.format == "pickle" else "joblib file (a pickle)"
            raise UsageError(f"{version.ref} is a {kind}: loading it runs whatever code it holds; pass "
                             "trusted=True (--trusted) only if you trust whoever registered it")
        if version.format == "joblib":
            import joblib

            return joblib.load(local_path(project, version))  # the caller said trusted=True
        with open(local_path(project, version), "rb") as fh:
            return pickle.load(fh)  # noqa: S301 - the caller said trusted=True
    if version.format == "skops":
        return load_skops(local_path(project, version),
                          hint=f"{version.ref} was not registered from a plain scikit-learn model")
    raise UsageError(f"{version.ref} is a {version.flavour} {version.format} saved by its own library: "
                     f"open mlnb.models.path({version.ref!r}) with that library")

