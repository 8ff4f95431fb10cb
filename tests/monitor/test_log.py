"""The prediction and outcome logs: batch rows land in day partitions, outcomes join by id, the
latest outcome wins, unknown ids are counted and kept, and bad input changes nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlnb
from mlnb.errors import UsageError


def _batch(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["x", "y"], size=n)})


def test_batch_predictions_partition_by_day_and_join_outcomes(project):
    X = _batch(6)
    times = pd.date_range("2026-11-01 22:00", periods=6, freq="1h", tz="UTC")  # crosses midnight
    proba = np.column_stack([np.linspace(0.9, 0.4, 6), np.linspace(0.1, 0.6, 6)])
    written = mlnb.monitor.log_predictions("churn", X, (proba[:, 1] > 0.5).astype(int), ids=range(100, 106),
                                           proba=proba, time=times)
    assert written == 6
    days = sorted(p.name for p in (project.root / ".mlnb" / "predictions" / "churn").glob("date=*"))
    assert days == ["date=2026-11-01", "date=2026-11-02"]

    first = mlnb.monitor.log_outcomes("churn", [100, 101, 999], [1, 0, 1])
    assert (first.written, first.matched, first.unknown) == (3, 2, 1)
    mlnb.monitor.log_outcomes("churn", [101], [1])  # a correction: the latest outcome wins

    log = mlnb.monitor.read_log("churn")
    assert log["id"].tolist() == [str(i) for i in range(100, 106)]
    assert log["outcome"].iloc[:2].tolist() == [1, 1] and log["outcome"].iloc[2:].isna().all()
    np.testing.assert_allclose(log["proba"], proba[:, 1])
    assert log["feature.b"].tolist() == X["b"].tolist()
    assert (log["time"].diff().dropna() == 3600).all()

    late = mlnb.monitor.read_log("churn", ["prediction"], start="2026-11-02", outcomes=False)
    assert late["id"].tolist() == ["102", "103", "104", "105"] and "feature.a" not in late


def test_version_references_resolve_and_bad_input_writes_nothing(project):
    from sklearn.dummy import DummyClassifier

    X = _batch(4)
    mlnb.models.register("churn", DummyClassifier().fit(X[["a"]], [0, 1, 0, 1]), data=X[["a"]])
    mlnb.models.set_alias("churn@1", "champion")
    mlnb.monitor.log_predictions("churn", X[["a"]], [0, 1, 0, 1], ids="abcd", version="champion")
    assert set(mlnb.monitor.read_log("churn", ["version"], outcomes=False)["version"]) == {1}

    folder = project.root / ".mlnb" / "predictions" / "churn"
    before = sorted(folder.rglob("*"))
    for call, message in [
        (lambda: mlnb.monitor.log_predictions("churn", X, [0, 1]), "2 predictions for 4 rows"),
        (lambda: mlnb.monitor.log_predictions("churn", X, [0] * 4, ids=[1, 2]), "ids has 2 values for 4 rows"),
        (lambda: mlnb.monitor.log_predictions("churn", X, [0] * 4, proba=[[0.1, 0.2, 0.7]] * 4), "proba has shape"),
        (lambda: mlnb.monitor.log_predictions("churn", X, [0] * 4, version="other@1"), "names model other"),
        (lambda: mlnb.monitor.read_log("churn", ["nope"]), "has no column 'nope'"),
    ]:
        with pytest.raises(UsageError, match=message):
            call()
    assert sorted(folder.rglob("*")) == before


def test_models_log_outcomes_is_the_same_function():
    assert mlnb.models.log_outcomes is mlnb.monitor.log_outcomes
