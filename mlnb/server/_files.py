"""Which file ``/mlnb/api/files`` may serve: a recorded artifact, visible, inside the server's root.

The panel links to the artifacts a run recorded (``run.log_artifact``) and to the working copies
of datasets, so those are the only paths served: exactly the string the registry holds. Before the
registry is asked, the path is resolved (symlinks followed) and refused if it leaves the folder the
Jupyter server serves, or if the path as given or as resolved has a component starting with ``.``
(``.env``, ``.git/``, ``.dvc/``, ``.mlnb/registry.db``), unless Jupyter's ``allow_hidden`` is set.
The registry and ``.mlnb`` are refused even then, and even if a run logged them as artifacts.
So the registry itself is never opened here: opening and closing a SQLite database file in the
server process would drop the POSIX locks its connections hold.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from ..errors import shown

#: longest ``path`` argument, in characters (Linux refuses paths over 4,096 bytes)
MAX_PATH = 4096


class Refused(Exception):
    """A file request that is answered with ``status`` and a JSON ``{"error": code, "message": ...}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def _hidden(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") and part not in (".", "..") for part in parts)


def served_file(raw: str, project_root: Path, server_root: Path, allow_hidden: bool,
                recorded: Callable[[str], bool], private: tuple[Path, ...] = ()) -> Path:
    """The file to serve for ``?path=raw`` (relative to the project root), or :class:`Refused`.

    ``private`` are folders and files never served, whatever else allows them (``.mlnb`` and the
    registry database with its ``-wal``, ``-shm`` and ``-journal`` files).
    """
    if not raw:
        raise Refused(400, "bad_request", "give ?path=, the path of a run artifact relative to the project root")
    if len(raw) > MAX_PATH or "\x00" in raw:
        raise Refused(400, "bad_request", f"invalid path {shown(raw)}: a NUL byte or longer than {MAX_PATH:,} "
                                          "characters")
    try:
        full = (project_root / raw).resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        raise Refused(400, "bad_request", f"invalid path {shown(raw)}: {exc.__class__.__name__}") from None
    top = server_root.resolve()
    if not full.is_relative_to(top) or not full.is_relative_to(project_root):
        raise Refused(403, "outside_root", f"{shown(raw)} is outside the folder this Jupyter server serves "
                                           f"({top}): only run artifacts inside it are served")
    if any(full == path or full.is_relative_to(path) for path in private):
        raise Refused(403, "private", f"{shown(raw)} is mlnb's registry or its folder, which is never served")
    if not allow_hidden and (_hidden(PurePosixPath(raw).parts) or _hidden(full.relative_to(top).parts)):
        raise Refused(403, "hidden", f"{shown(raw)} is or leads to a hidden file (a name starting with '.'), "
                                     "which Jupyter does not serve unless ContentsManager.allow_hidden is set")
    if not recorded(raw):
        raise Refused(404, "not_an_artifact", f"no run artifact or dataset is recorded at {shown(raw)}: "
                                              "only the files runs and datasets record are served")
    if not full.is_file():
        raise Refused(404, "not_found", f"{shown(raw)} is recorded but is no longer a file in the project")
    return full


def disposition(name: str) -> str:
    """A ``Content-Disposition`` header for any file name (RFC 6266: an ASCII fallback + UTF-8)."""
    fallback = re.sub(r'[^\x20-\x7e]|["\\]', "_", name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"
