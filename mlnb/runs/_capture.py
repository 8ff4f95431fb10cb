"""What a run records without being asked: code, notebook, git state, environment, process.

Everything here is cheap on purpose (a run must start in about a millisecond): the git state is
read with one ``git status`` call and reused for a few seconds, package versions come from the
modules already imported, never from importing or scanning site-packages.

And what it keeps out: params with secret-looking names, well-known token shapes, URL passwords and
string literals given to secret-named variables in code are replaced by ``REDACTED``
(docs/runs.md says what is and is not caught).
"""

from __future__ import annotations

import functools
import json
import os
import platform
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: packages whose version is recorded when the process has imported them
KEY_PACKAGES = (
    "numpy", "pandas", "pyarrow", "polars", "scipy", "sklearn", "torch", "tensorflow", "keras", "jax",
    "xgboost", "lightgbm", "catboost", "statsmodels", "transformers", "dvc", "mlnb",
)

#: a word of a name that marks a credential wherever it stands: ``db_password``, ``passphrase``
_SECRET_WORDS = {
    "password", "passwd", "pwd", "passphrase", "secret", "secrets", "credential", "credentials", "creds",
    "auth", "apikey", "apikeys", "privatekey", "secretkey", "accesskey", "bearer", "jwt",
}
#: a word that marks a credential when it ends the name: ``hf_token``, ``stripe_key``, ``db_pass``
#: (not ``token_count``, ``key_column``, ``pass_rate``)
_SECRET_LAST = {"token", "key", "pass", "pw"}
#: a word that makes the next ``key``/``token`` a credential anywhere: ``aws_access_key_id``
_KEY_QUALIFIERS = {"api", "access", "private", "secret", "signing", "encryption", "master", "ssh", "client",
                   "session", "refresh", "auth", "bearer"}
#: endings of run-together words: ``dbpassword``, ``hftoken``, ``openaiapikey``, ``awssecretkey``
_SECRET_ENDINGS = ("token", "password", "passwd", "passphrase", "secret", "apikey", "privatekey", "secretkey",
                   "accesskey")
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
REDACTED = "***redacted***"

GIT_CACHE_SECONDS = 5.0
_git_cache: dict[str, tuple[float, tuple[str | None, bool | None]]] = {}
_git_lock = threading.Lock()


def is_secret(name: str) -> bool:
    """Whether a name looks like a credential: ``api_key``, ``hfToken``, ``DB_PASS``, ``privatekey``.

    The name is split into words (on punctuation, camelCase and digits); see ``_SECRET_WORDS``
    and its neighbours for the rules. Innocent look-alikes stay: ``passage``, ``tokenizer_name``,
    ``max_tokens``, ``token_count``, ``author``, ``monkey``.
    """
    words = [w.lower().rstrip("0123456789") for w in _SPLIT.split(str(name))]
    words = [w for w in words if w]
    for i, word in enumerate(words):
        if word in _SECRET_WORDS or word.endswith(_SECRET_ENDINGS) and word not in _SECRET_LAST:
            return True
        if word in ("key", "keys", "token", "tokens") and i and words[i - 1] in _KEY_QUALIFIERS:
            return True
    return len(words) > 1 and words[-1] in _SECRET_LAST or words == ["token"]


#: well-known credential shapes, redacted wherever they appear in captured code, params and errors
_TOKEN_SHAPES = [
    r"-----BEGIN[A-Z ]*PRIVATE KEY[A-Z ]*-----[\s\S]*?(?:-----END[A-Z ]*PRIVATE KEY[A-Z ]*-----|\Z)",  # PEM
    r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b",  # AWS access key id
    r"\bgh[pousr]_[A-Za-z0-9]{30,}",  # GitHub tokens
    r"\bgithub_pat_[A-Za-z0-9_]{20,}",  # GitHub fine-grained tokens
    r"\bsk-[A-Za-z0-9_-]{20,}",  # OpenAI, Anthropic (sk-ant-...), DeepSeek ...
    r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}",  # Stripe
    r"\bxox[abposr]-[A-Za-z0-9-]{10,}",  # Slack
    r"\bAIza[0-9A-Za-z_-]{35}",  # Google API key
    r"\bhf_[A-Za-z0-9]{30,}",  # Hugging Face
    r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",  # JWT
]
_SHAPES = re.compile("|".join(f"(?:{p})" for p in _TOKEN_SHAPES))
#: the password of a URL: scheme://user:PASSWORD@host
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@'\"]*:)([^\s/@'\"]+)(@)")
#: NAME = "literal", NAME: str = 'literal', NAME="literal" (a keyword), "NAME": "literal",
#: ["NAME"] = "literal" -- the literal is redacted when NAME looks like a credential
_ASSIGNED = re.compile(
    r"""(?P<name>[A-Za-z_][A-Za-z0-9_]*|(?P<nq>['"])[^'"\n]{1,255}(?P=nq)\s*\]?)"""
    r"""(?P<sep>\s*(?::\s*[A-Za-z_][\w.\[\], ]*)?\s*[:=]\s*)"""
    r"""(?P<prefix>[rRbBuU]{0,2})(?:(?P<q3>'{3}|"{3})(?P<v3>[\s\S]*?)(?P=q3)|(?P<q1>['"])(?P<v1>(?:\\.|[^\\\n])*?)(?P=q1))""",
)


def redact_text(text: str | None) -> str | None:
    """``text`` with well-known token shapes and URL passwords replaced by ``***redacted***``."""
    if not text:
        return text
    text = _SHAPES.sub(REDACTED, text)
    return _URL_PASSWORD.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)


#: a secret param's value shorter than this is not searched for in the run's code (a short
#: value would also match inside ordinary words; the assignment rule above still covers it)
SCRUB_MIN = 6


def secret_values(params: Mapping[str, Any]) -> list[str]:
    """The values of the params whose names look like credentials, long enough to search the
    run's code for (a secret passed as a param may appear elsewhere in that code too)."""
    return sorted({v for k, v in params.items() if isinstance(v, str) and len(v) >= SCRUB_MIN and is_secret(k)},
                  key=len, reverse=True)


def scrub(text: str | None, secrets: Iterable[str]) -> str | None:
    """``text`` with every occurrence of each of ``secrets`` replaced by ``***redacted***``."""
    for secret in secrets:
        if text:
            text = text.replace(secret, REDACTED)
    return text


def redact_code(code: str | None) -> str | None:
    """Captured code with token shapes, URL passwords and string literals given to secret names redacted."""
    if not code:
        return code
    return _redacted_code(code)


@functools.lru_cache(maxsize=32)
def _redacted_code(code: str) -> str:
    def literal(match: re.Match[str]) -> str:
        name = match.group("name").strip("'\"] ")
        if not (match.group("v3") or match.group("v1")) or not is_secret(name):
            return match.group(0)
        q = match.group("q3") or match.group("q1")
        return f"{match.group('name')}{match.group('sep')}{match.group('prefix')}{q}{REDACTED}{q}"

    return _ASSIGNED.sub(literal, redact_text(code) or code)


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
    fields = _stat(pid)
    return fields[19] if fields is not None and len(fields) > 19 else None


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (state first), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its closing ')'
    return stat.rsplit(")", 1)[-1].split()


def process_alive(pid: int, start: str | None) -> bool:
    """Whether ``pid`` still runs and is the same process that started the run (one read of its
    ``/proc`` entry: a listing asks this of every running run)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    linux = sys.platform.startswith("linux")
    fields = _stat(pid) if start is not None or linux else None
    if start is not None:
        now = fields[19] if fields is not None and len(fields) > 19 else None
        if now is not None and now != start:
            return False
        if now is None and linux:
            return False
    if linux:  # a zombie (killed, not yet reaped) is not running
        return fields is not None and fields[0] != "Z"
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
    return said or notebook_holding(current_cell(shell))


_cells: dict[tuple[str, int, int], tuple[frozenset[str], bool]] = {}


def notebook_holding(source: str | None, folder: Path | None = None) -> str | None:
    """The one notebook in ``folder`` (default: the working directory) whose saved code cells
    include ``source``: how a kernel started by nbconvert, papermill or nbval (which run it in the
    notebook's folder but do not name the notebook) finds its notebook. None when no notebook, or
    more than one, holds it; an executed copy (``*.nbconvert.ipynb``, or papermill's output, whose
    metadata names its input) counts only when nothing else does."""
    if not source or not source.strip():
        return None
    wanted = source.strip()
    found = [p for p in sorted((folder or Path.cwd()).glob("*.ipynb"))[:100] if wanted in _code_cells(p)[0]]
    if len(found) > 1:
        found = [p for p in found if not _code_cells(p)[1]]
    return str(found[0].resolve()) if len(found) == 1 else None


def _code_cells(path: Path) -> tuple[frozenset[str], bool]:
    """The stripped sources of a notebook's code cells, and whether it is an executed copy of
    another notebook; read once per saved version."""
    try:
        st = path.stat()
    except OSError:
        return frozenset(), False
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _cells:
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
            sources = frozenset(("".join(c["source"]) if isinstance(c.get("source"), list)
                                 else str(c.get("source", ""))).strip()
                                for c in nb.get("cells", []) if isinstance(c, dict) and c.get("cell_type") == "code")
            papermill = (nb.get("metadata") or {}).get("papermill") or {}
            source_of = papermill.get("input_path") if isinstance(papermill, dict) else None
            copy = path.name.endswith(".nbconvert.ipynb") or (
                isinstance(source_of, str) and Path(source_of).name != path.name)
        except (OSError, ValueError, AttributeError, TypeError, KeyError):  # not a readable notebook: holds nothing
            sources, copy = frozenset(), False
        if len(_cells) > 256:
            _cells.clear()
        _cells[key] = (sources, copy)
    return _cells[key]


def current_cell(shell: Any) -> str | None:
    """The source of the cell being executed (IPython stores it before running it)."""
    try:
        hist = shell.history_manager.input_hist_raw
        return hist[-1] if hist else None
    except AttributeError:
        return None


_script: dict[tuple[str, float], tuple[str, str | None]] = {}


#: the mlnb package's folder: frames in it are mlnb's own, not the code that started a run
_PACKAGE = str(Path(__file__).resolve().parents[1]) + os.sep


def caller_source() -> tuple[str | None, str | None]:
    """(path, source) of the file whose code started the run: the innermost frame outside mlnb
    that comes from a file. Not ``__main__``: a run started by a module behind a console script
    (``mlnb demo``, a package's ``train`` command) records that module, not the launcher.
    Falls back to :func:`script_source` when no frame comes from a file (``python -c``)."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith("<") and not os.path.abspath(name).startswith(_PACKAGE) and os.path.isfile(name):
            return _source(name)
        frame = frame.f_back
    return script_source()


def script_source() -> tuple[str | None, str | None]:
    """(path, source) of the script this process runs, when it runs one; sources over 256 KB are skipped."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path:
        return None, None
    return _source(path)


def _source(path: str) -> tuple[str | None, str | None]:
    """(resolved path, source) of a file, read once per version of it."""
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
