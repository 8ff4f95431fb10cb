"""Two people moving one alias at once: a conflict shown with both sides, settled by a command."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier

import mlnb
from mlnb.errors import Conflict, NotFound, UsageError
from tests.conftest import run_cli
from tests.faults._harness import assert_one_line_error

from .conftest import registry_records


@pytest.fixture
def three(clones):
    """clf@1..3 on both clones, champion = clf@1 everywhere."""
    X, y = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]}), [0, 1, 0, 1]
    with clones.at(clones.a):
        for strategy in ("most_frequent", "stratified", "uniform"):
            mlnb.models.register("clf", DummyClassifier(strategy=strategy, random_state=0).fit(X, y))
        mlnb.models.set_alias("clf@1", "champion")
        mlnb.push(data=False)
    with clones.at(clones.b):
        mlnb.pull(data=False)
    return clones


def _champion(project) -> int:
    return registry_records(project)["aliases"]["clf:champion"]


def test_concurrent_moves_conflict_until_resolved(three):
    c = three
    with c.at(c.a):
        mlnb.models.promote("clf@2", to="champion")
        mlnb.push(data=False)
    with c.at(c.b):
        mlnb.models.set_alias("clf@3", "champion")
        pulled = mlnb.pull(data=False)
        [line] = pulled["conflicts"]
        assert "mine clf@3" in line and "theirs clf@2" in line and "mlnb sync resolve clf champion" in line
        assert _champion(c.b) == 3  # left as it was here: nothing settled silently
        sides = {(r["side"], r["version"]) for r in mlnb.sync.status()["conflicts"]}
        assert sides == {("mine", "clf@3"), ("theirs", "clf@2")}
        with pytest.raises(Conflict, match="push refused: alias champion of clf"):
            mlnb.push(data=False)
    proc = run_cli("push", "--no-data", cwd=c.b.root)
    assert "mlnb sync resolve clf champion --take" in assert_one_line_error(proc, 3)
    proc = run_cli("sync", "resolve", "clf", "champion", "--take", "7", cwd=c.b.root)
    assert "--take '7'" in assert_one_line_error(proc, 2)
    with c.at(c.b):
        done = mlnb.sync.resolve("clf", "champion", take="theirs")
        assert done["now"] == "clf@2" and _champion(c.b) == 2
        with pytest.raises(NotFound, match="no conflict to resolve"):
            mlnb.sync.resolve("clf", "champion", take="mine")
        mlnb.push(data=False)
    with c.at(c.a):
        assert not mlnb.pull(data=False)["conflicts"]
        assert _champion(c.a) == 2
        history = mlnb.models.history("clf", alias="champion")
        assert [r["action"] for r in history][:1] == ["resolve"]
    assert registry_records(c.a) == registry_records(c.b)


def test_resolve_to_a_version_and_by_side_ambiguity(three):
    c = three
    with c.at(c.a):
        mlnb.models.set_alias("clf@2", "champion")
        mlnb.push(data=False)
    with c.at(c.b):
        mlnb.models.set_alias("clf@3", "champion")
        mlnb.pull(data=False)
        with pytest.raises(UsageError, match="mine, theirs or a version number"):
            mlnb.sync.resolve("clf", "champion", take="latest")
        assert mlnb.sync.resolve("clf", "champion", take="1")["now"] == "clf@1"
        assert _champion(c.b) == 1
