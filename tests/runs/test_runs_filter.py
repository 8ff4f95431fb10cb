"""The filter language: results checked against the same predicate evaluated in Python, on
SQLite and PostgreSQL; errors point at the column where the expression goes wrong."""

from __future__ import annotations

import math

import pytest

import mlnb
from mlnb.errors import UsageError


@pytest.fixture
def project(backend_project):  # type: ignore[no-untyped-def]
    """Every test in this module runs on SQLite and again on PostgreSQL (registry-level tests)."""
    return backend_project


# name, params, metrics, tags, fails?
RUNS = [
    ("base-a", {"lr": 0.1, "opt": "adam"}, {"accuracy": 0.81, "loss": 0.30}, ["churn"], False),
    ("base-b", {"lr": 0.5, "opt": "sgd"}, {"accuracy": 0.92, "loss": 0.20}, ["churn", "big"], False),
    ("tuned", {"lr": 0.01, "opt": "adam"}, {"accuracy": 0.95}, [], False),
    ("nan-run", {"lr": 0.3}, {"accuracy": float("nan"), "loss": 0.5}, ["churn"], False),
    ("inf-run", {"lr": 1.0, "opt": "Adam_W"}, {"accuracy": float("inf")}, [], False),
    ("broken", {"lr": 0.2}, {}, ["big"], True),
]


def _gt(m, k, x):
    v = m.get(k)
    return v is not None and not math.isnan(v) and v > x


CASES = [
    ("metrics.accuracy > 0.8 and params.lr < 0.5", lambda n, p, m, t, s: _gt(m, "accuracy", 0.8) and p["lr"] < 0.5),
    ("tags.churn", lambda n, p, m, t, s: "churn" in t),
    ("not tags.churn", lambda n, p, m, t, s: "churn" not in t),
    ("status = 'failed'", lambda n, p, m, t, s: s == "failed"),
    ("status != 'failed' and tags.big", lambda n, p, m, t, s: s != "failed" and "big" in t),
    ("name ~ 'BASE'", lambda n, p, m, t, s: "base" in n.lower()),
    ("name !~ 'base'", lambda n, p, m, t, s: "base" not in n.lower()),
    ("params.opt = 'adam'", lambda n, p, m, t, s: p.get("opt") == "adam"),
    ("params.opt ~ 'adam_'", lambda n, p, m, t, s: "adam_" in str(p.get("opt", "")).lower()),
    ("metrics.loss", lambda n, p, m, t, s: "loss" in m),
    ("metrics.accuracy >= 0.92 or (params.lr = 0.1 and metrics.loss <= 0.3)",
     lambda n, p, m, t, s: (m.get("accuracy", -1) >= 0.92) or (p["lr"] == 0.1 and m.get("loss", 9) <= 0.3)),
    ("metrics.accuracy < 1e9", lambda n, p, m, t, s: "accuracy" in m and m["accuracy"] < 1e9),
    ("tags = 'big'", lambda n, p, m, t, s: "big" in t),
    ("duration >= 0 and started_at > '2000-01-01'", lambda n, p, m, t, s: True),
]


@pytest.fixture
def seeded(backend_project):
    return seed_runs()


def seed_runs() -> dict:
    """The runs of RUNS in the current project: run id -> (name, params, metrics, tags, status)."""
    ids = {}
    for name, params, metrics, tags, fails in RUNS:
        try:
            with mlnb.start_run(name, params=params, tags=tags) as run:
                for k, v in metrics.items():
                    run.log_metric(k, v)
                if fails:
                    raise RuntimeError("x")
        except RuntimeError:
            pass
        ids[run.id] = (name, params, metrics, tags, "failed" if fails else "finished")
    return ids


def test_filters_match_the_python_meaning(seeded):
    for expr, predicate in CASES:
        got = set(mlnb.runs.list(expr, limit=100).ids)
        want = {i for i, fields in seeded.items() if predicate(*fields)}
        assert got == want, expr


def test_sort_puts_runs_without_the_key_last_both_ways(seeded):
    names = lambda t: [r["name"] for r in t]  # noqa: E731
    down = names(mlnb.runs.list(sort="-metrics.loss"))
    up = names(mlnb.runs.list(sort="metrics.loss"))
    assert down[:3] == ["nan-run", "base-a", "base-b"] and up[:3] == ["base-b", "base-a", "nan-run"]
    assert set(down[3:]) == set(up[3:]) == {"tuned", "inf-run", "broken"}
    assert names(mlnb.runs.list(sort="params.lr"))[0] == "tuned"
    assert names(mlnb.runs.list(sort="name,-started_at")) == sorted(n for n, *_ in RUNS)
    for sort in ("-metrics.loss", "metrics.accuracy", "params.opt", "-params.lr", "status,-name"):
        whole = mlnb.runs.list(sort=sort, limit=100).ids
        pages = [i for off in range(0, 6, 2) for i in mlnb.runs.list(sort=sort, limit=2, offset=off).ids]
        assert pages == whole and len(whole) == len(RUNS), sort
    page1 = mlnb.runs.list(sort="name", limit=2)
    page2 = mlnb.runs.list(sort="name", limit=2, offset=2)
    assert names(page1) + names(page2) == sorted(n for n, *_ in RUNS)[:4]


@pytest.mark.parametrize(
    ("expr", "column", "says"),
    [
        ("metrics.accuracy >", 19, "expected a number"),
        ("metrics.accuracy > 0.8 and", 27, "expected a field"),
        ("foo = 1", 1, "unknown field 'foo'"),
        ("metrics.acc > 'high'", 15, "metrics are numbers"),
        ("(name = 'a'", 12, "expected ')'"),
        ("name = 'a' extra", 12, "expected 'and', 'or'"),
        ("tags.churn = 1", 12, "true or false on its own"),
        ("status @ 'x'", 8, "unexpected character '@'"),
        ("params.lr < 'x'", 11, "compares numbers"),
        ("started_at > 'yesterday'", 14, "is not a date"),
        ("metrics.", 9, "expected a name"),
        ("name", 5, "expected an operator"),
    ],
)
def test_bad_filters_say_where(project, expr, column, says):
    with pytest.raises(UsageError) as info:
        mlnb.runs.list(expr)
    message = str(info.value)
    assert f"at column {column}:" in message and says in message and "\n" not in message


def test_bad_sort_and_limits(project):
    for kwargs, says in [({"sort": "tags.x"}, "cannot be sorted by tags"), ({"sort": "-bogus"}, "unknown field"),
                         ({"limit": -1}, "invalid limit"), ({"offset": "1"}, "invalid offset")]:
        with pytest.raises(UsageError, match=says):
            mlnb.runs.list(**kwargs)


def test_filter_text_cannot_inject_sql(project):
    with mlnb.start_run("safe"):
        pass
    assert mlnb.runs.list(r"name = 'x\' OR 1=1 --'").rows == []
    with mlnb.start_run("it's"):
        pass
    assert [r["name"] for r in mlnb.runs.list(r"name = 'it\'s'")] == ["it's"]
    assert mlnb.runs.list("name ~ '%'").rows == []  # % is a literal character, not a wildcard
    assert len(mlnb.runs.list()) == 2
