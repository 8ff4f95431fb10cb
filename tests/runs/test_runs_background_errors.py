"""What the heartbeat and the at-exit hook meet is logged under "mlnb", never hidden: a busy or
broken registry once at debug level (the next beat retries), a bug at error level."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable

import pytest
from sqlalchemy.exc import OperationalError

import mlnb
from mlnb.runs import _run, _store


def _wait(condition: Callable[[], object], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _logged(caplog: pytest.LogCaptureFixture, run_id: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "mlnb.runs._run" and run_id in r.getMessage()]


def _rename(project, old: str, new: str) -> None:  # type: ignore[no-untyped-def]
    with sqlite3.connect(project.root / ".mlnb" / "registry.db") as conn:
        conn.execute(f"ALTER TABLE {old} RENAME TO {new}")


@pytest.fixture
def fast_beats(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Beats every 50 ms; calling the fixture's value starts the next beat now."""
    monkeypatch.setenv("MLNB_FLUSH_SECONDS", "0.05")

    def beat() -> None:
        _run._Heartbeat.ensure()
        _run._Heartbeat._instance.wake.set()  # type: ignore[union-attr]  # out of a longer wait

    return beat


def test_a_heartbeat_that_cannot_write_logs_it_once_and_retries(project, caplog, fast_beats):
    with caplog.at_level(logging.DEBUG, logger="mlnb"), mlnb.start_run("beating") as run:
        fast_beats()
        _rename(project, "run_metrics", "run_metrics_away")  # the registry refuses every write of a point
        run.log_metric("loss", 0.5)
        _wait(lambda: _logged(caplog, run.id))
        time.sleep(0.5)  # ten more beats that fail the same way
        (record,) = _logged(caplog, run.id)
        assert record.levelno == logging.DEBUG
        assert record.getMessage() == f"the heartbeat could not write run {run.id} (beating): it tries again"
        assert type(record.exc_info[1]) is OperationalError and "no such table: run_metrics" in str(record.exc_info[1])
        _rename(project, "run_metrics_away", "run_metrics")
        _wait(lambda: mlnb.runs.get(run.id).metrics == {"loss": 0.5})  # the next beat wrote the kept point
    assert mlnb.runs.get(run.id).status == "finished"


def test_a_bug_in_the_heartbeat_is_logged_as_an_error(project, caplog, fast_beats, monkeypatch):
    def buggy(*args, **kwargs):  # a bug in mlnb's own write, as a bad value would make one
        raise TypeError("unsupported operand type(s) for +: 'int' and 'NoneType'")

    with caplog.at_level(logging.DEBUG, logger="mlnb"), mlnb.start_run("beating") as run:
        with monkeypatch.context() as patch:
            patch.setattr(_store, "write_salvaging", buggy)
            fast_beats()
            _wait(lambda: _logged(caplog, run.id))
            time.sleep(0.3)
        (record,) = _logged(caplog, run.id)
        assert record.levelno == logging.ERROR
        assert record.getMessage() == (f"the heartbeat could not write run {run.id} (beating): "
                                       "a bug in mlnb, please report it")
        assert type(record.exc_info[1]) is TypeError
        run.log_metric("after", 1.0)
    assert mlnb.runs.get(run.id).metrics == {"after": 1.0}  # the patch gone, the run ended as usual


AT_EXIT = """
import logging, sqlite3, mlnb
{logging}
run = mlnb.start_run("script")
run.log_metric("loss", 0.5)
{breakage}
print(run.id, flush=True)
"""


def _script(project, logging_setup: str, breakage: str):  # type: ignore[no-untyped-def]
    """A script that starts a run, breaks something, and ends without ending the run."""
    code = AT_EXIT.format(logging=logging_setup, breakage=textwrap.dedent(breakage))
    return subprocess.run([sys.executable, "-c", code], cwd=project.root, capture_output=True, text=True,
                          timeout=120)


def test_a_run_the_exit_hook_cannot_end_is_logged(project):
    proc = _script(project, "logging.basicConfig(level=logging.DEBUG, format='%(levelname)s %(name)s: %(message)s')",
                   "sqlite3.connect('.mlnb/registry.db').execute('ALTER TABLE run_metrics RENAME TO away')")
    run_id = proc.stdout.strip()
    assert proc.returncode == 0, proc.stderr
    assert f"DEBUG mlnb.runs._run: run {run_id} (script) could not be ended at exit" in proc.stderr
    assert "no such table: run_metrics" in proc.stderr and "Exception ignored" not in proc.stderr
    _rename(project, "away", "run_metrics")
    assert mlnb.runs.get(run_id).status in ("running", "crashed")  # not ended: the hook said why


def test_a_bug_in_the_exit_hook_is_shown_without_any_logging_set_up(project):
    breakage = """
        from mlnb.runs import _store
        def buggy(*args, **kwargs):
            raise TypeError("a bug")
        _store.write_salvaging = buggy
    """
    proc = _script(project, "", breakage)
    run_id = proc.stdout.strip()
    assert proc.returncode == 0, proc.stderr
    # Python's last-resort handler prints errors when nothing is configured: a bug is never silent
    assert f"run {run_id} (script) could not be ended at exit: a bug in mlnb, please report it" in proc.stderr
    assert "TypeError: a bug" in proc.stderr
