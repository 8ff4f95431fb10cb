"""The report's fast paths give what the plain, per-window computation gives, value for value:
outcomes joined on 64-bit codes of the ids (with shared codes forced, the exact string join takes
over), each window scored from Arrow columns against the kept profile, and `monitor check`'s
report of the latest window only (and of only the metrics its rules name)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import mlnb
from tests.monitor import _month

DAYS = 8


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory):
    """churn@1 registered with its training data; 8 days of 150 predictions, outcomes for most
    of them, some twice (the later one wins) and some for ids never logged."""
    with _month.module_project(tmp_path_factory, "fast") as proj:
        model, X, _ = _month.fit_model()
        mlnb.models.register("churn", model, data=X)
        logged = _month.log_month(model, days=DAYS, per_day=150, shift_day=5, outcomes=False)
        labelled = logged[logged["day"] < DAYS - 1].sample(frac=0.9, random_state=0)
        mlnb.monitor.log_outcomes("churn", labelled["id"], labelled["outcome"], time=1_700_000_000)
        again = labelled.iloc[:100]  # a later outcome replaces the first one
        mlnb.monitor.log_outcomes("churn", again["id"], 1 - again["outcome"], time=1_700_000_100)
        mlnb.monitor.log_outcomes("churn", ["never-logged"], [1], time=1_700_000_100)
        yield {"project": proj, "logged": logged}


def _string_join(outcomes: pd.DataFrame, ids: pd.Series) -> np.ndarray:
    """The plain join: latest outcome per id (stable by time), looked up by the id's text."""
    latest = outcomes.sort_values("time", kind="stable").drop_duplicates("id", keep="last")
    at = pd.Index(latest["id"].astype(str)).get_indexer(ids.astype(str))
    out = latest["outcome"].to_numpy(dtype=float)[np.maximum(at, 0)]
    out[at < 0] = np.nan
    return out


def test_codes_join_equals_the_string_join_even_when_codes_collide(monkeypatch):
    from mlnb.monitor import _join

    rng = np.random.default_rng(0)
    ids = [f"{rng.integers(1e9)}-{i}" if i % 7 else f"é{i}∂" for i in range(3000)] + ["", "x" * 300]
    outcomes = pd.DataFrame({"id": ids + ids[:500], "outcome": rng.integers(0, 2, len(ids) + 500).astype(float),
                             "time": np.r_[np.zeros(len(ids)), np.ones(500)]})
    asked = pd.Series(ids[::3] + ["unknown", "7-7"] + ids[-2:])
    want = _string_join(outcomes, asked)

    codes = _join.codes(pa.array(ids))
    assert len(np.unique(codes)) == len(set(ids))  # distinct ids, distinct codes here
    assert np.array_equal(_join.codes(pa.chunked_array([ids[:10], ids[10:]], pa.large_string())), codes)
    index = _join.OutcomeIndex(pa.Table.from_pandas(outcomes, preserve_index=False))
    assert np.array_equal(index.lookup(pa.array(asked)), want, equal_nan=True) and index.fallbacks == 0

    # every id shares its code with every other id of its length: the matches fail their check
    monkeypatch.setattr(_join, "codes", lambda a: np.asarray(pa.compute.utf8_length(a), dtype=np.uint64))
    index = _join.OutcomeIndex(pa.Table.from_pandas(outcomes, preserve_index=False))
    assert np.array_equal(index.lookup(pa.array(asked)), want, equal_nan=True)
    assert index.fallbacks == 1


def test_each_window_equals_the_plain_per_window_computation(small):
    """Per window: realized metrics from the string join, and drift from mlnb.checks scoring the
    window's pandas frame against the kept profile, equal the report's rows exactly."""
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    from mlnb.checks._drift import DriftConfig, score
    from mlnb.monitor._log import read_log, read_outcomes

    report = mlnb.monitor.report("churn", window="1D")
    wide = report.to_frame().pivot(index="window", columns="metric", values="value")
    note = report.to_frame().pivot(index="window", columns="metric", values="note")
    log = read_log("churn", None, outcomes=False)
    outcome = _string_join(pd.concat([read_outcomes("churn").assign(time=0.0)]), log["id"])
    profile = _kept_profile()
    for w in report.windows:
        rows = (log["time"] >= w.start) & (log["time"] < w.end)
        y, pred, p = outcome[rows], log.loc[rows, "prediction"].to_numpy(float), log.loc[rows, "proba"].to_numpy()
        known = ~np.isnan(y)
        if known.sum() >= 30:
            assert wide.loc[w.index, "accuracy"] == pytest.approx(accuracy_score(y[known], pred[known]), abs=1e-15)
            assert wide.loc[w.index, "f1"] == pytest.approx(f1_score(y[known], pred[known]), abs=1e-15)
            assert wide.loc[w.index, "roc_auc"] == pytest.approx(roc_auc_score(y[known], p[known]), abs=1e-12)
        else:
            assert np.isnan(wide.loc[w.index, "accuracy"])
        window = log.loc[rows, [c for c in log.columns if c.startswith("feature.")]]
        window.columns = [c.removeprefix("feature.") for c in window.columns]
        exact = score(profile, window, columns=list(window.columns), config=DriftConfig(min_rows=30))
        assert wide.loc[w.index, "drift.share"] == exact.share
        for r in exact.rows:
            assert wide.loc[w.index, f"drift.{r['column']}"] == r["score"] or np.isnan(r["score"])
            assert note.loc[w.index, f"drift.{r['column']}"].startswith(f"{r['metric']} (threshold")
    assert (wide.loc[5:, "drift.x1"] > wide.loc[:4, "drift.x1"].max()).all()  # the shift is seen


def _kept_profile():
    from types import SimpleNamespace

    from mlnb._project import current_project
    from mlnb.models import _files
    from mlnb.monitor._report import _version

    version = _version("churn")
    cached = SimpleNamespace(md5=version.profile_md5, ref="churn profile", is_dir=False)
    return mlnb.checks.load_profile(_files.local_path(current_project(), cached))


@pytest.mark.parametrize("metrics", [None, ["accuracy", "estimated.f1"], ["drift.share", "latency.p99"]])
def test_the_latest_window_report_equals_the_whole_reports_latest_rows(small, metrics, monkeypatch):
    from mlnb.monitor._report import groups_of, latest_report
    from mlnb.monitor._windows import LogReader

    monkeypatch.setenv("MLNB_MONITOR_CACHE", "0")  # the plain computation reads only these windows
    whole = mlnb.monitor.report("churn", window="1D").to_frame()
    read = []
    real = LogReader.read
    monkeypatch.setattr(LogReader, "read", lambda self, w, cols, rows: read.append((w.index, tuple(cols))) or
                        real(self, w, cols, rows))
    part = latest_report("churn", "1D", metrics).to_frame()
    last = whole["window"].max()
    assert part["window"].max() == last
    assert {i for i, _ in read} == {0, 1, last}  # the baseline (first quarter) and the latest window
    if metrics is not None and "drift" not in groups_of(metrics):
        assert not any(c.startswith("feature.") for _, cols in read for c in cols)
    mine = part[part["window"] == last].reset_index(drop=True)
    theirs = whole[(whole["window"] == last) & whole["metric"].isin(mine["metric"])].reset_index(drop=True)
    assert metrics is None or set(metrics) <= set(mine["metric"])
    assert metrics is not None or len(mine) == (whole["window"] == last).sum()
    pd.testing.assert_frame_equal(mine, theirs, check_exact=True)


def test_check_reads_only_what_its_rules_need(small, monkeypatch):
    from mlnb.monitor._windows import LogReader

    for rule in ("accuracy < 0.5", "estimated.accuracy < 0.5", "drift.share > 0.9"):
        mlnb.monitor.add_rule(rule, model="churn")
    read = []
    real = LogReader.read
    monkeypatch.setattr(LogReader, "read", lambda self, w, cols, rows: read.append(w.index) or real(self, w, cols, rows))
    result = mlnb.monitor.check("churn", send=False)
    assert set(read) == {0, 1, DAYS - 1}
    whole = mlnb.monitor.report("churn", window="1D").to_frame()
    latest = whole[whole["window"] == DAYS - 1].set_index("metric")["value"]
    assert [r["value"] for r in result.rows][1:] == [latest["estimated.accuracy"], latest["drift.share"]]
    assert result.rows[0]["value"] is None and result.rows[0]["state"] == "no data"  # no outcomes on the last day


def test_a_check_of_an_unchanged_log_reads_nothing_and_a_new_batch_is_read(small, monkeypatch):
    """The latest window is kept until an input changes: a second check reads no window and gives
    the same rows; a new prediction file makes the next check compute it again, equal to a report
    computed without any cache."""
    from mlnb.monitor._check import _latest_window
    from mlnb.monitor._latest import LatestWindow
    from mlnb.monitor._report import latest_report
    from mlnb.monitor._windows import LogReader

    from mlnb.monitor._rules import load_rules

    if not any(r.when == "drift.share > 0.9" for r in load_rules(small["project"].root, "churn")):
        mlnb.monitor.add_rule("drift.share > 0.9", model="churn")
    read = []
    real = LogReader.read
    monkeypatch.setattr(LogReader, "read", lambda self, w, cols, rows: read.append(w.index) or real(self, w, cols, rows))
    first = mlnb.monitor.check("churn", send=False)
    read.clear()
    again = mlnb.monitor.check("churn", send=False)
    assert read == [] and [r["value"] for r in again.rows] == [r["value"] for r in first.rows]
    kept = _latest_window("churn", "1D", {"drift.share"})
    same = LatestWindow.from_frame(latest_report("churn", "1D", {"drift.share"}).to_frame())
    assert kept.to_json() == same.to_json()  # every value exactly (NaN compared as NaN)

    logged = small["logged"]
    batch = logged[logged["day"] == DAYS - 1].head(40)
    features = batch[["x1", "x2", "x3", "plan"]].assign(x1=batch["x1"] * 3)
    mlnb.monitor.log_predictions("churn", features, (batch["proba"] > 0.5).astype(int), ids=batch["id"] + "-again",
                                 proba=batch["proba"], time=batch["time"] + pd.Timedelta(seconds=1))
    read.clear()
    fresh = _latest_window("churn", "1D", {"drift.share"})
    assert DAYS - 1 in read  # computed again
    same = LatestWindow.from_frame(latest_report("churn", "1D", {"drift.share"}).to_frame())
    assert fresh.to_json() == same.to_json() and fresh.n == kept.n + 40
