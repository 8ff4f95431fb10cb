"""push/pull against a remote that cannot be used: one line that says what to do, nothing lost."""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import mlnb
from mlnb.errors import MlnbError, NotFound

from tests.conftest import run_cli
from tests.faults._harness import assert_one_line_error


def test_push_without_a_remote_is_one_line(tmp_path):
    root = tmp_path / "p"
    run_cli("init", str(root), check=True)
    pd.DataFrame({"x": [1]}).to_csv(root / "t.csv", index=False)
    run_cli("data", "add", "t.csv", cwd=root, check=True)
    out = run_cli("data", "push", cwd=root)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "mlnb init --remote URL" in out.stderr, out.stderr


@pytest.mark.skipif(importlib.util.find_spec("dvc_ssh") is not None, reason="dvc-ssh is installed here")
def test_remote_whose_dvc_plugin_is_missing(project):
    v = mlnb.data.save(pd.DataFrame({"x": [1, 2]}), "t")
    mlnb.init(remote="ssh://example.invalid/store")
    for verb in (mlnb.data.push, mlnb.data.pull):
        with pytest.raises(MlnbError, match="pip install dvc-ssh"):
            verb()
    assert mlnb.data.load(v.ref)["x"].tolist() == [1, 2]  # the local version is untouched


def _cache_emptied(root: Path) -> None:
    for obj in (root / ".dvc/cache/files/md5").glob("*/*"):
        obj.chmod(0o644)
        obj.unlink()


def test_a_version_that_cannot_be_fetched_without_a_remote_is_not_found(tmp_path):
    """No remote configured: DVC's own error, meant and caught, is one line, exit 3."""
    root = tmp_path / "p"
    run_cli("init", str(root), check=True)
    pd.DataFrame({"x": [1]}).to_csv(root / "t.csv", index=False)
    run_cli("data", "add", "t.csv", cwd=root, check=True)
    _cache_emptied(root)
    err = assert_one_line_error(run_cli("data", "checkout", "t@1", cwd=root), 3)
    assert err.startswith("mlnb: error: t@1 is not in the local cache and could not be fetched: ")
    debug = run_cli("--debug", "data", "checkout", "t@1", cwd=root)
    assert debug.returncode == 3 and "mlnb: debug: mlnb.data._storage: fetching t@1 failed" in debug.stderr
    assert "NoRemoteError" in debug.stderr  # DVC's own error, with its traceback


BUGGY_FETCH = """
import sys
import mlnb.data._storage as storage
from mlnb.cli import main

def transfer(*args, **kwargs):  # a bug in the fetch, as a corrupt registry row would make one
    raise TypeError("'NoneType' object is not subscriptable")

storage._transfer_with_progress = transfer
sys.exit(main(["data", "checkout", "t@1"]))
"""


def test_a_bug_while_fetching_surfaces_as_itself_not_as_not_found(project):
    """Only the errors a fetch means (no remote, its plugin missing, unreachable) read as "not
    found"; a bug is an internal error (exit 4), not a hint to push or set a remote."""
    pd.DataFrame({"x": [1]}).to_csv(project.root / "t.csv", index=False)
    mlnb.data.add("t.csv", name="t")
    _cache_emptied(project.root)
    proc = subprocess.run([sys.executable, "-c", BUGGY_FETCH], cwd=project.root, capture_output=True, text=True)
    err = assert_one_line_error(proc, 4)
    assert err.startswith("mlnb: internal error: TypeError: 'NoneType' object is not subscriptable"), err


@pytest.mark.skipif(importlib.util.find_spec("dvc_ssh") is not None, reason="dvc-ssh is installed here")
def test_a_failed_fetch_is_logged(project, caplog):
    """The caught error is kept in the "mlnb" log (debug level), traceback and all."""
    v = mlnb.data.save(pd.DataFrame({"x": [1]}), "t")
    _cache_emptied(project.root)
    mlnb.init(remote="ssh://example.invalid/store")
    with caplog.at_level(logging.DEBUG, logger="mlnb"), pytest.raises(NotFound, match="could not be fetched"):
        mlnb.data.path(v.ref)
    (record,) = [r for r in caplog.records if r.name.startswith("mlnb.") and r.exc_info]
    assert record.levelno == logging.DEBUG and record.getMessage() == f"fetching {v.ref} failed"
    assert type(record.exc_info[1]) is ImportError and "dvc-ssh" in str(record.exc_info[1])
