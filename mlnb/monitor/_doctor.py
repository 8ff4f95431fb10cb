"""``mlnb doctor``: the health of a project's whole set-up, one row per check.

Levels: ``ok``; ``warn`` (works, but needs attention: no remote, uncommitted ``.dvc`` changes,
little free space, models logging predictions with no alert rule); ``error`` (broken: no git or DVC, a remote that
cannot be written, a damaged registry, runs stuck in ``running``, a disabled extension, a
recorded server that does not answer). Any error makes the CLI exit 1; every row that is not
``ok`` says what to do.

The doctor only reads: the registry through a read-only connection (no write lock, no
migration), the remote through DVC's filesystem in-process (a probe object written and removed),
the Jupyter extension state from Jupyter's config files (no ``jupyter`` process).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections import namedtuple
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .._display import Table, format_bytes

LEVELS = ("ok", "warn", "error")
#: free space below this share of the disk, or below ``LOW_SPACE_BYTES``, is an error
LOW_SPACE_SHARE, LOW_SPACE_BYTES = 0.01, 16 * 1024 * 1024
#: seconds a remote probe or a server ping may take before it counts as not answering
TIMEOUT = 5.0
#: a firing alert not checked again for this long means the checks have stopped: a warning
CHECK_MAX_AGE = 24 * 3600


@dataclass
class Check:
    """One row of the doctor's table."""

    check: str
    level: str
    detail: str
    fix: str = ""


class Doctor(Table):
    """The doctor's answer: a table of checks; ``exit_code`` 1 when any is an error."""

    def __init__(self, checks: list[Check], seconds: float) -> None:
        self.checks, self.seconds = checks, seconds
        errors, warns = (sum(c.level == lv for c in checks) for lv in ("error", "warn"))
        self.status = "error" if errors else "warn" if warns else "ok"
        self.exit_code = 1 if errors else 0
        title = (f"mlnb doctor: {errors} error(s), {warns} warning(s)" if errors or warns else "mlnb doctor: all ok")
        super().__init__([asdict(c) for c in checks], ["check", "level", "detail", "fix"],
                         title=f"{title} ({seconds:.2f} s)")

    def to_dict(self) -> dict[str, Any]:  # type: ignore[override]
        return {"status": self.status, "seconds": round(self.seconds, 3), "checks": super().to_dict()}

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd

        return pd.DataFrame(super().to_dict(), columns=self.columns)

    def __getitem__(self, name: str) -> dict[str, Any]:  # type: ignore[override]
        """The row of the check named ``name`` (the first, when a check has several rows)."""
        return next(r for r in self.rows if r["check"] == name)


def doctor(path: str | os.PathLike[str] | None = None) -> Doctor:
    """Check the project at ``path`` (default: the current one): git and DVC, the remote, disk space,
    the registry, stuck runs, the Jupyter extensions, running servers, monitoring.

    >>> mlnb.doctor()          # doctest: +SKIP
    >>> mlnb.doctor().status   # doctest: +SKIP
    'ok'
    """
    from .._project import Project, current_project
    from ..errors import MlnbError

    start = time.perf_counter()
    project = current_project() if path is None else Project.find(path)
    checks: list[Check] = []
    try:
        for step in (_git, _dvc_and_remote, _disk, _registry, _extensions, _servers, _monitoring):
            try:
                checks += step(project)
            except MlnbError as exc:  # e.g. a monitoring.yaml that does not parse: its message says what to do
                checks.append(Check(step.__name__.strip("_"), "error", str(exc), "as the detail says"))
            except Exception as exc:  # one check's failure must not hide the others
                checks.append(Check(step.__name__.strip("_"), "error",
                                    f"the check itself failed: {type(exc).__name__}: {exc}",
                                    "rerun with --debug and report it if it persists"))
    finally:
        if path is not None:
            project.close()
    return Doctor(checks, time.perf_counter() - start)


# -- git and DVC ------------------------------------------------------------------------------

_DVC_FILES = (":(glob)**/*.dvc", "dvc.yaml", "dvc.lock", "params.yaml", ".dvc/config")


def _git(project: Any) -> list[Check]:
    proc = subprocess.run(["git", "status", "--porcelain", "--", *_DVC_FILES], cwd=project.root,
                          capture_output=True, text=True)
    if proc.returncode:
        return [Check("git", "error", f"{project.root} is not a git repository ({proc.stderr.strip()[:120]})",
                      "run `mlnb init` in the project folder")]
    changed = [line[3:] for line in proc.stdout.splitlines() if line.strip()]
    if changed:
        shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        return [Check("git", "warn", f"{len(changed)} DVC file(s) not committed: {shown}",
                      "commit them (`git add` + `git commit`) so that others can fetch these versions")]
    return [Check("git", "ok", "repository present; DVC files committed")]


def _dvc_and_remote(project: Any) -> list[Check]:
    if not (project.root / ".dvc").is_dir():
        return [Check("dvc", "error", "DVC is not initialised here", "run `mlnb init`")]
    repo = project.dvc
    name = repo.config["core"].get("remote")
    dvc = Check("dvc", "ok", f"initialised; cache {repo.cache.local_cache_dir}")
    if not name:
        return [dvc, Check("remote", "warn", "no default DVC remote: versions live only in this clone's cache",
                           "set one: `mlnb init --remote FOLDER_OR_URL`")]
    return [dvc, _probe_remote(repo, name)]


def _probe_remote(repo: Any, name: str) -> Check:
    """Write a small object at the remote's root and remove it again (DVC's filesystem, in-process)."""
    from dvc.fs import get_cloud_fs

    try:
        cls, config, root = get_cloud_fs(repo.config, name=name)
        fs = cls(**config)
    except Exception as exc:  # a remote config DVC cannot use
        return Check("remote", "error", f"remote {name!r} is not usable: {exc}", "fix it: `dvc remote modify` or `mlnb init --remote`")
    where = f"remote {name!r} ({root})"

    def probe() -> None:
        if not fs.exists(root):
            raise FileNotFoundError(f"{root} does not exist")
        path = fs.join(root, f".mlnb-doctor-{uuid.uuid4().hex}")
        fs.pipe_file(path, b"mlnb doctor probe\n")
        try:
            if fs.cat_file(path) != b"mlnb doctor probe\n":
                raise OSError("what was written did not read back")
        finally:
            fs.rm_file(path)

    error = _within(probe, TIMEOUT)
    if error is None:
        return Check("remote", "ok", f"{where} reachable and writable")
    if isinstance(error, TimeoutError):
        return Check("remote", "error", f"{where} did not answer within {TIMEOUT:g} s",
                     "check the network, the remote's URL and credentials")
    if isinstance(error, FileNotFoundError):
        return Check("remote", "error", f"{where} does not exist (moved, deleted or not mounted)",
                     "mount or recreate it, or point to another: `mlnb init --remote FOLDER_OR_URL`")
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return Check("remote", "error", f"{where} cannot be written: {reason}",
                 "fix its permissions / credentials or mount it read-write; `mlnb data push` fails until then")


def _within(fn: Callable[[], None], seconds: float) -> BaseException | None:
    """Run ``fn`` in a thread; its exception, a TimeoutError when it takes too long, or None."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            fn()
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - reported as the check's answer
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    return outcome[0] if outcome else TimeoutError()


# -- disk -------------------------------------------------------------------------------------


def _disk(project: Any) -> list[Check]:
    """Free space where the project and DVC's cache live, against the size of the cache."""
    cache = Path(project.dvc.cache.local_cache_dir) if (project.root / ".dvc").is_dir() else None
    size = _tree_size(cache) if cache is not None and cache.is_dir() else 0
    usage = shutil.disk_usage(cache if cache is not None and cache.is_dir() else project.root)
    detail = f"cache {format_bytes(size)}; {format_bytes(usage.free)} free of {format_bytes(usage.total)}"
    if usage.free < max(LOW_SPACE_SHARE * usage.total, LOW_SPACE_BYTES):
        return [Check("disk", "error", f"disk full: {detail}",
                      "free space (`dvc gc` drops cache objects no version needs) or move the cache: "
                      "`dvc cache dir PATH`")]
    if usage.free < size:
        return [Check("disk", "warn", f"less free space than the cache holds: {detail}",
                      "free space before adding large versions (`dvc gc`, or a bigger disk for the cache)")]
    return [Check("disk", "ok", detail)]


def _tree_size(folder: Path) -> int:
    total, stack = 0, [str(folder)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
    return total


# -- registry and runs ------------------------------------------------------------------------

_RunRow = namedtuple("_RunRow", "id name host pid proc_start heartbeat_at")


def _registry(project: Any) -> list[Check]:
    from ..store._schema import MIGRATIONS

    url = project.registry_url
    file = _sqlite_path(url)
    if file is not None and not file.exists():
        return [Check("registry", "warn", f"no registry file at {file} (a new clone: it is not kept in git)",
                      "any mlnb command makes an empty one; runs and versions recorded elsewhere are not in it")]
    try:
        query, integrity, close = _read_only(url)
    except Exception as exc:
        return [Check("registry", "error", _one_line(exc), "check the registry URL and that its server runs")]
    try:
        problem = integrity()
        if problem:
            return [Check("registry", "error", f"the registry is damaged ({problem})",
                          "restore it from a backup (or `sqlite3 FILE .recover`); runs and versions are in it")]
        rows = query("SELECT value FROM mlnb_meta WHERE key = 'schema_version'")
        version = int(rows[0][0]) if rows else 0
        running = [_RunRow(*r) for r in query(
            "SELECT id, name, host, pid, proc_start, heartbeat_at FROM runs WHERE status = 'running'")] if version else []
    except Exception as exc:  # damage SQLite finds past quick_check, a table missing ...
        return [Check("registry", "error", f"the registry cannot be read: {_one_line(exc)}",
                      "restore it from a backup, or move it away and run `mlnb init`")]
    finally:
        close()
    target = len(MIGRATIONS)
    where = _shown_url(url)
    if version > target:
        registry = Check("registry", "error", f"{where}: schema version {version} is newer than this mlnb's ({target})",
                         "upgrade mlnb (`pip install -U mlnb`)")
    elif version < target:
        registry = Check("registry", "warn", f"{where}: schema version {version} of {target}",
                         "any mlnb command that writes migrates it (e.g. `mlnb runs list`)")
    else:
        sound = "intact" if _parsed_is_sqlite(url) else "connected"  # SQLite's quick_check ran; a server checks itself
        registry = Check("registry", "ok", f"{where}: {sound}, schema version {version}")
    return [registry, _stuck_runs(running)]


def _stuck_runs(running: list[_RunRow]) -> Check:
    from ..runs._query import gone

    dead = gone(running)
    if not dead:
        alive = f"; {len(running)} running" if running else ""
        return Check("runs", "ok", f"no run stuck in `running`{alive}")
    shown = ", ".join(f"{r.id[:8]} ({r.name}, pid {r.pid} on {r.host})" for r in dead[:3])
    more = f" and {len(dead) - 3} more" if len(dead) > 3 else ""
    return Check("runs", "error", f"{len(dead)} run(s) marked running whose process is gone: {shown}{more}",
                 "`mlnb runs list` marks them crashed; rerun what they were doing")


def _read_only(url: str) -> tuple[Callable[[str], list[Any]], Callable[[], str | None], Callable[[], None]]:
    """``(query, integrity, close)`` over a connection that takes no write lock and migrates nothing."""
    from ..store._engine import check_registry_file

    file = _sqlite_path(url)
    if file is not None:
        import sqlite3
        from urllib.parse import quote

        check_registry_file(file)
        conn = sqlite3.connect(f"file:{quote(str(file))}?mode=ro", uri=True, timeout=5)

        def query(sql: str) -> list[Any]:
            return conn.execute(sql).fetchall()

        def integrity() -> str | None:
            rows = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
            return None if rows == ["ok"] else " ".join("; ".join(rows[:3]).split())

        return query, integrity, conn.close

    from sqlalchemy import create_engine

    engine = create_engine(url, connect_args={"connect_timeout": int(TIMEOUT)} if "postgres" in url else {})
    sa_conn = engine.connect()

    def sa_query(sql: str) -> list[Any]:
        return sa_conn.exec_driver_sql(sql).fetchall()

    def close() -> None:
        sa_conn.close()
        engine.dispose()

    return sa_query, lambda: None, close


def _parsed_is_sqlite(url: str) -> bool:
    from ..store._engine import _parsed

    return _parsed(url).drivername.startswith("sqlite")


def _sqlite_path(url: str) -> Path | None:
    """The file of a SQLite registry URL; None for a server's URL."""
    from ..store._engine import _sqlite_file

    return _sqlite_file(url) if _parsed_is_sqlite(url) else None


def _shown_url(url: str) -> str:
    from ..store._engine import _shown

    return _shown(url)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]


# -- Jupyter extensions -----------------------------------------------------------------------


def _extensions(project: Any) -> list[Check]:
    """The lab extension installed and not disabled, the server extension enabled: read from the
    same config files ``jupyter labextension list`` / ``jupyter server extension list`` read."""
    try:
        from jupyter_core.paths import jupyter_config_path, jupyter_path
    except ImportError:
        return [Check("extensions", "warn", "JupyterLab is not installed here: no side panel",
                      "pip install 'mlnb[lab]'")]
    config_path = jupyter_config_path()
    server = _jupyter_config(config_path, "", "jupyter_server_config").get("ServerApp", {}).get("jpserver_extensions", {})
    disabled = _jupyter_config(config_path, "labconfig", "page_config").get("disabledExtensions", {})
    if isinstance(disabled, list):  # jupyterlab_server < 2.10 kept a list
        disabled = dict.fromkeys(disabled, True)
    installed = any(Path(p, "mlnb", "package.json").is_file() for p in jupyter_path("labextensions"))
    checks = []
    if not installed:
        checks.append(Check("lab extension", "error", "the mlnb lab extension is not installed: no side panel",
                            "reinstall mlnb (`pip install --force-reinstall 'mlnb[lab]'`)"))
    elif disabled.get("mlnb"):
        checks.append(Check("lab extension", "error", "the mlnb lab extension is disabled: no side panel",
                            "`jupyter labextension enable mlnb`, then reload JupyterLab"))
    else:
        checks.append(Check("lab extension", "ok", "installed and enabled"))
    if server.get("mlnb.server"):
        checks.append(Check("server extension", "ok", "mlnb.server enabled"))
    else:
        state = "disabled" if "mlnb.server" in server else "not enabled"
        checks.append(Check("server extension", "error", f"mlnb.server is {state}: the side panel has no data",
                            "`jupyter server extension enable mlnb.server`, then restart JupyterLab"))
    return checks


def _jupyter_config(config_path: list[str], sub: str, section: str) -> dict[str, Any]:
    """One section of Jupyter's JSON config merged as Jupyter merges it: every config folder,
    the lowest priority (last) first; in each, ``SECTION.d/*.json`` sorted, then ``SECTION.json``."""
    merged: dict[str, Any] = {}
    for folder in reversed(config_path):
        base = Path(folder, sub) if sub else Path(folder)
        for path in [*sorted(base.joinpath(f"{section}.d").glob("*.json")), base / f"{section}.json"]:
            try:
                data = json.loads(path.read_text()) if path.is_file() and path.stat().st_size else {}
            except (OSError, ValueError):
                continue  # Jupyter skips a file that is not JSON too
            _deep_update(merged, data)
    return merged


def _deep_update(target: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = value


# -- servers and monitoring -------------------------------------------------------------------


def _servers(project: Any) -> list[Check]:
    from ..runs._capture import process_alive
    from ..serve._records import loopback, read_records

    records = read_records(project)
    if not records:
        return [Check("servers", "ok", "no `mlnb serve` running on this project")]
    checks = []
    for rec in records:
        if "error" in rec:
            checks.append(Check("servers", "warn", f"unreadable server record {rec['file']}", f"delete {rec['file']}"))
            continue
        what = f"{rec['model']} (pid {rec['pid']}, {rec['url']})"
        if not process_alive(int(rec["pid"]), rec.get("proc_start")):
            checks.append(Check("servers", "warn", f"{what} stopped without removing its record (killed?)",
                                f"start it again (`mlnb serve {rec['model']}`) or delete {rec['file']}"))
            continue
        answer = _ping(loopback(rec["url"]) + "/v2/health/ready")
        if answer is None:
            checks.append(Check("servers", "ok", f"{what} ready"))
        else:
            checks.append(Check("servers", "error", f"{what} does not answer /v2/health/ready: {answer}",
                                f"look at its output; restart it (`mlnb serve {rec['model']}`)"))
    return checks


def _ping(url: str) -> str | None:
    """None when ``url`` answers 200 within the timeout, else why not."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=min(TIMEOUT, 2.0)) as response:
            return None if response.status == 200 else f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return str(getattr(exc, "reason", None) or exc)


def _monitoring(project: Any) -> list[Check]:
    """Models that log predictions have alert rules, and firing alerts are being checked again.

    A check records only alerts (one that finds every rule satisfied writes nothing), so the
    staleness a doctor can prove is that of firing alerts: each check updates them."""
    from ._exporter import logged_models
    from ._rules import load_rules

    models = logged_models(project)
    if not models:
        return [Check("monitoring", "ok", "no prediction log yet: nothing to monitor")]
    watched = {r.model for r in load_rules(project.root)}
    unwatched = [m for m in models if m not in watched]
    names = ", ".join(unwatched[:5]) + (" ..." if len(unwatched) > 5 else "")
    checks = []
    if unwatched:
        checks.append(Check("monitoring", "warn", f"no monitoring check yet: {len(unwatched)} model(s) log predictions "
                            f"with no alert rule ({names})",
                            "add rules and check them: `mlnb monitor rule add \"accuracy < 0.85\" --model MODEL`, "
                            "`mlnb monitor check MODEL` (or `mlnb serve --monitor-every`)"))
    if watched:
        firing, last = _alert_times(project)
        if firing is not None and time.time() - firing > CHECK_MAX_AGE:
            checks.append(Check("monitoring", "warn", f"firing alerts not checked again for {_age(time.time() - firing)}: "
                                "the checks have stopped", "schedule `mlnb monitor check MODEL` (cron, CI) or keep "
                                "`mlnb serve --monitor-every` running"))
        else:
            seen = f"last alert activity {_age(time.time() - last)} ago" if last is not None else "no alert recorded yet"
            checks.append(Check("monitoring", "ok", f"{len(watched)} model(s) with alert rules; {seen}"))
    return checks


def _alert_times(project: Any) -> tuple[float | None, float | None]:
    """(the oldest last check of a firing alert, the latest check of any alert), read-only."""
    query, _, close = _read_only(project.registry_url)
    try:
        row = query("SELECT MIN(CASE WHEN status = 'firing' THEN evaluated_at END), MAX(evaluated_at) FROM alerts")[0]
    finally:
        close()
    return row[0], row[1]


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"
