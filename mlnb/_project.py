"""The project: a git repository with DVC initialised and an ``.mlnb/`` folder.

``Project.find()`` walks up from the working directory to the folder holding ``.mlnb/``;
``Project.init()`` creates what is missing (git, DVC, ``.mlnb/``) and is safe to run twice.
DVC is imported on first use only: opening a project costs a few stat calls.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import subprocess
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .errors import MlnbError, NotAProject, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from dvc.repo import Repo

MLNB_DIR = ".mlnb"
CONFIG_FILE = "config.yaml"
DEFAULT_REMOTE_NAME = "storage"

_MLNB_GITIGNORE = "# local registry and scratch space; config.yaml is meant for git\nregistry.db*\ntmp/\n"


class Project:
    """One mlnb project rooted at ``root``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.mlnb_dir = self.root / MLNB_DIR

    # -- discovery -------------------------------------------------------------------------

    @classmethod
    def find(cls, start: str | os.PathLike[str] | None = None) -> Project:
        """The project containing ``start`` (default: the working directory)."""
        here = Path(start or os.getcwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / MLNB_DIR).is_dir():
                return cls(folder)
        raise NotAProject(here)

    @classmethod
    def init(cls, path: str | os.PathLike[str] | None = None, remote: str | None = None) -> Project:
        """Make ``path`` an mlnb project: git init, dvc init, ``.mlnb/``; idempotent."""
        root = Path(path or os.getcwd()).resolve()
        enclosing = next((f for f in root.parents if (f / MLNB_DIR).is_dir()), None)
        if enclosing is not None and not (root / MLNB_DIR).is_dir():
            if path is not None:
                raise UsageError(f"{path} is inside the mlnb project at {enclosing}: use that project, "
                                 "or init a folder outside it")
            root = enclosing  # `%mlops init` from a notebook folder inside a project: that project
        remote = _remote_url(remote) if remote else None  # a bad remote changes nothing
        _check_writable(root)
        root.mkdir(parents=True, exist_ok=True)
        if not _git_toplevel(root):
            _git(root, "init", "-q")
        project = cls(root)
        if not (root / ".dvc").is_dir():
            from dvc.repo import Repo

            _quiet_dvc()
            with Repo.init(str(root), subdir=_git_toplevel(root) != root) as repo:
                with repo.config.edit() as conf:
                    conf["core"]["autostage"] = True
                    conf["core"]["analytics"] = False
                    conf["core"]["check_update"] = False
        project.mlnb_dir.mkdir(exist_ok=True)
        (project.mlnb_dir / ".gitignore").write_text(_MLNB_GITIGNORE)
        if not (project.mlnb_dir / CONFIG_FILE).exists():
            project.save_config({})
        if remote:
            project.set_remote(remote)
        from .store import registry

        registry(project)  # creates the schema
        return project

    # -- configuration ---------------------------------------------------------------------

    @functools.cached_property
    def config(self) -> dict[str, Any]:
        path = self.mlnb_dir / CONFIG_FILE
        if not path.exists():
            return {}
        return yaml.safe_load(path.read_text()) or {}

    def save_config(self, config: dict[str, Any]) -> None:
        (self.mlnb_dir / CONFIG_FILE).write_text(yaml.safe_dump(config, sort_keys=True))
        self.__dict__.pop("config", None)

    @property
    def registry_url(self) -> str:
        """``MLNB_REGISTRY_URL``, else the project config, else SQLite under ``.mlnb/``."""
        return (
            os.environ.get("MLNB_REGISTRY_URL")
            or self.config.get("registry_url")
            or f"sqlite:///{self.mlnb_dir / 'registry.db'}"
        )

    def set_remote(self, url: str, name: str = DEFAULT_REMOTE_NAME) -> None:
        """Set the default DVC remote (a folder or any URL DVC understands)."""
        url = _remote_url(url)
        with self.dvc.config.edit() as conf:
            conf["remote"][name] = {"url": url}
            conf["core"]["remote"] = name

    # -- paths -----------------------------------------------------------------------------

    def relpath(self, path: str | os.PathLike[str]) -> str:
        """``path`` relative to the root, as a posix string; refuses paths outside it."""
        full = (Path.cwd() / path).resolve()
        try:
            return full.relative_to(self.root).as_posix()
        except ValueError:
            raise UsageError(
                f"{path} is outside the project at {self.root}: move it inside the project first"
            ) from None

    # -- DVC and git -----------------------------------------------------------------------

    @functools.cached_property
    def dvc(self) -> Repo:
        from dvc.repo import Repo

        _quiet_dvc()
        return Repo(str(self.root))

    def git_commit(self) -> str | None:
        """The commit checked out, or None before the first commit or without git."""
        out = _git(self.root, "rev-parse", "--verify", "-q", "HEAD", check=False)
        return out or None

    def close(self) -> None:
        repo = self.__dict__.pop("dvc", None)
        if repo is not None:
            repo.close()


_open: dict[Path, Project] = {}
_active: ContextVar[Project | None] = ContextVar("mlnb_active_project", default=None)


@contextlib.contextmanager
def using_project(project: Project) -> Iterator[Project]:
    """Make ``project`` the current one in this context (thread/task), whatever the cwd.

    A server serving one project from a process whose cwd is elsewhere calls the public API in
    ``with using_project(p): ...``.
    """
    token = _active.set(project)
    try:
        yield project
    finally:
        _active.reset(token)


def current_project(start: str | os.PathLike[str] | None = None) -> Project:
    """The project around ``start`` (default: the active project, else cwd), reusing the open one."""
    active = _active.get()
    if start is None and active is not None:
        return active
    here = Path(start or os.getcwd()).resolve()
    for root, project in _open.items():
        if here == root or root in here.parents:
            if project.mlnb_dir.is_dir():
                return project
    project = Project.find(here)
    _open[project.root] = project
    return project


def _remote_url(url: str) -> str:
    """A URL as given; a folder made absolute and created."""
    if "://" in url:
        return url
    path = Path(url).expanduser()
    path = path if path.is_absolute() else (Path.cwd() / path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot use {url} as the DVC remote folder ({exc.strerror}): "
                         "give a folder you can write, or a URL DVC understands") from None
    return str(path.resolve())


def _check_writable(root: Path) -> None:
    """Refuse, before anything is made, a folder (or its nearest existing parent) that cannot be written."""
    existing = next(f for f in (root, *root.parents) if f.exists())
    if not existing.is_dir():
        raise UsageError(f"{existing} is a file, not a folder: init a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        why = "is on a read-only filesystem" if _read_only(existing) else "is not writable by you"
        raise MlnbError(f"cannot make {root} an mlnb project: {existing} {why}: "
                        "choose a folder you can write, or fix its permissions")


def _read_only(path: Path) -> bool:
    return bool(os.statvfs(path).f_flag & os.ST_RDONLY)


def _git(cwd: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip() if proc.returncode == 0 else ""


def _git_toplevel(path: Path) -> Path | None:
    out = _git(path, "rev-parse", "--show-toplevel", check=False)
    return Path(out).resolve() if out else None


def _quiet_dvc() -> None:
    """DVC logs git hints at INFO and draws rich status spinners (empty outputs in a notebook)
    when used in-process; mlnb shows its own results, so both are turned off."""
    logging.getLogger("dvc").setLevel(logging.WARNING)
    from dvc.ui import ui
    from rich.console import Console

    if not getattr(ui.__dict__.get("error_console"), "quiet", False):
        ui.__dict__["error_console"] = Console(stderr=True, quiet=True, force_jupyter=False)
