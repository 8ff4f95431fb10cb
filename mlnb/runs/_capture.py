"""What a run records without being asked: code, notebook, git state, environment, process.

Everything here is cheap on purpose (a run must start in about a millisecond): the git state is
read with one ``git status`` call and reused for a few seconds, package versions come from the
modules already imported, never from importing or scanning site-packages.
"""

from __future__ import annotations

import json
import os
import platform
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

#: packages whose version is recorded when the process has imported them
KEY_PACKAGES = (
    "numpy", "pandas", "pyarrow", "polars", "scipy", "sklearn", "torch", "tensorflow", "keras", "jax",
    "xgboost", "lightgbm", "catboost", "statsmodels", "transformers", "dvc", "mlnb",
)

_SECRET_PARTS = {"token", "password", "passwd", "pwd", "secret", "key", "apikey", "credential", "credentials", "auth"}
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
REDACTED = "***redacted***"

GIT_CACHE_SECONDS = 5.0
_git_cache: dict[str, tuple[float, tuple[str | None, bool | None]]] = {}
_git_lock = threading.Lock()


def is_secret(name: str) -> bool:
    """Whether a param name looks like a credential: ``api_key``, ``hfToken``, ``db-password``.

    The name is split into words (on punctuation and camelCase); a word that is a secret word
    (token, password, secret, key ...) or ends in one (``apikey``) marks it.
    """
    words = [w.lower() for w in _SPLIT.split(str(name)) if w]
    return any(w in _SECRET_PARTS or w.endswith(("token", "password", "secret")) for w in words)


def git_state(root: Path) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the repository at ``root``; one ``git status`` call, reused for a few seconds.

    Untracked files do not count as dirty (a notebook's scratch outputs would always make it so).
    """
    key = str(root)
    now = time.monotonic()
    with _git_lock:
        hit = _git_cache.get(key)
        if hit and now - hit[0] < GIT_CACHE_SECONDS:
            return hit[1]
    try:
        proc = subprocess.run(
            ["git", "status", "--porcelain=v2", "--branch", "--untracked-files=no"],
            cwd=root, capture_output=True, text=True, timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    if proc.returncode:
        state: tuple[str | None, bool | None] = (None, None)
    else:
        commit, dirty = None, False
        for line in proc.stdout.splitlines():
            if line.startswith("# branch.oid "):
                oid = line.split()[-1]
                commit = None if oid == "(initial)" else oid
            elif not line.startswith("#"):
                dirty = True
        state = (commit, dirty)
    with _git_lock:
        _git_cache[key] = (now, state)
    return state


def environment() -> dict[str, Any]:
    """Python, platform and the versions of key packages this process has imported."""
    packages = {}
    for name in KEY_PACKAGES:
        module = sys.modules.get(name)
        version = getattr(module, "__version__", None) if module else None
        if isinstance(version, str):
            packages["scikit-learn" if name == "sklearn" else name] = version
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": sys.platform,
        "machine": platform.machine(),
        "executable": sys.executable,
        "packages": packages,
    }


def environment_json() -> str:
    return json.dumps(environment(), sort_keys=True)


def host() -> str:
    return socket.gethostname()


def proc_start(pid: int) -> str | None:
    """A token that changes when ``pid`` is reused by another process (Linux: its start time)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its closing ')'
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def process_alive(pid: int, start: str | None) -> bool:
    """Whether ``pid`` still runs and is the same process that started the run."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if start is not None:
        now = proc_start(pid)
        if now is not None and now != start:
            return False
        if now is None and sys.platform.startswith("linux"):
            return False
    if sys.platform.startswith("linux"):  # a zombie (killed, not yet reaped) is not running
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            return False
        return state != "Z"
    return True


def notebook_path(shell: Any) -> str | None:
    """The notebook a kernel runs, when the front end says (Jupyter server 2+, VS Code).

    When the notebook file is found it is its absolute path (a server may name it from its own
    root; the kernel runs beside it), so runs of one notebook all record the same path.
    """
    ns = getattr(shell, "user_ns", None) or {}
    said = next((v for v in (ns.get("__session__"), ns.get("__vsc_ipynb_file__")) if isinstance(v, str) and v),
                os.environ.get("JPY_SESSION_NAME") or None)
    if said and said.endswith(".ipynb"):
        for found in (Path(said), Path.cwd() / Path(said).name):
            if found.is_file():
                return str(found.resolve())
    return said


def current_cell(shell: Any) -> str | None:
    """The source of the cell being executed (IPython stores it before running it)."""
    try:
        hist = shell.history_manager.input_hist_raw
        return hist[-1] if hist else None
    except AttributeError:
        return None


_script: dict[tuple[str, float], tuple[str, str | None]] = {}


def script_source() -> tuple[str | None, str | None]:
    """(path, source) of the script this process runs, when it runs one; sources over 256 KB are skipped."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path:
        return None, None
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return str(p), None
    key = (str(p), st.st_mtime)
    if key not in _script:  # read once per version of the file, not once per run
        try:
            source = p.read_text() if st.st_size <= 256 * 1024 else None
        except (OSError, UnicodeDecodeError):
            source = None
        _script[key] = (str(p.resolve()), source)
    return _script[key]


def ipython_shell() -> Any:
    """The running IPython shell, without importing IPython when it is not loaded."""
    module = sys.modules.get("IPython")
    if module is None:
        return None
    try:
        return module.get_ipython()
    except Exception:  # pragma: no cover - a half-initialised IPython
        return None
