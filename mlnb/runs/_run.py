"""A run: start it, log to it, end it. Logging is buffered in memory and flushed in batches.

A metric call only appends to a list; the buffer reaches the registry in one transaction when the
run ends, when it holds ``FLUSH_POINTS`` points, every ``MLNB_FLUSH_SECONDS`` (a background
thread, which also writes the heartbeat) and at interpreter exit. So a crash loses at most the
last few seconds of points, never half a transaction.

Flushes of one run are serialised (``Run._write_lock``), so ``end()`` waits for a flush in flight
and writes the rest with the final status in one transaction: a run marked ``finished`` holds
every point logged before ``end()`` returned. Values are checked at the call against what both
backends store (``_limits``), so one bad value cannot make every later flush fail.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import secrets
import signal
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from .. import _lineage
from .._project import Project, current_project
from ..errors import MlnbError, NotFound, UsageError
from ..store import registry
from . import _capture, _limits, _live, _store
from ._limits import check_name

FLUSH_POINTS = 10_000

_active: list[Run] = []  # innermost last
_lock = threading.RLock()


logger = logging.getLogger(__name__)

#: What a write outside the user's code (the heartbeat, the exit hook) may meet and leave for the
#: next try: a busy, locked, unreachable or damaged registry. Anything else is a bug in mlnb.
REGISTRY_ERRORS = (SQLAlchemyError, MlnbError, OSError)


def _flush_seconds() -> float:
    try:
        return max(0.05, float(os.environ.get("MLNB_FLUSH_SECONDS", "10")))
    except ValueError:
        return 10.0


def new_run_id() -> str:
    """12 hex characters: short enough to type, collision-free for millions of runs in practice."""
    return secrets.token_hex(6)


class Run:
    """One experiment run. Use it as a context manager, or call :meth:`end` yourself.

    >>> with mlnb.start_run("baseline", params={"lr": 0.1}) as run:   # doctest: +SKIP
    ...     run.log_metric("accuracy", 0.91)
    """

    def __init__(self, project: Project, run_id: str, name: str, started_at: float) -> None:
        self.project = project
        self.id = run_id
        self.name = name
        self.status = "running"
        self.started_at = started_at
        self.ended_at: float | None = None
        self.error: str | None = None
        self._registry = registry(project)
        self._buf_lock = threading.Lock()
        self._points: list[_store.Point] = []
        self._steps: dict[str, int] = {}
        self._params: dict[str, Any] = {}
        self._tags: list[str] = []
        self._artifacts: list[dict[str, Any]] = []
        self._data: list[tuple[str, int]] = []
        self._data_seen: set[tuple[str, int]] = set()
        self._write_lock = threading.Lock()  # one flush of this run at a time
        self._closing = False  # end() has taken the buffer: logging now would be lost
        self._live: _live.LiveChart | None = None  # the chart drawn in the notebook, in a kernel

    # -- logging -------------------------------------------------------------------------------

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Record ``value`` for metric ``key`` at ``step`` (default: the key's previous step + 1, from 0).

        NaN and +/-inf are kept as such.
        """
        self._check_open()
        number = _limits.metric_value(check_name("metric", key), value)
        step = self._steps.get(key, -1) + 1 if step is None else _limits.step(key, step)
        with self._buf_lock:
            self._check_open()
            self._steps[key] = step
            self._points.append((key, step, number, time.time()))
            full = len(self._points) >= FLUSH_POINTS
        if self._live is not None:
            self._live.add(key, step, number)
        if full:
            self.flush()

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Several metrics at one step."""
        for key, value in metrics.items():
            self.log_metric(key, value, step)

    def log_param(self, key: str, value: Any) -> None:
        """Record a parameter; names that look like secrets (token, password, key ...) are redacted."""
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record several parameters at once (a credential's value is also taken out of the
        run's captured code, where it may appear too)."""
        self._check_open()
        clean = clean_params(params)
        secrets = _capture.secret_values(params)
        if secrets:
            _store.scrub_code(self._registry, self.id, secrets)
        with self._buf_lock:
            self._check_open()
            self._params.update(clean)

    def set_tags(self, *tags: str) -> None:
        """Add tags (plain labels: ``run.set_tags("churn", "baseline")``)."""
        self._check_open()
        clean = clean_tags(tags)
        with self._buf_lock:
            self._check_open()
            self._tags.extend(clean)

    def log_artifact(self, path: str | os.PathLike[str], version: bool = False) -> dict[str, Any]:
        """Record a file the run produced: its path, size and md5.

        ``version=True`` also versions it with DVC (``mlnb.data.add``), so it can be restored and
        pushed; the run then lists it as an output in its lineage.
        """
        self._check_open()
        full = Path(_limits.artifact_path(path))
        if not full.is_file():
            raise NotFound(f"artifact {str(path)!r} is not a file: check the path (relative to {Path.cwd()})")
        try:
            rel = self.project.relpath(full)
        except UsageError:
            rel = str(full.resolve())
        record = {"path": rel, "md5": _md5(full), "size": full.stat().st_size, "logged_at": time.time(),
                  "data_version_id": None}
        if version:
            from .. import data

            record["data_version_id"] = data.add(full).id  # lineage records the output via the listener
        with self._buf_lock:
            self._check_open()
            self._artifacts.append(record)
        return record

    def _touched(self, direction: str, data_version_id: int) -> None:
        item = (direction, int(data_version_id))
        with self._buf_lock:
            if item not in self._data_seen and not self._closing:
                self._data_seen.add(item)
                self._data.append(item)

    # -- lifecycle -----------------------------------------------------------------------------

    def flush(self) -> None:
        """Write what is buffered in one transaction (also refreshes the heartbeat)."""
        self._write()

    def _write(self, end: Mapping[str, Any] | None = None) -> None:
        """Write the buffer (and, with ``end``, the final status) in one transaction.

        One flush of a run at a time: ``end()`` waits for the heartbeat's flush in flight, then
        writes what is left with the final status. A flush that fails puts the buffer back; one
        the database partly refuses stores the rest and reports the refused parts once. A Ctrl-C
        that arrives during the write is raised when it is over: interrupting a driver mid-statement
        can leave its connection holding the database's write lock, and the buffer unwritten.
        """
        with self._write_lock, _sigint_deferred():
            if self.status != "running":
                return  # ended while this flush waited: the end wrote everything
            with self._buf_lock:
                points, self._points = self._points, []
                params, self._params = self._params, {}
                tags, self._tags = self._tags, []
                artifacts, self._artifacts = self._artifacts, []
                data, self._data = self._data, []
                self._closing = bool(end)  # no logging after end() has taken the buffer
            fields = dict(end) if end else {"heartbeat_at": time.time()}
            committed = False
            try:
                with self._registry.write() as conn:
                    refused = _store.write_salvaging(conn, self.id, points, params, tags, artifacts, data, fields)
                    if not end:
                        _store.revive(conn, self.id)
                    conn.commit()
                    committed = True
                    if end:
                        self.status, self.ended_at, self.error = end["status"], end["ended_at"], end["error"]
                        _deactivate(self)
            except BaseException:
                if not committed:
                    with self._buf_lock:  # keep them for the next try; nothing is half-written
                        self._points[:0] = points
                        params.update(self._params)
                        self._params = params
                        self._tags[:0] = tags
                        self._artifacts[:0] = artifacts
                        self._data[:0] = data
                        self._closing = False
                raise
        if refused:
            _report_refused(self, refused)

    def end(self, status: str = "finished", error: str | None = None) -> None:
        """Flush and close the run with ``status`` (finished, failed, interrupted).

        Returns once every point logged before the call is stored with the status; a flush in
        flight (the heartbeat's) is waited for. If the registry cannot be written the error is
        raised and the run stays open with its buffer, so ``end()`` (or interpreter exit) retries.
        """
        if self.status != "running":
            return
        if status not in ("finished", "failed", "interrupted", "crashed"):
            raise UsageError(f"invalid run status {status!r}: use finished, failed or interrupted")
        now = time.time()
        self._write({"status": status, "ended_at": now, "heartbeat_at": now,
                     "error": _capture.redact_text(_store.storable_text(error))})
        live, self._live = self._live, None
        if live is not None:
            live.finish()

    def reopen(self) -> bool:
        """Run again after a finished :meth:`end`, as the active run (a notebook stage continued by
        the cell after its marker); False, changing nothing, when the run did not finish."""
        if self.status != "finished":
            return False
        with self._write_lock, self._registry.write() as conn:
            if not _store.reopen(conn, self.id):
                return False
        self.status, self.ended_at, self.error, self._closing = "running", None, None, False
        _activate(self)
        return True

    def end_with(self, exc: BaseException | None) -> None:
        """End according to how the code inside the run ended: nothing, an interrupt or an error."""
        if exc is None:
            self.end()
        elif isinstance(exc, KeyboardInterrupt):
            self.end("interrupted", "KeyboardInterrupt")
        else:
            self.end("failed", error_summary(exc))

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.end_with(exc)

    def _check_open(self) -> None:
        if self.status != "running" or self._closing:
            raise UsageError(f"run {self.id} ({self.name}) has ended ({self.status}): start a new run to log more")

    def record(self) -> Any:
        """The stored record of this run (flushes first): ``mlnb.runs.get(run.id)``."""
        if self.status == "running":
            self.flush()
        from ._query import get

        return get(self.id, project=self.project)

    def __repr__(self) -> str:
        return f"<mlnb run {self.id} {self.name!r} {self.status}>"


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold a Ctrl-C that arrives inside the block until it ends (main thread, default handler only)."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    caught: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, _frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if caught:
            raise KeyboardInterrupt


def _report_refused(run: Run, refused: list[tuple[str, BaseException]]) -> None:
    """One warning per flush naming what the registry refused (the rest of the flush is stored)."""
    first = "; ".join(f"{what} ({_limits.error_line(error)})" for what, error in refused[:3])
    more = f" and {len(refused) - 3} more" if len(refused) > 3 else ""
    warnings.warn(f"mlnb: the registry refused {len(refused)} item(s) of run {run.id} ({run.name}) and stored "
                  f"the rest: {first}{more}", RuntimeWarning, stacklevel=2)


def error_summary(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
    return text if len(text) <= 1000 else text[:997] + "..."


def clean_params(params: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(params, Mapping):
        raise UsageError(f"params must be a mapping of name to value, got {type(params).__name__}")
    out = {}
    for key, value in params.items():
        check_name("param", key)
        if _capture.is_secret(key):
            value = _capture.REDACTED
        elif not isinstance(value, (str, int, float, bool, type(None))):
            value = _plain(value)
        if isinstance(value, str):
            value = _capture.redact_text(value)
        out[key] = _limits.param_value(key, value)
    return out


def _plain(value: Any) -> Any:
    """numpy scalars to Python numbers, other objects to their text."""
    item = getattr(value, "item", None)
    if callable(item):
        try:
            value = item()
            if isinstance(value, (int, float, bool, str)):
                return value
        except (TypeError, ValueError):
            pass
    if isinstance(value, (list, tuple)):
        return [_plain(v) if not isinstance(v, (str, int, float, bool, type(None))) else v for v in value]
    return str(value)


def clean_tags(tags: Iterable[str] | None) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = [tags]
    return [check_name("tag", t) for t in tags]


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# -- starting and the active run -------------------------------------------------------------


def start_run(
    name: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Iterable[str] | None = None,
    *,
    code: str | None = None,
    notebook: str | None = None,
    experiment: str | None = None,
) -> Run:
    """Start a run and make it the active one; returns it (a context manager).

    ``experiment`` groups it with other runs under a name (a filterable column of ``runs list``).

    Captured without asking: times, status, the cell or script source, notebook path, git commit
    and dirtiness, Python and package versions, and the data versions loaded/saved meanwhile.
    A run started while another is active is its child. In a Jupyter kernel its metrics are drawn
    live in the cell as they are logged (``mlnb.runs._live``; ``MLNB_LIVE=0`` turns that off).

    >>> with mlnb.start_run("baseline", params={"lr": 0.1}, tags=["churn"]) as run:  # doctest: +SKIP
    ...     run.log_metric("accuracy", 0.91)
    >>> run = mlnb.start_run("long"); run.log_metric("loss", 0.3, step=1); run.end()  # doctest: +SKIP
    """
    project = _project()
    clean = clean_params(params or {})
    tag_list = clean_tags(tags)
    if name is not None:
        check_name("run", name)
    if experiment is not None:
        check_name("experiment", experiment)
    run_id = new_run_id()
    shell = _capture.ipython_shell()
    source_path = notebook
    if shell is not None:
        source_path = source_path or _capture.notebook_path(shell)
        code = code if code is not None else _capture.current_cell(shell)
    else:
        script, script_code = _capture.caller_source()
        source_path = source_path or script
        code = code if code is not None else script_code
    commit, dirty = _capture.git_state(project.root)
    now = time.time()
    pid = os.getpid()
    with _lock:
        parent = _active[-1].id if _active else None
    row = {
        "id": run_id, "name": name or f"run-{run_id[:6]}", "status": "running", "started_at": now,
        "heartbeat_at": now, "parent_id": parent, "host": _capture.host(), "pid": pid,
        "proc_start": _proc_start(pid), "notebook": _store.storable_text(source_path),
        "code": _capture.scrub(_capture.redact_code(_store.storable_text(code)), _capture.secret_values(params or {})),
        "git_commit": commit,
        "git_dirty": None if dirty is None else int(dirty), "environment": _capture.environment_json(),
        "experiment": experiment,
    }
    with registry(project).write() as conn:
        _store.insert_run(conn, row, clean, tag_list)
    run = Run(project, run_id, row["name"], now)
    run._live = _live.attach(run.name)
    _activate(run)
    return run


_own_start: str | None = None
_projects: dict[str, Project] = {}


def _project() -> Project:
    """The current project, remembered per working directory (resolving paths costs more than a run)."""
    cwd = os.getcwd()
    project = _projects.get(cwd)
    if project is None or not project.mlnb_dir.is_dir():
        project = _projects[cwd] = current_project()
    return project


def _proc_start(pid: int) -> str | None:
    global _own_start
    if _own_start is None:
        _own_start = _capture.proc_start(pid) or ""
    return _own_start or None


def active_run() -> Run | None:
    """The innermost run started and not yet ended in this process, or None."""
    with _lock:
        return _active[-1] if _active else None


def require_active(what: str) -> Run:
    run = active_run()
    if run is None:
        raise UsageError(
            f"{what} needs an active run: wrap the code in `with mlnb.start_run(NAME):` "
            "or a `%%mlops run NAME` cell"
        )
    return run


def _activate(run: Run) -> None:
    with _lock:
        first = not _setup_done
        _active.append(run)
    if first:
        _setup()
    _Heartbeat.ensure()


def _deactivate(run: Run) -> None:
    with _lock:
        if run in _active:
            _active.remove(run)


def _on_data(direction: str, data_version_id: int) -> None:
    run = active_run()
    if run is not None:
        run._touched(direction, data_version_id)


_setup_done = False


def _setup() -> None:
    global _setup_done
    with _lock:
        if _setup_done:
            return
        _setup_done = True
    _lineage.subscribe(_on_data)  # type: ignore[arg-type]
    atexit.register(_end_all_at_exit)


def _end_all_at_exit() -> None:
    """A script that ends without ending its runs: they finish (or fail, after an uncaught error)."""
    import sys

    failed = getattr(sys, "last_value", None) if _capture.ipython_shell() is None else None
    with _lock:
        left = list(reversed(_active))
    for run in left:
        try:
            run.end_with(failed)
        except REGISTRY_ERRORS:  # the registry may be gone at exit: the run will read as crashed
            logger.debug("run %s (%s) could not be ended at exit", run.id, run.name, exc_info=True)
        except Exception:  # a bug: said (Python prints errors even with no logging set up); the others still end
            logger.error("run %s (%s) could not be ended at exit: a bug in mlnb, please report it", run.id, run.name,
                         exc_info=True)


class _Heartbeat(threading.Thread):
    """One daemon thread per process: flushes active runs and refreshes their heartbeat."""

    _instance: _Heartbeat | None = None

    def __init__(self) -> None:
        super().__init__(name="mlnb-heartbeat", daemon=True)
        self.wake = threading.Event()

    @classmethod
    def ensure(cls) -> None:
        with _lock:
            if cls._instance is None or not cls._instance.is_alive():
                cls._instance = cls()
                cls._instance.start()

    def run(self) -> None:
        failing: dict[str, str] = {}  # run id -> the failure last logged for it: each is logged once
        while True:
            self.wake.wait(_flush_seconds())
            self.wake.clear()
            with _lock:
                runs = list(_active)
            for gone in set(failing) - {run.id for run in runs}:
                del failing[gone]
            for run in runs:
                try:
                    if run.status == "running":
                        run._write(None)
                except REGISTRY_ERRORS as exc:  # busy, locked or unreachable: the next beat tries again
                    _log_once(failing, run, exc, logging.DEBUG, "it tries again")
                except Exception as exc:  # a bug: said loudly, and the other runs still beat
                    _log_once(failing, run, exc, logging.ERROR, "a bug in mlnb, please report it")
                else:
                    failing.pop(run.id, None)


def _log_once(failing: dict[str, str], run: Run, exc: Exception, level: int, what: str) -> None:
    """Log the heartbeat's failure to write ``run``, unless the same failure was logged last time."""
    key = f"{type(exc).__name__}: {exc}"
    if failing.get(run.id) != key:
        failing[run.id] = key
        logger.log(level, "the heartbeat could not write run %s (%s): %s", run.id, run.name, what, exc_info=exc)


# -- the active run, at module level ---------------------------------------------------------


def log_metric(key: str, value: float, step: int | None = None) -> None:
    """``run.log_metric`` on the active run: ``mlnb.log_metric("loss", 0.3, step=epoch)``."""
    require_active("mlnb.log_metric").log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """``run.log_metrics`` on the active run."""
    require_active("mlnb.log_metrics").log_metrics(metrics, step)


def log_param(key: str, value: Any) -> None:
    """``run.log_param`` on the active run: ``mlnb.log_param("lr", 0.1)``."""
    require_active("mlnb.log_param").log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    """``run.log_params`` on the active run."""
    require_active("mlnb.log_params").log_params(params)


def log_artifact(path: str | os.PathLike[str], version: bool = False) -> dict[str, Any]:
    """``run.log_artifact`` on the active run: ``mlnb.log_artifact("reports/confusion.png")``."""
    return require_active("mlnb.log_artifact").log_artifact(path, version=version)


def set_tags(*tags: str) -> None:
    """``run.set_tags`` on the active run."""
    require_active("mlnb.set_tags").set_tags(*tags)


__all__ = ["Run", "active_run", "log_artifact", "log_metric", "log_metrics", "log_param", "log_params",
           "set_tags", "start_run"]
