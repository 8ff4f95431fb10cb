"""The registry revision behind the panel's change feed, on SQLite and PostgreSQL.

Every committed change moves it (a param overwritten, a metric, a tag, a data version, a run's
end); a read, a listing, or a write that changes no row does not. The real server's
``/mlnb/api/version`` answers it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pandas as pd

import mlnb
from mlnb.server._feed import registry_version

from ._lab import child_env, start_lab


def _moved(project: Any, action: Callable[[], Any], token: Callable[[], str] | None = None) -> bool:
    read = token or (lambda: registry_version(project))
    before = read()
    action()
    return read() != before


def _flushed(run: Any, fn: Callable[[], Any]) -> Callable[[], None]:
    return lambda: (fn(), run.flush())  # type: ignore[func-returns-value]


def test_each_kind_of_change_moves_the_revision_and_nothing_else_does(backend_project) -> None:  # type: ignore[no-untyped-def]
    p = backend_project
    run = mlnb.start_run("feed", params={"lr": 0.1}, tags=["a"])

    assert _moved(p, _flushed(run, lambda: run.log_param("lr", 0.2)))  # an overwrite: no row count changes
    assert mlnb.runs.get(run.id).params["lr"] == 0.2
    assert _moved(p, _flushed(run, lambda: run.log_metric("loss", 0.5)))
    assert _moved(p, _flushed(run, lambda: run.set_tags("b")))
    assert _moved(p, lambda: mlnb.data.save(pd.DataFrame({"a": [1, 2]}), "feed"))
    assert _moved(p, lambda: mlnb.data.save(pd.DataFrame({"a": [1, 2, 3]}), "feed"))  # a second version
    assert _moved(p, run.end)

    def points_only() -> None:  # SQL sent straight to the driver (the metric points' executemany)
        from mlnb.runs._store import insert_points
        from mlnb.store import registry

        with registry(p).write() as conn:
            insert_points(conn, [(run.id, "raw", 0, 1.0, 0, 0.0)])

    assert _moved(p, points_only)

    # reads, the crash check a listing runs, and a tag that is already there change nothing
    assert not _moved(p, lambda: (mlnb.runs.list(), mlnb.runs.get(run.id), mlnb.data.log("feed"), mlnb.data.list()))
    assert not _moved(p, lambda: mlnb.data.save(pd.DataFrame({"a": [1, 2, 3]}), "feed"))  # same bytes: no version
    assert not _moved(p, lambda: [registry_version(p) for _ in range(3)])


def test_each_model_registry_write_moves_the_revision_and_reads_do_not(backend_project) -> None:  # type: ignore[no-untyped-def]
    """What the Models tab refreshes on: a version, an alias move, a rollback, an evaluation."""
    from sklearn.linear_model import LogisticRegression

    p = backend_project
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0, 1, 0, 1]})
    mlnb.data.save(frame, "holdout")

    def fit(c: float) -> Any:
        return LogisticRegression(C=c).fit(frame[["x"]], frame["y"])

    assert _moved(p, lambda: mlnb.models.register("m", fit(1.0), metrics={"auc": 0.6}))
    assert _moved(p, lambda: mlnb.models.register("m", fit(0.1), metrics={"auc": 0.7}))
    assert not _moved(p, lambda: mlnb.models.register("m", fit(0.1)))  # same bytes: the same version
    assert _moved(p, lambda: mlnb.models.promote("m@1", to="champion"))
    assert _moved(p, lambda: mlnb.models.promote("m@2", to="champion", gates=["auc > champion.auc"]))
    assert not _moved(p, lambda: mlnb.models.promote("m@1", to="champion", gates=["auc > 0.9"]))  # refused
    assert _moved(p, lambda: mlnb.models.rollback("m", "champion"))
    assert _moved(p, lambda: mlnb.models.set_alias("m@2", "staging"))
    assert _moved(p, lambda: mlnb.models.remove_alias("m", "staging"))
    assert _moved(p, lambda: mlnb.models.evaluate("m@2", data="holdout@1", target="y"))
    assert not _moved(p, lambda: (mlnb.models.list(), mlnb.models.log("m", limit=1), mlnb.models.show("m@1"),
                                  mlnb.models.history("m", version=2)))


def test_the_servers_feed_reports_a_param_overwrite(backend_project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The real Jupyter server, on the same registry: its feed moves when a param is overwritten."""
    env = child_env(tmp_path / "home")
    if os.environ.get("MLNB_REGISTRY_URL"):
        env["MLNB_REGISTRY_URL"] = os.environ["MLNB_REGISTRY_URL"]
    run = mlnb.start_run("served", params={"lr": 0.1})
    run.flush()
    lab = start_lab(backend_project.root, tmp_path / "server", env)
    try:
        def feed() -> str:
            status, body = lab.api("mlnb/api/version")
            assert status == 200
            return body["version"]

        assert feed() == registry_version(backend_project)
        assert _moved(backend_project, _flushed(run, lambda: run.log_param("lr", 0.3)), feed)
        assert not _moved(backend_project, lambda: lab.api("mlnb/api/runs"), feed)
        run.end()
    finally:
        lab.stop()


def test_a_registry_made_before_the_revision_gains_it_and_keeps_its_rows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine, func, select

    from mlnb.store import Registry
    from mlnb.store import _schema

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)  # the schema as migrations 1 and 2 left it, with a row
    with engine.begin() as conn:
        _schema.metadata.create_all(conn, tables=[t for t in _schema.metadata.sorted_tables
                                                  if t is not _schema.revision])
        conn.execute(_schema.meta.insert(), {"key": "schema_version", "value": "2"})
        conn.execute(_schema.datasets.insert(), {"name": "d", "path": "d.csv", "created_at": 0.0})
    engine.dispose()

    new = Registry(url)
    first = new.revision()
    with new.write() as conn:
        conn.execute(_schema.datasets.update().values(path="e.csv"))
    instance, count = first.rsplit("-", 1)
    assert new.revision() == f"{instance}-{int(count) + 1}"  # one write, one step
    with new.read() as conn:
        assert conn.execute(select(func.count()).select_from(_schema.datasets)).scalar() == 1
        version = conn.execute(select(_schema.meta.c.value).where(_schema.meta.c.key == "schema_version")).scalar()
        assert version == str(len(_schema.MIGRATIONS))  # every later migration applied too
    new.engine.dispose()
