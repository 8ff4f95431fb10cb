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
    # in log order, each answer's next row is tried first: taken only where it is its id's latest
    # (the first 500 rows are not: their ids came again later), never where it is a stale copy
    in_order = pd.Series(ids[:700] + ids[200:260] + ids[:3])
    assert np.array_equal(index.lookup(pa.array(in_order)), _string_join(outcomes, in_order), equal_nan=True)
    assert index.fallbacks == 0

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


@pytest.mark.parametrize("strict", [False, True])
def test_schema_failures_counted_on_arrow_equal_the_schema_checks(strict):
    """The window's structure failures counted on its Arrow columns (nulls and NaNs of columns
    that may hold none) are what Schema.validate finds on the pandas frame; outside that reach
    (another dtype, a missing column, an extra one under strict) the plain check answers."""
    from mlnb.checks import Schema
    from mlnb.monitor._schema_fast import structure_failures

    table = pa.table({"time": [1.0, 2.0, 3.0, 4.0], "feature.a": pa.array([1.0, None, np.nan, 2.0]),
                      "feature.b": pa.array([1, 2, 3, 4]), "feature.c": pa.array([np.nan, 1.0, 1.0, 1.0], pa.float32()),
                      "feature.d": pa.array([None, 0.5, 0.5, 0.5])})
    inputs = table.select([c for c in table.column_names if c.startswith("feature.")]).to_pandas()
    inputs.columns = [c.removeprefix("feature.") for c in inputs.columns]

    def plain(columns: dict) -> tuple[int, list[str]]:
        result = Schema.from_dict({"strict": strict, "columns": columns}).validate(inputs)
        return result.n_failures, sorted(f"{c['column']}:{c['check']}" for c in result.failed_checks)

    cases = [{"a": {"dtype": "float", "nullable": False}, "b": {"dtype": "int", "nullable": False},
              "c": {"dtype": "float", "nullable": False}, "d": {"dtype": "float", "nullable": True}},
             {"a": {"dtype": "float", "nullable": True}, "b": {"dtype": "int"}, "c": {"dtype": "float"},
              "d": {"dtype": "float", "nullable": False}}]
    for columns in cases:
        fast = structure_failures({"strict": strict}, columns, table, "feature.")
        assert fast is not None and (fast[0], sorted(fast[1])) == plain(columns)
    assert cases[0] and structure_failures({"strict": strict}, cases[0], table, "feature.")[0] == 3
    outside = [{**cases[0], "b": {"dtype": "float", "nullable": False}},  # an int column said to be float
               {**cases[0], "e": {"dtype": "float"}},                      # a column the window lacks
               {"a": {"dtype": "string"}}]
    for columns in outside:
        assert structure_failures({"strict": strict}, columns, table, "feature.") is None
    if strict:  # columns the signature lacks
        assert structure_failures({"strict": True}, {"a": cases[0]["a"]}, table, "feature.") is None


def test_period_windows_planned_from_file_footers_equal_those_planned_from_every_time(small, monkeypatch):
    """Files whose footer puts all their rows in one period are counted without being read; the
    windows equal those planned from every row's time, with bounds or without."""
    from mlnb._project import current_project
    from mlnb.monitor._log import predictions_dir
    from mlnb.monitor._windows import LogReader, Window, parse_window

    folder = predictions_dir(current_project(), "churn")

    def from_every_time(reader: LogReader, p: float) -> list[Window]:
        times = reader.table(["time"]).column("time").to_numpy()
        first = np.floor(times.min() / p)
        counts = np.bincount((np.floor(times / p) - first).astype(np.int64))
        return [Window(i, (first + i) * p, (first + i + 1) * p, int(c)) for i, c in enumerate(counts)]

    t0 = LogReader(folder).table(["time"]).column("time").to_numpy().min()
    for bounds in [(None, None), (t0 + 86_400 * 1.5, None), (None, t0 + 86_400 * 4.25)]:
        for spec in ("1D", "6h", "2D", "1W"):
            reader = LogReader(folder, *bounds)
            planned = reader.plan(parse_window(spec))
            assert planned == from_every_time(LogReader(folder, *bounds), parse_window(spec).period)
    import pyarrow.dataset as pads

    read: list[str] = []
    real = pads.dataset
    monkeypatch.setattr(pads, "dataset", lambda files, *a, **k: read.extend(files) or real(files, *a, **k))
    assert LogReader(folder).plan(parse_window("1D")) and read == []  # one file per day: only footers read
    assert LogReader(folder).plan(parse_window("6h")) and len(read) == len(LogReader(folder).files)


def test_a_window_reads_only_the_files_that_hold_its_times(small, monkeypatch, tmp_path):
    """A day's window opens its day's file only (footers rule the neighbours out), and a time
    just before midnight that pandas filed under the next day is still in its window."""
    import pyarrow.dataset as pads

    from mlnb._project import current_project
    from mlnb.monitor._log import predictions_dir, write_partitioned
    from mlnb.monitor._windows import LogReader, parse_window

    reader = LogReader(predictions_dir(current_project(), "churn"))
    opened: list[str] = []
    real = pads.dataset
    monkeypatch.setattr(pads, "dataset", lambda files, *a, **k: opened.extend(files) or real(files, *a, **k))
    for w in reader.plan(parse_window("1D")):
        opened.clear()
        frame = reader.read(w, ["x1"], False)
        day = pd.Timestamp(w.start, unit="s").strftime("date=%Y-%m-%d")
        assert len(frame) == w.n and sorted(opened) == sorted(str(f) for f in reader.files if f.parent.name == day)

    midnight = 1_790_294_400.0
    edge = np.nextafter(midnight, 0)  # 09-24 by its value; pandas rounds it to 09-25 00:00 in ns
    times = np.array([midnight - 10, edge, midnight, midnight + 10])
    write_partitioned(tmp_path / "log", pd.DataFrame({"time": times, "shadow": False, "x": np.arange(4.0)}))
    assert sorted(p.name for p in (tmp_path / "log").iterdir()) == ["date=2026-09-24", "date=2026-09-25"]
    assert len(list((tmp_path / "log" / "date=2026-09-25").iterdir())) == 1  # the edge time is filed there
    reader = LogReader(tmp_path / "log")
    windows = reader.plan(parse_window("1D"))
    assert [w.n for w in windows] == [2, 2]
    assert reader.read(windows[0], ["x"], False)["x"].tolist() == [0.0, 1.0]
    assert reader.read(windows[1], ["x"], False)["x"].tolist() == [2.0, 3.0]
