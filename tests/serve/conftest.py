"""Shared for the serving tests: a model with two versions, `champion` on 1 and `challenger` on 2."""

from __future__ import annotations

import pytest

from tests.models.conftest import Churn, make_churn


def register_two() -> Churn:
    """churn@1 (weak) as champion and blue, churn@2 (strong) as challenger and green."""
    import mlnb

    churn = make_churn()
    mlnb.models.register("churn", churn.weak, data=churn.X, metrics={"auc": 0.8})
    mlnb.models.register("churn", churn.strong, data=churn.X, metrics={"auc": 0.9})
    for ref, alias in (("churn@1", "champion"), ("churn@2", "challenger"), ("churn@1", "blue"), ("churn@2", "green")):
        mlnb.models.set_alias(ref, alias)
    return churn


@pytest.fixture
def two_versions(project) -> Churn:
    """On SQLite."""
    return register_two()


@pytest.fixture
def two_versions_any_backend(backend_project) -> Churn:
    """On SQLite, then on PostgreSQL."""
    return register_two()
