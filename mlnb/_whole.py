"""Files written whole or not at all: the one way mlnb replaces a small file it owns."""

from __future__ import annotations

import os
from pathlib import Path


def write_whole(path: Path, data: bytes | str, tmp: Path | None = None) -> None:
    """Write ``data`` to ``path`` whole: into a temporary file of the same folder (``tmp``, or
    ``.NAME.PID.tmp``), flushed to disk, then renamed into place. A process killed meanwhile
    leaves the old file (or none) and at most the temporary one, which its owner sweeps later;
    a failed write (a full disk) leaves the old file and removes the temporary one."""
    tmp = tmp or path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
