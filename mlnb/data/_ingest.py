"""A file into DVC's cache in one pass: hashed while it is copied (or reflinked), then handed to DVC.

DVC's own add reads a file twice (to hash it, then to copy it into the cache). Here, for a file
and a cache whose first link type is ``reflink`` or ``copy`` (DVC's default is both, in that
order), the file is

1. cloned into a temporary file in the cache (``reflink``) and hashed, or read once in chunks
   that are hashed and written to that temporary file;
2. flushed to disk (``fsync``), then renamed to the object's name — the cache never holds a
   partial object under a hash name, and an object holds exactly the bytes its name hashes;
3. recorded in DVC's state database — the file with the stat taken before reading, the new
   object as DVC's own add records what it copied — so ``repo.add`` finds the hash and the
   object and neither hashes nor copies again (it still writes the ``.dvc``
   file, the ``.gitignore`` entry and sets the object read-only, as always).

A file changed while it was read is not recorded (its object is removed again): DVC then hashes
what the file holds by then. Hardlink and symlink caches only get the hash recorded: DVC links
the file into the cache without copying. The temporary file is named as DVC names its own
(``.<random>.tmp``): a killed writer's leftover is removed by :func:`mlnb.data._write.sweep_cache_temps`;
an object a failed add brought in is removed by the add's journal (``_remove_new_orphans``).
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._project import Project

#: Files at least this big get a progress bar while stored (reading them is most of an add).
PROGRESS_MIN_BYTES = 64 * 1024**2

#: bytes read, hashed and written at a time
CHUNK = 4 * 1024**2

#: how mlnb's progress bars look: gone when done, shown only for what takes over half a second
_BAR = {"leave": False, "delay": 0.5}


def store_file(project: Project, full: Path) -> None:
    """Put the content of the file ``full`` in DVC's cache with one read, and tell DVC its hash
    (see the module doc). Folders and links are left to DVC."""
    if full.is_symlink() or not full.is_file():
        return
    from dvc_data.hashfile.hash_info import HashInfo

    repo = project.dvc
    fs, cache = repo.fs, repo.cache.local
    info = fs.info(str(full))
    _, known = repo.state.get(str(full), fs, info=info)
    if known is not None and (cache.exists(known.value) or _links(cache)):
        return  # DVC neither hashes nor copies it
    with _progress(full, info["size"]) as advance:
        if _links(cache):
            oid, made = _md5_of(full, advance), None
        else:
            oid, made = _copy_in(cache, full, advance)
    if _stat_key(fs.info(str(full))) != _stat_key(info):  # changed while read: DVC hashes it anew
        if made is not None:
            Path(made).unlink(missing_ok=True)
        return
    repo.state.save(str(full), fs, HashInfo("md5", oid), info=info)
    if made is not None:  # as DVC's own add does for what it copied: it is not checked by hashing again
        cache.state.save(made, cache.fs, HashInfo("md5", oid))


def _links(cache: Any) -> bool:
    """Whether DVC links files into this cache (its first link type), so copying is not ours."""
    return cache.cache_types[0] in ("hardlink", "symlink")


def _stat_key(info: dict[str, Any]) -> tuple[Any, ...]:
    return info.get("ino"), info.get("size"), info.get("mtime")


def _copy_in(cache: Any, full: Path, advance: Callable[[int], None]) -> tuple[str, str | None]:
    """Store the file in ``cache``; returns its md5 and the object path when this call made it."""
    from dvc_objects.fs.system import reflink
    from dvc_objects.fs.utils import tmp_fname

    root = Path(cache.path)
    cache.makedirs(str(root))
    tmp = root / tmp_fname()
    try:
        oid = None
        if "reflink" in cache.cache_types:
            try:
                reflink(str(full), str(tmp))
            except OSError:
                pass  # not this filesystem: copy
            else:
                with open(tmp, "rb+") as f:
                    os.fsync(f.fileno())
                oid = _md5_of(full, advance)
        if oid is None:
            if "copy" not in cache.cache_types:
                return _md5_of(full, advance), None  # DVC tries its own link types and says what failed
            oid = _copy_hashing(full, tmp, advance)
        dest = Path(cache.oid_to_path(oid))
        if dest.exists():
            return oid, None  # the same content is stored already
        cache.makedirs(str(dest.parent))
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
        return oid, str(dest)
    finally:
        tmp.unlink(missing_ok=True)


def _copy_hashing(src: Path, dest: Path, advance: Callable[[int], None]) -> str:
    """Copy ``src`` to a new file ``dest`` (flushed to disk) and return the md5 of what ``dest``
    holds. Where the kernel copies (``copy_file_range``: no bytes through Python), ``dest`` is
    then read back from the page cache and hashed, so its name is the hash of exactly its own
    bytes, while the disk already writes it; elsewhere each chunk is read once into one reused
    buffer, hashed and written from it. (bench/add.py: the kernel copy costs a tenth of the CPU
    of writing from Python; a hashing thread does not pay on two shared cores.)"""
    writeback = _writeback()
    with open(src, "rb", buffering=0) as fin, open(dest, "wb+", buffering=0) as fout:
        if _kernel_copy(fin.fileno(), fout.fileno()):
            writeback(fout.fileno(), 0, 0)  # 0 bytes: to the end of the file
            fout.seek(0)
            digest = _hash_stream(fout, advance)
        else:
            digest = _hash_stream(fin, advance, fout, writeback)
        os.fsync(fout.fileno())
    return digest


def _kernel_copy(fd_in: int, fd_out: int) -> bool:
    """Copy all of ``fd_in`` to ``fd_out`` inside the kernel; False when it cannot (another OS, a
    filesystem pair without it) and nothing was copied."""
    copy = getattr(os, "copy_file_range", None)
    if copy is None:
        return False
    first = True
    while True:
        try:
            n = copy(fd_in, fd_out, 1 << 30)
        except OSError as exc:
            if first and exc.errno in (errno.ENOSYS, errno.EXDEV, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM):
                return False
            raise
        if n == 0:
            return True
        first = False


def _hash_stream(fin: Any, advance: Callable[[int], None], fout: Any = None,
                 writeback: Callable[[int, int, int], None] | None = None) -> str:
    """md5 of what ``fin`` holds from its position on, read in chunks into one reused buffer;
    each chunk also written to ``fout`` (and its writeback started) when given."""
    digest = hashlib.md5()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    offset = 0
    while n := fin.readinto(buf):
        digest.update(view[:n])
        if fout is not None:
            written = 0
            while written < n:
                written += fout.write(view[written:n])
            if writeback is not None:
                writeback(fout.fileno(), offset, n)
        offset += n
        advance(n)
    return digest.hexdigest()


def _writeback() -> Callable[[int, int, int], None]:
    """``(fd, offset, n)`` -> start writing those bytes to disk now, without waiting (Linux
    ``sync_file_range(SYNC_FILE_RANGE_WRITE)``), so the disk writes while the next chunks are
    hashed and the final fsync waits only for the last ones (bench/add.py: ~1-3 s less per GiB
    here). Elsewhere a no-op: the fsync then does all the waiting."""
    try:
        import ctypes

        call = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return lambda fd, offset, n: None
    call.argtypes = [ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong, ctypes.c_uint]
    return lambda fd, offset, n: call(fd, offset, n, 2)  # 2: SYNC_FILE_RANGE_WRITE; a failure only loses the head start


def _fsync_dir(path: Path) -> None:
    """Flush a folder's entries (a rename into it) to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _md5_of(path: Path, advance: Callable[[int], None]) -> str:
    with open(path, "rb", buffering=0) as f:
        return _hash_stream(f, advance)


class _progress:
    """A tqdm.auto bar (a widget in notebooks) for big files; nothing for small ones."""

    def __init__(self, full: Path, size: int) -> None:
        self.full, self.size, self.bar = full, size, None

    def __enter__(self) -> Callable[[int], None]:
        if self.size < PROGRESS_MIN_BYTES:
            return lambda n: None
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.size, desc=f"storing {self.full.name}", unit="B", unit_scale=True,
                        unit_divisor=1024, **_BAR)
        return self.bar.update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
