"""Fixtures (imported by tests/conftest.py): a throwaway PostgreSQL cluster, and projects on either backend.

The cluster is made with the server binaries of Debian's ``postgresql`` package (initdb refuses
root, so as root it runs as the ``postgres`` user), listens on 127.0.0.1 and a private socket
folder with trust auth, and is stopped after the session. ``MLNB_TEST_POSTGRES_URL`` points the
tests at an existing server instead. Without binaries the PostgreSQL tests are skipped, unless
``MLNB_REQUIRE_POSTGRES=1`` (CI), where they fail.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


def _pg_bindir() -> Path | None:
    for pattern in ("/usr/lib/postgresql/*/bin",):
        for found in sorted(glob.glob(pattern), key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
                            reverse=True):
            if (Path(found) / "initdb").exists():
                return Path(found)
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _unavailable(reason: str) -> None:
    if os.environ.get("MLNB_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required here (MLNB_REQUIRE_POSTGRES=1) but {reason}")
    pytest.skip(f"no PostgreSQL: {reason} (apt-get install postgresql, or set MLNB_TEST_POSTGRES_URL)")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A SQLAlchemy URL (without database name) of a running PostgreSQL server."""
    url = os.environ.get("MLNB_TEST_POSTGRES_URL")
    if url:
        yield url.rsplit("/", 1)[0]
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("the psycopg driver is not installed")
    bindir = _pg_bindir()
    if bindir is None:
        _unavailable("the server binaries (initdb, pg_ctl) are not installed")
    try:
        with cluster(bindir) as url:
            yield url
    except ClusterError as exc:
        pytest.fail(str(exc))


class ClusterError(RuntimeError):
    """A PostgreSQL cluster that would not start (initdb or pg_ctl failed), with its log."""


@contextmanager
def cluster(bindir: Path | None = None, max_connections: int = 100, durable: bool = False) -> Iterator[str]:
    """A throwaway PostgreSQL cluster for the ``with`` block (also used by bench/registry.py):
    its SQLAlchemy URL without a database name. Tests run it with ``fsync=off`` (nothing to keep
    after a crash); ``durable`` keeps PostgreSQL's own default, as a real deployment runs."""
    bindir = bindir or _pg_bindir()
    if bindir is None:
        raise ClusterError("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    base = Path(tempfile.mkdtemp(prefix="mlnb-pg-"))
    data, sock, log = base / "data", base / "sock", base / "server.log"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    port = _free_port()
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    try:
        subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                                     "-E", "UTF8", "--no-sync"]),
                       check=True, capture_output=True, env=env)
        options = (f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 {'' if durable else '-c fsync=off '}"
                   f"-c max_connections={max_connections}")
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                                     "-w", "-t", "60", "start"]), check=True, capture_output=True, env=env)
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace").strip()
        if log.exists():
            detail += "\n" + log.read_text()
        shutil.rmtree(base, ignore_errors=True)
        raise ClusterError(f"could not start a PostgreSQL cluster with {bindir}: {detail}") from None
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                       capture_output=True, env=env)
        shutil.rmtree(base, ignore_errors=True)


def create_database(server: str) -> str:
    """A fresh, empty database on the server at ``server``; its URL."""
    import psycopg

    name = f"mlnb_{uuid.uuid4().hex[:12]}"
    host_port = server.split("@", 1)[1]
    host, port = host_port.split(":")
    with psycopg.connect(host=host, port=int(port), user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the session's server; the test process's connections to it are
    closed after the test (a worker runs hundreds of such tests against one server, whose
    ``max_connections`` their idle pools would otherwise use up)."""
    from mlnb.store._engine import close_registries

    url = create_database(postgres_server)
    yield url
    close_registries(url)


def fresh_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh mlnb project (git + DVC + registry) with a local-directory DVC remote; cwd is its root."""
    import mlnb
    from mlnb._project import current_project

    root = tmp_path / "proj"
    root.mkdir()
    monkeypatch.chdir(root)
    mlnb.init(remote=str(tmp_path / "remote"))
    proj = current_project()
    yield proj
    proj.close()


def package_project(base: Path) -> Iterator[Any]:
    """A fresh project for a package- or module-scoped fixture (a shared server), isolated as the
    per-test ``_isolated_env`` isolates a test: no registry URL from outside, a private HOME and
    git identity. Use as ``for project in package_project(base): ...`` around the fixture's yield."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLNB_REGISTRY_URL", raising=False)
        home = base / "home"
        home.mkdir()
        mp.setenv("HOME", str(home))
        for who in ("AUTHOR", "COMMITTER"):
            mp.setenv(f"GIT_{who}_NAME", "mlnb test")
            mp.setenv(f"GIT_{who}_EMAIL", "test@example.invalid")
        yield from fresh_project(base, mp)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend_project(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The one fixture for registry-level tests: a fresh project on SQLite, then again with its
    registry on PostgreSQL. A module whose every test is registry-level aliases it as ``project``."""
    if request.param == "postgresql":
        monkeypatch.setenv("MLNB_REGISTRY_URL", request.getfixturevalue("postgres_url"))
    yield from fresh_project(tmp_path, monkeypatch)
