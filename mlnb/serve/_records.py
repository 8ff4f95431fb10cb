"""Which ``mlnb serve`` processes run on a project: each one records itself while it serves.

A server writes ``.mlnb/servers/<model>-<pid>.json`` (model, url, pid, process start, start time)
once it listens and removes it when it stops; ``mlnb doctor`` reads these records and asks each
server's ``/v2/health/ready``. A server killed with SIGKILL leaves its record behind: a reader
tells it apart by its pid (and the process's start time, as runs do).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_GITIGNORE = "# running `mlnb serve` processes: machine state, not source\n*\n"


def servers_dir(project: Any) -> Path:
    return Path(project.mlnb_dir) / "servers"


@contextlib.contextmanager
def recorded(project: Any, model: str, url: str) -> Iterator[Path]:
    """Keep a record of this serving process for as long as the ``with`` block runs."""
    from ..runs._capture import proc_start

    folder = servers_dir(project)
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text(_GITIGNORE)
    pid = os.getpid()
    path = folder / f"{model}-{pid}.json"
    tmp = folder / f".{path.name}.tmp"
    tmp.write_text(json.dumps({"model": model, "url": url, "pid": pid, "proc_start": proc_start(pid),
                               "started_at": time.time()}))
    os.replace(tmp, path)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def read_records(project: Any) -> list[dict[str, Any]]:
    """The server records of a project (unreadable ones come back with an ``error``)."""
    folder = servers_dir(project)
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text())
            record["file"] = str(path)
        except (OSError, ValueError) as exc:
            record = {"file": str(path), "error": str(exc)}
        out.append(record)
    return out


def loopback(url: str) -> str:
    """The URL a local client uses for a server bound to every address (0.0.0.0 or ::)."""
    return url.replace("//0.0.0.0:", "//127.0.0.1:").replace("//[::]:", "//[::1]:")
