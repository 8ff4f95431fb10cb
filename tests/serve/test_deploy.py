"""Routings kept in the registry: every strategy, rollback along the log, refusals that change nothing."""

from __future__ import annotations

import pytest

import mlnb
from mlnb.errors import Conflict, NotFound, UsageError
from mlnb.serve import _deploy
from mlnb.store import registry
from tests.faults._harness import snapshot


def arms(deployment) -> list[tuple]:
    return [(a.label, a.weight, a.shadow, deployment.resolved.get(a.label)) for a in deployment.routing.arms]


def test_strategies_and_rollback_follow_the_log(two_versions_any_backend, backend_project):
    reg = registry(backend_project)
    before = reg.revision()
    single = mlnb.models.deploy("churn", to="champion", reason="first")
    assert reg.revision() != before  # a routing change is a registry write: the server's poll sees it
    assert (single.routing.strategy, arms(single)) == ("single", [("champion", 100, False, 1)])

    canary = mlnb.models.deploy("churn", canary="challenger", traffic=10)  # stable arm: the one in force
    assert (canary.routing.strategy, arms(canary)) == (
        "canary", [("champion", 90, False, 1), ("challenger", 10, False, 2)])
    assert canary.previous.extra["seq"] == 1

    ab = mlnb.models.deploy("churn", ab="champion,challenger", key="customer_id")
    assert (ab.routing.strategy, ab.routing.key, arms(ab)) == (
        "ab", "customer_id", [("champion", 50, False, 1), ("challenger", 50, False, 2)])

    shadow = mlnb.models.deploy("churn", to="1", shadow=["challenger"])
    assert (shadow.routing.strategy, arms(shadow)) == ("shadow", [("1", 100, False, 1), ("challenger", 0, True, 2)])

    green = mlnb.models.deploy("churn", to="green", reason="blue-green")
    assert (green.routing.strategy, arms(green)) == ("single", [("green", 100, False, 2)])

    assert mlnb.models.routing("churn").routing.extra["seq"] == 5
    back = [mlnb.models.deploy("churn", rollback=True, reason=f"back {i}") for i in range(4)]
    assert [b.routing.strategy for b in back] == ["shadow", "ab", "canary", "single"]
    assert arms(back[1]) == [("champion", 50, False, 1), ("challenger", 50, False, 2)] and back[1].routing.key == "customer_id"
    with pytest.raises(NotFound, match="no earlier routing"):
        mlnb.models.deploy("churn", rollback=True)

    history = mlnb.models.deploy_history("churn").to_dict()
    assert [(h["routing"], h["action"], h["strategy"]) for h in history] == [
        (9, "rollback", "single"), (8, "rollback", "canary"), (7, "rollback", "ab"), (6, "rollback", "shadow"),
        (5, "deploy", "single"), (4, "deploy", "shadow"), (3, "deploy", "ab"), (2, "deploy", "canary"),
        (1, "deploy", "single")]
    assert history[0]["reason"] == "back 3" and history[4]["reason"] == "blue-green"
    assert history[3]["arms"][1] == {"name": "challenger", "target": "challenger", "weight": 0.0, "shadow": True,
                                     "version": 2}


def test_a_deploy_after_a_rollback_is_undone_first(two_versions):
    mlnb.models.deploy("churn", to="champion")
    mlnb.models.deploy("churn", to="challenger")
    mlnb.models.deploy("churn", rollback=True)  # champion
    mlnb.models.deploy("churn", to="2")
    assert mlnb.models.deploy("churn", rollback=True).routing.live[0].target == "champion"
    with pytest.raises(NotFound):
        mlnb.models.deploy("churn", rollback=True)


def test_routing_follows_its_aliases(two_versions):
    mlnb.models.deploy("churn", to="champion")
    mlnb.models.set_alias("churn@2", "champion")
    assert mlnb.models.routing("churn").resolved == {"champion": 2}


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"to": "nobody"}, "deploy refused: arm 'nobody' (churn@nobody): model churn has no alias 'nobody'"),
    ({"to": "7"}, "arm '7' (churn@7): no model version 'churn@7'"),
    ({"to": "champion", "shadow": "pickled"}, "arm 'pickled' (churn@pickled): churn@3 is a pickle"),
    ({"canary": "challenger", "traffic": 100}, "a canary's share is above 0 and below 100"),
    ({"canary": "challenger"}, "--canary needs --traffic"),
    ({"ab": "champion"}, "--ab needs two or more targets"),
    ({"ab": "champion,challenger", "traffic": "70"}, "1 shares for 2 --ab targets"),
    ({"ab": "champion,challenger", "to": "blue"}, "do not combine it with --to"),
    ({"to": "champion", "traffic": 5}, "--traffic is the canary's share"),
    ({"to": "bad target!"}, "targets are an alias or a version number"),
    ({"rollback": True, "to": "champion"}, "--rollback takes no other routing option"),
    ({}, "say what to serve"),
])
def test_refused_routings_change_nothing(two_versions, project, kwargs, words):
    mlnb.models.register("churn", two_versions.strong, data=two_versions.X, format="pickle")
    mlnb.models.set_alias("churn@3", "pickled")
    mlnb.models.deploy("churn", to="champion")
    mlnb.models.deploy("churn", to="blue")
    before = snapshot(project.root)
    with pytest.raises((UsageError, NotFound)) as caught:
        mlnb.models.deploy("churn", **kwargs)
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)
    assert snapshot(project.root) == before
    assert mlnb.models.routing("churn").routing.live[0].target == "blue"


def test_canary_or_shadow_without_a_routing_in_force_asks_for_the_stable_arm(two_versions):
    with pytest.raises(UsageError, match="not served yet: give the stable arm too"):
        mlnb.models.deploy("churn", canary="challenger", traffic=10)
    with pytest.raises(UsageError, match="not served yet: give the live arm too"):
        mlnb.models.deploy("churn", shadow="challenger")
    with pytest.raises(NotFound, match="churn is not deployed"):
        mlnb.models.routing("churn")
    assert mlnb.models.deploy("churn", to="champion", canary="challenger", traffic=25).routing.live[1].weight == 25


def test_a_change_against_a_stale_routing_is_a_conflict(two_versions, project):
    mlnb.models.deploy("churn", to="champion")
    stale = _deploy.plan("churn", None, to="challenger")
    with registry(project).read() as conn:
        mid = _deploy._model_id(conn, "churn")
    before = snapshot(project.root)
    with pytest.raises(Conflict, match="the routing of churn changed since you looked"):
        _deploy._save(project, mid, stale, {"challenger": 2}, "deploy", expected=0)
    assert snapshot(project.root) == before
