"""One bad value never poisons a run: what the registry cannot store is refused at the call, in one
line naming the value and the limit; what is let through is stored on SQLite and PostgreSQL alike;
and a row the database still refuses costs only that row."""

from __future__ import annotations

import math
import warnings

import pytest
from sqlalchemy import text

import mlnb
from mlnb.errors import UsageError
from mlnb.store import registry

# (what to call on the run, what the error must say): each is refused at the call
BAD = [
    ("log_metric", ("loss", 1.0, 2**64), r"step of metric 'loss' = 18446744073709551616 is out of range.*64-bit"),
    ("log_metric", ("loss", 1.0, -(2**63) - 1), r"out of range: steps are 64-bit integers"),
    ("log_metric", ("loss", 1.0, 1.5), r"step of metric 'loss' must be an integer, got 1.5"),
    ("log_metric", ("loss", 10**400), r"metric 'loss' = an integer of about 401 digits is too large.*1.798e\+308"),
    ("log_metric", ("loss", "0.5"), r"metric 'loss' must be a number, got '0.5'"),
    ("log_metric", ("loss\n", 1.0), r"invalid metric name 'loss\\n'.*control character '\\n' at position 4"),
    ("log_metric", ("a\x00b", 1.0), r"invalid metric name 'a\\x00b'.*control character"),
    ("log_metric", ("x" * 256, 1.0), r"256 characters, the limit is 255"),
    ("log_metric", ("\ud800", 1.0), r"not valid Unicode"),
    ("log_metric", ("", 1.0), r"invalid metric name '': use a non-empty string"),
    ("log_param", ("n", 10**400), r"param 'n' = an integer of about 401 digits is too large.*log it as a string"),
    ("log_param", ("n", [10**5000]), r"param 'n' = a list cannot be stored"),
    ("log_param", ("n", "x" * 1_000_001), r"param 'n' is 1000003 characters as JSON, the limit is 1000000"),
    ("log_param", ("k\n", 1), r"invalid param name 'k\\n'"),
    ("log_param", ("y" * 300, 1), r"300 characters, the limit is 255"),
    ("set_tags", ("tag\t",), r"invalid tag name 'tag\\t'"),
    ("set_tags", ("t" * 256,), r"the limit is 255"),
    ("log_artifact", ("a\x00b",), r"invalid artifact path 'a\\x00b'"),
]

# values at the limits, which both backends must store exactly
GOOD_METRICS = [("x" * 255, 1.0, 2**63 - 1), ("é" * 255, -1.0, -(2**63)), ("loss", 1e308, 0),
                ("emoji \U0001f600 ok", math.inf, 1), ("tab-free but spaced ", -math.inf, 2), ("nan", math.nan, 3)]
GOOD_PARAMS = {"n": 2**63, "big": 10**300, "z" * 255: "x\x00y\ud800", "nested": [1, "a", None], "f": 1e-308}


def test_every_bad_value_is_refused_at_the_call_and_the_run_still_stores_the_rest(backend_project):
    with mlnb.start_run("limits") as run:
        run.log_metric("before", 1.0)
        for method, args, message in BAD:
            with pytest.raises(UsageError, match=message) as caught:
                getattr(run, method)(*args)
            assert "\n" not in str(caught.value), str(caught.value)
        run.log_metric("after", 2.0)
    rec = mlnb.runs.get(run.id)
    assert rec.status == "finished" and rec.metrics == {"before": 1.0, "after": 2.0} and rec.params == {}


def test_what_validation_lets_through_is_stored_on_both_backends(backend_project):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no refused row either
        with mlnb.start_run("x" * 255, params=GOOD_PARAMS, tags=["t" * 255, "ünï"]) as run:
            for key, value, step in GOOD_METRICS:
                run.log_metric(key, value, step=step)
    rec = mlnb.runs.get(run.id)
    assert rec.status == "finished" and rec.name == "x" * 255 and sorted(rec.tags) == sorted(["t" * 255, "ünï"])
    for key, value, step in GOOD_METRICS:
        assert rec.history[key]["step"] == [step]
        stored = rec.history[key]["value"][0]
        assert stored == value or math.isnan(stored) and math.isnan(value), (key, stored)
    assert rec.params == {**GOOD_PARAMS, "z" * 255: "x\x00y\ud800"}


def test_a_nul_in_a_run_name_is_refused_before_anything_is_written(backend_project):
    before = len(mlnb.runs.list(limit=1000))
    for name in ("a\x00b", "tab\tname", "x" * 256, "   "):
        with pytest.raises(UsageError, match="invalid run name"):
            mlnb.start_run(name)
    assert len(mlnb.runs.list(limit=1000)) == before and mlnb.active_run() is None


def test_free_text_the_databases_cannot_hold_is_stored_escaped(backend_project):
    with pytest.raises(ValueError):
        with mlnb.start_run("nul", code="print('a\x00b')  # \udcff") as run:
            raise ValueError("bad byte \x00 and \udc80")
    rec = mlnb.runs.get(run.id)
    assert rec.status == "failed" and rec.error == "ValueError: bad byte \\x00 and \\udc80"
    assert rec.code == "print('a\\x00b')  # \\udcff"


def _refuse(project, table: str, column: str, value: str) -> None:
    """Make the real database refuse rows whose ``column`` is ``value`` (a trigger, or a CHECK)."""
    with registry(project).write() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text(f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} WHEN NEW.{column} = '{value}' "
                              "BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END"))
        else:
            conn.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT refuse_{table} CHECK ({column} <> '{value}')"))


def test_a_row_the_database_refuses_costs_only_that_row(backend_project):
    _refuse(backend_project, "run_metrics", "key", "refused")
    _refuse(backend_project, "run_params", "key", "refused_param")
    with pytest.warns(RuntimeWarning) as caught:
        with mlnb.start_run("defence") as run:
            for step in range(5000):
                run.log_metric("loss", step / 5000, step=step)
                if step == 2345:
                    run.log_metric("refused", 1.0, step=step)
            run.log_params({"lr": 0.1, "refused_param": 3})
    messages = [str(w.message) for w in caught if "refused" in str(w.message)]
    assert len(messages) == 1, messages  # reported once
    assert "refused 2 item(s)" in messages[0] and "metric 'refused' at step 2345" in messages[0]
    assert "param 'refused_param'" in messages[0] and "\n" not in messages[0]
    rec = mlnb.runs.get(run.id)
    assert rec.status == "finished" and rec.params == {"lr": 0.1} and "refused" not in rec.metrics
    assert rec.history["loss"]["step"] == list(range(5000))
