"""A clone whose registry is on PostgreSQL shares with one on SQLite, both ways, record by record;
and the notebook's `%mlops push` / `%mlops pull` are the same verbs."""

from __future__ import annotations

import pytest

import mlnb

from .conftest import registry_records


@pytest.mark.postgres
def test_postgres_registry_pushes_and_pulls(clones, postgres_url):
    config = dict(clones.a.config)
    clones.a.save_config({**config, "registry_url": postgres_url})
    with clones.at(clones.a):
        with mlnb.start_run(name="on-pg") as run:
            run.log_params({"lr": 0.1})
            for step in range(20):
                run.log_metric("loss", 1 / (step + 1), step=step)
        mlnb.data.save(__import__("pandas").DataFrame({"v": [1.5, float("nan"), float("inf")]}), "feat")
        assert mlnb.push()["records"] > 0
    with clones.at(clones.b):
        mlnb.pull()
        with mlnb.start_run(name="on-sqlite") as run:
            run.log_metric("loss", float("nan"), step=0)
        mlnb.push()
    with clones.at(clones.a):
        assert mlnb.pull()["merged"]["runs"] == 1
    assert registry_records(clones.a) == registry_records(clones.b)
    assert len(registry_records(clones.a)["run_metrics"]) == 21


def test_magic_push_and_pull(clones, ipython, capsys):
    with clones.at(clones.a):
        with mlnb.start_run(name="from-a"):
            pass
        ipython.run_cell("%mlops push --no-data", store_history=False)
        assert "pushed" in capsys.readouterr().out
    with clones.at(clones.b):
        result = ipython.run_cell("%mlops pull --no-data", store_history=False)
        assert result.success
        assert "pulled" in capsys.readouterr().out
        assert [r["name"] for r in mlnb.runs.list()] == ["from-a"]
        result = ipython.run_cell("%mlops sync resolve clf champion --take mine", store_history=False)
        assert not result.success
        err = capsys.readouterr()
        assert "no conflict to resolve" in err.out + err.err
