"""Shared for the serving tests: a model with two versions, `champion` on 1 and `challenger` on 2."""

from __future__ import annotations

import pytest

import mlnb
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


@pytest.fixture(scope="package")
def served(tmp_path_factory):
    """One project (churn@1, churn@2; champion/blue on 1, challenger/green on 2) deployed to champion,
    and one real `mlnb serve churn --token ...` process on it, shared by the server tests."""
    from tests._postgres import package_project
    from tests.serve._server import TOKEN, ServerProcess

    base = tmp_path_factory.mktemp("served")
    for project in package_project(base):
        import mlnb

        register_two()
        mlnb.models.deploy("churn", to="champion")
        server = ServerProcess(project.root, "churn", "--token", TOKEN, "--poll", "0.2")
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def server(served, monkeypatch):
    """The shared server, serving all traffic from ``champion`` (whatever routing the test before
    left in force); the test runs in its project (so mlnb.models.deploy reaches it)."""
    monkeypatch.chdir(served.root)
    shown = mlnb.models.routing("churn")
    arms = shown.routing.arms
    if [(a.target, a.weight, a.shadow) for a in arms] != [("champion", 100.0, False)] or shown.routing.key:
        served.wait_for_routing(mlnb.models.deploy("churn", to="champion").routing.extra["seq"])
    return served
