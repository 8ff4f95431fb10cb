"""The server's follower: it switches only to a routing it could load, and loads each version once."""

from __future__ import annotations

import mlnb
from mlnb._project import current_project
from mlnb.serve._follow import Follower


def test_an_alias_moved_to_a_version_that_cannot_load_keeps_the_old_one(two_versions, caplog):
    mlnb.models.deploy("churn", to="champion", canary="challenger", traffic=10)
    follower = Follower(current_project(), "churn")
    assert follower.current.versions == {"champion": 1, "challenger": 2}
    assert follower.refresh() is False  # nothing changed

    mlnb.models.set_alias("churn@2", "champion")  # a promotion: the arm follows its alias
    assert follower.refresh() is True and follower.current.versions == {"champion": 2, "challenger": 2}
    assert follower.current.arms[0].model is follower.current.arms[1].model  # one version, loaded once

    mlnb.models.register("churn", two_versions.weak, data=two_versions.X, format="pickle")  # churn@3
    mlnb.models.set_alias("churn@3", "challenger")  # a pickle: the server will not load it
    assert follower.refresh() is False
    assert follower.current.versions == {"champion": 2, "challenger": 2}
    assert "routing of churn not applied, still serving routing #1: churn@3 is a pickle" in caplog.text
    mlnb.models.set_alias("churn@1", "challenger")
    assert follower.refresh() is True and follower.current.versions == {"champion": 2, "challenger": 1}
