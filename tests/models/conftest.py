"""Shared for the model registry tests: two data versions and two fitted classifiers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest


@dataclass
class Churn:
    X: pd.DataFrame  # the training inputs, read back through mlnb.data (so linked to train@1)
    y: pd.Series
    holdout: pd.DataFrame  # inputs and the label column "churned"
    weak: Any  # so regularised it predicts almost one class
    strong: Any


def churn_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"tenure": rng.normal(size=n), "spend": rng.normal(size=n)})
    df["churned"] = (df.tenure + 0.4 * rng.normal(size=n) > 0).astype(int)
    return df


def make_churn() -> Churn:
    """train@1 (300 rows) and holdout@1 (200 rows) saved with mlnb.data; two models fitted on train."""
    import mlnb
    from sklearn.linear_model import LogisticRegression

    mlnb.data.save(churn_frame(300, 0), "train")
    mlnb.data.save(churn_frame(200, 1), "holdout")
    train = mlnb.data.load("train")
    X, y = train[["tenure", "spend"]], train["churned"]
    return Churn(X, y, mlnb.data.load("holdout"), LogisticRegression(C=1e-5).fit(X, y),
                 LogisticRegression().fit(X, y))


@pytest.fixture
def churn(backend_project) -> Churn:
    """:func:`make_churn` in a project on SQLite, then on PostgreSQL."""
    return make_churn()


@pytest.fixture
def registered(project) -> Churn:
    """On SQLite: churn@1 (weak, auc 0.8) as champion, churn@2 (strong, auc 0.9) not promoted."""
    import mlnb

    churn = make_churn()
    mlnb.models.register("churn", churn.weak, data=churn.X, metrics={"auc": 0.8})
    mlnb.models.register("churn", churn.strong, data=churn.X, metrics={"auc": 0.9})
    mlnb.models.promote("churn@1", to="champion")
    return churn
