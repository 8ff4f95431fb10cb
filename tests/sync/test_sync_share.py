"""A fresh clone pulls every dataset version, run, model and alias, and can load each."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

import mlnb
from tests.conftest import run_cli

from .conftest import registry_records


def _frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x": rng.normal(size=50), "z": rng.normal(size=50)})
    df["y"] = (df.x > 0).astype(int)
    return df


def _work(n: int) -> None:
    """Two data versions, a run reading them with params, points, tags and an artifact, a model
    registered by it and promoted."""
    from sklearn.linear_model import LogisticRegression

    mlnb.data.save(_frame(n), "train")
    mlnb.data.save(_frame(n + 1), "train")
    with mlnb.start_run(name=f"fit-{n}") as run:
        run.log_params({"C": 0.5, "seed": n})
        for step in range(5):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        run.set_tags("baseline")
        df = mlnb.data.load("train")
        model = LogisticRegression(C=0.5).fit(df[["x", "z"]], df.y)
        with open("notes.txt", "w") as f:
            f.write(f"notes {n}")
        run.log_artifact("notes.txt")
        mlnb.models.register("clf", model, data=df[["x", "z"]], metrics={"auc": 0.8 + n / 100})
    mlnb.models.promote("clf@1", to="champion")


@pytest.mark.parametrize("bulk", [False, True], ids=["row-by-row", "index-after"])
def test_fresh_clone_sees_and_loads_everything(clones, monkeypatch, bulk):
    """``index-after``: the points go in as a large pull's do, the index dropped and rebuilt."""
    if bulk:
        monkeypatch.setattr("mlnb.sync._records._BULK", 1)
    with clones.at(clones.a):
        _work(1)
        pushed = mlnb.push()
        assert pushed["records"] > 0 and pushed["segment"]
        again = mlnb.push()
        assert again["records"] == 0  # nothing new: no second segment
        mine = registry_records(clones.a)
        assert (len(mine["runs"]), len(mine["run_metrics"]), len(mine["data_versions"]), len(mine["alias_events"])) \
            == (1, 5, 2, 1)
        assert mine["aliases"] == {"clf:champion": 1}
    with clones.at(clones.b):
        pulled = mlnb.pull()
        assert pulled["segments"] == 1 and not pulled["conflicts"]
        theirs = registry_records(clones.b)
        assert theirs == mine
        assert mlnb.data.load("train@1").equals(_frame(1))
        assert mlnb.data.load("train@2").equals(_frame(2))
        model = mlnb.models.load("clf@champion")
        assert model.predict(_frame(1)[["x", "z"]]).shape == (50,)
        runs = mlnb.runs.list()
        assert [r["name"] for r in runs] == ["fit-1"]
        assert mlnb.pull()["segments"] == 0  # idempotent: nothing new
    with sqlite3.connect(clones.b.root / ".mlnb" / "registry.db") as db:
        indexes = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "ix_run_metrics_run_key_step" in indexes


def test_cli_push_pull_one_clone_to_another(clones):
    with clones.at(clones.a):
        _work(3)
    out = run_cli("push", "--json", cwd=clones.a.root, check=True)
    assert '"records"' in out.stdout
    proc = run_cli("pull", cwd=clones.b.root, check=True)
    assert "pulled" in proc.stdout
    proc = run_cli("models", "show", "clf@champion", cwd=clones.b.root, check=True)
    assert "clf@1" in proc.stdout
    assert registry_records(clones.b) == registry_records(clones.a)
