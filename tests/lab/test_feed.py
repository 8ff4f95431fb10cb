"""The registry fingerprint behind the panel's change feed, without a server."""

from __future__ import annotations

import pandas as pd

import mlnb
from mlnb.server._feed import _table_stamp, registry_version


def test_both_stamps_change_on_a_write_and_only_then(project) -> None:  # type: ignore[no-untyped-def]
    file_before, table_before = registry_version(project), _table_stamp(project)
    assert registry_version(project) == file_before and _table_stamp(project) == table_before
    mlnb.data.save(pd.DataFrame({"a": [1, 2]}), "feed")
    assert registry_version(project) != file_before
    assert _table_stamp(project) != table_before


def test_the_feed_sees_runs_start_log_and_finish_on_either_backend(backend_project) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL the fingerprint is a query over the registry tables; on SQLite two stat calls."""
    stamps = [registry_version(backend_project)]
    run = mlnb.start_run("feed")
    stamps.append(registry_version(backend_project))
    run.log_metric("loss", 0.5)
    run.flush()
    stamps.append(registry_version(backend_project))
    run.end()
    stamps.append(registry_version(backend_project))
    assert len(set(stamps)) == 4, stamps  # every step is seen
    assert registry_version(backend_project) == stamps[-1]  # and nothing else moves it
