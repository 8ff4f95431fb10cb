"""A simulated month of a churn classifier's predictions, with a covariate shift mid-way.

The label depends on the inputs the same way all month (P(y | x) fixed); from ``shift_day`` on,
``x1`` concentrates near the decision boundary (its spread shrinks), so accuracy falls although
the model and the concept are unchanged — the case confidence-based estimation is made for.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

DAY0 = pd.Timestamp("2026-10-01", tz="UTC")


def inputs(n: int, rng: np.random.Generator, shifted: bool = False) -> pd.DataFrame:
    spread = 0.35 if shifted else 1.5
    return pd.DataFrame({"x1": rng.normal(0, spread, n), "x2": rng.normal(0, 1, n),
                         "x3": rng.exponential(1.0, n), "plan": rng.choice(["basic", "pro", "team"], n)})


def labels(X: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    logit = 2.0 * X["x1"] - 0.5 * X["x2"] + 0.3 * (X["plan"] == "pro")
    return (rng.random(len(X)) < 1 / (1 + np.exp(-logit))).astype(int)


def fit_model(seed: int = 0):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    X = inputs(4000, rng)
    y = labels(X, rng)
    model = LogisticRegression().fit(_design(X), y)
    return model, X, y


def _design(X: pd.DataFrame) -> np.ndarray:
    return np.column_stack([X["x1"], X["x2"], X["x3"], X["plan"] == "pro"]).astype(float)


def log_month(model, days: int = 30, per_day: int = 400, shift_day: int = 15, seed: int = 1,  # type: ignore[no-untyped-def]
              name: str = "churn", version: str | None = None, outcomes: bool = True) -> pd.DataFrame:
    """Log ``days`` days of predictions (and their outcomes); returns what was logged."""
    import mlnb

    rng = np.random.default_rng(seed)
    frames = []
    for d in range(days):
        X = inputs(per_day, rng, shifted=d >= shift_day)
        times = DAY0 + pd.Timedelta(days=d) + pd.to_timedelta(np.sort(rng.uniform(0, 86_399, per_day)), unit="s")
        frames.append(X.assign(id=[f"{d}-{i}" for i in range(per_day)], outcome=labels(X, rng), day=d, time=times))
    month = pd.concat(frames, ignore_index=True)
    month["proba"] = model.predict_proba(_design(month))[:, 1]
    features = month[["x1", "x2", "x3", "plan"]]
    mlnb.monitor.log_predictions(name, features, (month["proba"] > 0.5).astype(int), ids=month["id"],
                                 proba=month["proba"], time=month["time"], version=version)  # one file per day
    if outcomes:
        mlnb.monitor.log_outcomes(name, month["id"], month["outcome"])
    return month


@contextmanager
def module_project(tmp_path_factory: Any, name: str) -> Iterator[Any]:
    """A fresh project (SQLite registry, its own HOME and git identity) for one test module."""
    import pytest

    from tests._postgres import fresh_project

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(tmp_path_factory.mktemp("home")))
        mp.delenv("MLNB_REGISTRY_URL", raising=False)
        for k, v in (("NAME", "mlnb test"), ("EMAIL", "test@example.invalid")):
            mp.setenv(f"GIT_AUTHOR_{k}", v)
            mp.setenv(f"GIT_COMMITTER_{k}", v)
        gen = fresh_project(tmp_path_factory.mktemp(name), mp)
        try:
            yield next(gen)
        finally:
            gen.close()
