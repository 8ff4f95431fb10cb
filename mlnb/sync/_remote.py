"""Segments on the project's DVC remote, through DVC's own filesystem for that remote (in-process:
any remote kind DVC supports), under ``<remote>/mlnb/segments/``.

A segment is written under a temporary name, then moved to its content address: a push cut short
leaves a stray temporary file, never a segment under its name with part of its bytes (and a
segment whose bytes do not hash to its name is refused when pulled).
"""

from __future__ import annotations

import errno
import re
import uuid
from typing import Any

from .._project import Project
from ..errors import MlnbError, UsageError

_NAME = re.compile(r"^([0-9a-f]{64})\.json\.gz$")


class Remote:
    """The mlnb area of one DVC remote."""

    def __init__(self, project: Project, name: str | None = None) -> None:
        # DVC's config and remote filesystem without opening the whole Repo (~0.5 s less)
        from dvc.config import Config
        from dvc.exceptions import DvcException
        from dvc.fs import get_cloud_fs

        try:
            config = Config(dvc_dir=str(project.root / ".dvc"))
            name = name or config["core"].get("remote")
            if not name:
                raise UsageError("no DVC remote to share through: set one with `mlnb init --remote URL`")
            cls, fs_config, path = get_cloud_fs(config, name=name)
            self.fs: Any = cls(**fs_config)
        except ImportError as exc:
            plugin = re.search(r"'(dvc-[\w-]+)'", str(exc))
            hint = f"pip install {plugin.group(1)}" if plugin else "install the DVC plugin for this remote"
            raise UsageError(f"the DVC remote {name!r} needs a plugin: {hint}") from None
        except DvcException as exc:
            raise UsageError(f"cannot use the DVC remote {name!r}: {' '.join(str(exc).split())} "
                             "(`dvc remote list` shows the remotes; `mlnb init --remote URL` sets one)") from None
        self.url = self.fs.unstrip_protocol(path)
        self.segments = self.fs.join(path, "mlnb", "segments")
        self.tmp = self.fs.join(path, "mlnb", "tmp")

    def names(self) -> set[str]:
        """The segments on the remote, by hash."""
        try:
            entries = self.fs.ls(self.segments, detail=False)
        except FileNotFoundError:
            return set()
        except OSError as exc:
            raise self._error("list", exc) from None
        found = (_NAME.match(self.fs.name(e)) for e in entries)
        return {m.group(1) for m in found if m}

    def read(self, name: str) -> bytes:
        try:
            with self.fs.open(self._path(name), "rb") as f:
                return f.read()
        except OSError as exc:
            raise self._error("read", exc) from None

    def write(self, name: str, blob: bytes) -> None:
        """Put a segment at its content address (a temporary name first, then a move)."""
        import os
        import tempfile

        final = self._path(name)
        temp = self.fs.join(self.tmp, f"{name}.{uuid.uuid4().hex}.tmp")
        fd, local = tempfile.mkstemp(prefix="mlnb-segment-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            self.fs.makedirs(self.tmp, exist_ok=True)
            self.fs.makedirs(self.segments, exist_ok=True)
            self.fs.put_file(local, temp)
            self.fs.mv(temp, final)
        except OSError as exc:
            raise self._error("write to", exc) from None
        finally:
            os.unlink(local)

    def _path(self, name: str) -> str:
        return self.fs.join(self.segments, f"{name}.json.gz")

    def _error(self, what: str, exc: OSError) -> MlnbError:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) or isinstance(exc, PermissionError):
            return MlnbError(f"cannot {what} the DVC remote {self.url}: permission denied "
                             f"({exc.strerror or exc}): check its permissions or credentials, or use another "
                             "remote (-r NAME)")
        return MlnbError(f"cannot {what} the DVC remote {self.url}: {' '.join(str(exc).split())}")
