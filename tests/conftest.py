"""Shared fixtures: real git, real DVC with a local-directory remote, real SQLite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests._postgres import backend_project, fresh_project, postgres_server, postgres_url  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """Child processes (CLI runs, notebook kernels under nbval) import this checkout's mlnb."""
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    _nbval_skips_static_svg()


def _nbval_skips_static_svg() -> None:
    """nbval compares each chart's Vega-Lite spec, not the static SVG vl-convert draws from it
    (its bytes follow the machine's fonts); tests/test_static_charts.py checks the SVG itself."""
    try:
        from nbval.plugin import IPyNbFile
    except ImportError:
        return
    init = IPyNbFile.__init__
    if getattr(init, "mlnb_svg", False):
        return

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        init(self, *args, **kwargs)
        self.skip_compare = (*self.skip_compare, "image/svg+xml")

    __init__.mlnb_svg = True  # type: ignore[attr-defined]
    IPyNbFile.__init__ = __init__


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads the developer's registry URL, home folder or git identity.

    ``HOME`` is an empty folder of the test session (and no XDG override points elsewhere), so
    git's and DVC's global configs, IPython's profile and anything else under ``~`` are private
    to the suite, in this process and in every child it starts.
    """
    monkeypatch.delenv("MLNB_REGISTRY_URL", raising=False)
    home = tmp_path_factory.getbasetemp() / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    for xdg in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(xdg, raising=False)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "mlnb test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@example.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "mlnb test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@example.invalid")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh mlnb project (git + DVC + registry) with a local-directory DVC remote; cwd is its root."""
    yield from fresh_project(tmp_path, monkeypatch)


def run_cli(*args: str, cwd: Path | None = None, check: bool = False) -> subprocess.CompletedProcess[str]:
    """The real `mlnb` command in a child process (``python -m mlnb`` so the checkout is used)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "mlnb", *args], cwd=cwd, capture_output=True, text=True, env=env)
    if check and proc.returncode:
        raise AssertionError(f"mlnb {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def ipython():
    """The process-wide real IPython shell (IPython allows one per process), with mlnb loaded."""
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    ip = start_ipython() or get_ipython()  # the first call starts it, later ones return None
    ip.run_cell("%load_ext mlnb", store_history=False)
    yield ip
    ip.user_ns.pop("__session__", None)
    ip.run_cell("%unload_ext mlnb", store_history=False)


def cell_error(ip, source: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``source`` as a cell that must fail with one line of error; returns that line."""
    result = ip.run_cell(source, store_history=False)
    assert not result.success, f"the cell should have failed: {source!r}"
    captured = capsys.readouterr()
    text = (captured.err + captured.out).strip()
    assert "Traceback" not in text and text.count("\n") == 0, text
    return text
