"""Pathological filters and sorts are refused in one line at documented limits (docs/runs.md),
never a RecursionError or a database error; expressions at the limits still run."""

from __future__ import annotations

import pytest

import mlnb
from mlnb.errors import UsageError
from mlnb.runs._filter import MAX_DEPTH, MAX_LENGTH, MAX_TERMS
from mlnb.runs._query import MAX_SORT_KEYS
from tests.conftest import run_cli


def nested(depth: int) -> str:
    return "(" * depth + "tags.a" + ")" * depth


def terms(count: int) -> str:
    return " or ".join(f"metrics.m{i} >= {i}" for i in range(count))


def sort_keys(count: int) -> str:
    return ",".join(f"-metrics.m{i}" for i in range(count))


# (filter, sort, words the refusal must contain)
TOO_MUCH = [
    (nested(MAX_DEPTH + 1), None, "nest"),
    (nested(500), None, "nest"),
    ("not " * (MAX_DEPTH + 1) + "tags.a", None, "nest"),
    ("not (" * 400 + "tags.a" + ")" * 400, None, "nest"),
    (terms(MAX_TERMS + 1), None, "terms"),
    (terms(5000), None, "characters"),
    (" and ".join(["tags.a"] * 3000), None, "characters"),
    ("name ~ '" + "a" * (1 << 20) + "'", None, "characters"),
    ("name ~ '" + "a" * MAX_LENGTH + "'", None, "characters"),
    (None, sort_keys(MAX_SORT_KEYS + 1), "sort keys"),
    (None, sort_keys(100), "sort keys"),
    (None, "metrics." + "m" * (1 << 20), "characters"),
]


@pytest.fixture
def seeded(project):  # type: ignore[no-untyped-def]
    return _seed(project)


@pytest.fixture
def seeded_both(backend_project):  # type: ignore[no-untyped-def]
    return _seed(backend_project)


def _seed(project):  # type: ignore[no-untyped-def]
    """Three runs tagged 'a', each with MAX_SORT_KEYS metrics: m<k> = 10 * i + k for run r<i>."""
    for i in range(3):
        with mlnb.start_run(f"r{i}", tags=["a"]) as run:
            for k in range(MAX_SORT_KEYS):
                run.log_metric(f"m{k}", i * 10 + k)
    return project


@pytest.mark.parametrize("flt,sort,words", TOO_MUCH, ids=range(len(TOO_MUCH)))
def test_past_a_limit_is_one_usage_error_naming_it(seeded, flt, sort, words) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError) as err:
        mlnb.runs.list(flt, sort=sort)
    message = str(err.value)
    assert "\n" not in message and len(message) < 400, message[:500]
    assert words in message


def test_at_the_limits_the_query_runs_on_either_backend(seeded_both) -> None:  # type: ignore[no-untyped-def]
    assert len(mlnb.runs.list(nested(MAX_DEPTH))) == 3
    assert len(mlnb.runs.list("not " * MAX_DEPTH + "tags.a")) == (0 if MAX_DEPTH % 2 else 3)
    assert len(mlnb.runs.list(" and ".join(["tags.a"] * MAX_TERMS))) == 3
    assert len(mlnb.runs.list(terms(MAX_TERMS))) == 3
    pattern = "name ~ 'r'"
    assert len(mlnb.runs.list(pattern + " " * (MAX_LENGTH - len(pattern)))) == 3
    rows = mlnb.runs.list(sort=sort_keys(MAX_SORT_KEYS)).to_dict()
    assert [r["name"] for r in rows] == ["r2", "r1", "r0"]


@pytest.mark.parametrize("flt,sort", [(nested(500), None), (terms(3000)[:100_000], None),
                                      ("name ~ '" + "a" * 100_000 + "'", None), (None, sort_keys(100))])
def test_the_cli_exits_2_with_one_line(seeded, flt, sort) -> None:  # type: ignore[no-untyped-def]
    args = ["runs", "list"] + (["--filter", flt] if flt else []) + ([f"--sort={sort}"] if sort else [])
    proc = run_cli(*args, cwd=seeded.root)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlnb: error: "), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and len(lines[0]) < 400
