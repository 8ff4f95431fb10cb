"""Kept windows (mlnb/monitor/_window_cache.py): a report read partly from the cache equals the
report computed without it, value for value, after appended predictions, late outcomes for an old
window or for a baseline window, and a new model version; only the windows whose inputs changed
are scored again. And `mlnb monitor check` of an unchanged log imports no numerical library."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

import mlnb
from tests.monitor import _month

DAYS = 6


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory):
    """churn@1 registered with its training data; 6 days of 120 predictions; each day's outcomes
    logged by its own call (so each outcome file holds one day's ids)."""
    with _month.module_project(tmp_path_factory, "wcache") as proj:
        model, X, _ = _month.fit_model()
        mlnb.models.register("churn", model, data=X)
        logged = _month.log_month(model, days=DAYS, per_day=120, shift_day=3, outcomes=False)
        for d in range(DAYS - 1):
            day = logged[logged["day"] == d]
            mlnb.monitor.log_outcomes("churn", day["id"], day["outcome"])
        yield {"project": proj, "logged": logged, "model": model, "X": X}


@pytest.fixture
def scored(monkeypatch):
    """The windows each report scores (not read back from the cache)."""
    from mlnb.monitor import _report

    seen: list[int] = []
    real = _report._score_window
    monkeypatch.setattr(_report, "_score_window", lambda setup, reader, w: seen.append(w.index) or real(setup, reader, w))
    return seen


def _fresh(monkeypatch, fn):
    with monkeypatch.context() as m:
        m.setenv("MLNB_MONITOR_CACHE", "0")
        return fn()


def _same(monkeypatch, scored, **kw):
    """The report with the cache and without it: equal frames and notes; returns (frame, scored)."""
    scored.clear()
    kept = mlnb.monitor.report("churn", **kw)
    windows = sorted(scored)
    plain = _fresh(monkeypatch, lambda: mlnb.monitor.report("churn", **kw))
    pd.testing.assert_frame_equal(kept.to_frame(), plain.to_frame(), check_exact=True)
    assert kept.notes == plain.notes and kept.baseline == plain.baseline
    return kept.to_frame(), windows


def _accuracy(frame, window):
    return frame[(frame["window"] == window) & (frame["metric"] == "accuracy")]["value"].item()


def test_only_changed_windows_are_scored_and_every_report_equals_a_fresh_one(month, monkeypatch, scored):
    from mlnb.monitor._report import latest_report

    _same(monkeypatch, scored)
    frame, windows = _same(monkeypatch, scored)
    assert windows == []  # nothing changed: every window read back

    logged = month["logged"]
    last = logged[logged["day"] == DAYS - 1].head(30)
    mlnb.monitor.log_predictions("churn", last[["x1", "x2", "x3", "plan"]], (last["proba"] > 0.5).astype(int),
                                 ids=last["id"] + "-again", proba=last["proba"], time=last["time"])
    frame, windows = _same(monkeypatch, scored)
    assert windows == [DAYS - 1]  # appended predictions: the latest window only

    old = logged[logged["day"] == 2].head(60)  # late outcomes (flipped) for an old window, not a baseline one
    before = _accuracy(frame, 2)
    mlnb.monitor.log_outcomes("churn", old["id"], 1 - old["outcome"])
    frame, windows = _same(monkeypatch, scored)
    assert windows == [2] and _accuracy(frame, 2) != before

    base = logged[logged["day"] == 0].head(60)  # late outcomes for the baseline window: its fit changes
    mlnb.monitor.log_outcomes("churn", base["id"], 1 - base["outcome"])
    frame, windows = _same(monkeypatch, scored)
    assert windows == list(range(DAYS))

    metrics = {"accuracy", "drift.share", "estimated.accuracy"}
    for _ in range(2):  # the check's report of the latest window: kept apart, equal too
        scored.clear()
        mine = latest_report("churn", "1D", metrics).to_frame()
        windows = sorted(scored)
        plain = _fresh(monkeypatch, lambda: latest_report("churn", "1D", metrics).to_frame())
        pd.testing.assert_frame_equal(mine, plain, check_exact=True)
    assert windows == []

    model, X, _ = _month.fit_model(seed=5)  # a new version: another model and training profile
    assert mlnb.models.register("churn", model, data=X).version == 2
    frame, windows = _same(monkeypatch, scored)
    assert windows == list(range(DAYS))
    _, windows = _same(monkeypatch, scored, window=200)  # row windows are kept too
    assert windows and _same(monkeypatch, scored, window=200)[1] == []


def test_the_cache_keeps_at_most_its_bound(month, monkeypatch, scored):
    from mlnb.monitor import _window_cache

    monkeypatch.setattr(_window_cache, "MAX_ENTRIES", 3)
    _same(monkeypatch, scored, window="12h")
    folder = month["project"].mlnb_dir / "monitor-cache" / "churn" / "windows"
    assert len([p for p in folder.iterdir() if not p.name.endswith(".tmp")]) == 3
    rows = len(list(folder.glob("*.json")))  # the 3 most recently used: windows' rows (the fit may be one)
    _, windows = _same(monkeypatch, scored, window="12h")
    assert rows >= 2 and len(windows) == 2 * DAYS - rows


def test_a_damaged_entry_is_computed_again(month, monkeypatch, scored):
    _same(monkeypatch, scored, window="8h")
    folder = month["project"].mlnb_dir / "monitor-cache" / "churn" / "windows"
    entries = sorted(folder.glob("*.json"))
    entries[0].write_text('{"rows": [')  # torn by hand: what an atomic write never leaves
    _, windows = _same(monkeypatch, scored, window="8h")
    assert len(windows) == 1  # the damaged window only


def test_nothing_in_the_cache_folder_is_run(month, monkeypatch, scored, tmp_path):
    """The cache keeps only JSON: a crafted pickle (or .npy) placed beside its entries, as the
    baseline fit was once kept, is never loaded, and the report still equals a fresh one."""
    import pickle

    _same(monkeypatch, scored, window="6h")
    folder = month["project"].mlnb_dir / "monitor-cache" / "churn" / "windows"
    marker = tmp_path / "ran"

    class Hostile:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    for name in ("0" * 64 + ".fit.pickle", "0" * 64 + ".pickle"):
        (folder / name).write_bytes(pickle.dumps(Hostile()))
    pickle.loads((folder / name).read_bytes())  # the payload works when something does load it
    assert marker.exists()
    marker.unlink()
    _same(monkeypatch, scored, window="6h")
    assert not marker.exists()


def test_a_check_of_an_unchanged_log_imports_no_numerical_library(month):
    mlnb.monitor.add_rule("accuracy < 0.2", model="churn")
    mlnb.monitor.add_rule("drift.share > 0.99", model="churn")
    first = mlnb.monitor.check("churn", send=False).to_dict()["rules"]
    code = ("import sys, json\nfrom mlnb.cli import main\nrc = main(['monitor', 'check', 'churn', '--json'])\n"
            "print(json.dumps(sorted(m for m in ('numpy', 'pandas', 'pyarrow', 'scipy', 'numba', 'ruamel.yaml') "
            "if m in sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=month["project"].root, capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    *out, imported = proc.stdout.strip().splitlines()
    assert json.loads(imported) == []
    rows = json.loads("\n".join(out))["rules"]
    assert [(r["rule"], r["value"]) for r in rows] == [(r["rule"], r["value"]) for r in first]
    assert [r["value"] is None for r in rows] == [True, False]  # no outcomes on the last day yet


@pytest.mark.parametrize("window", ["1D", "12h", "5h"])
def test_windows_planned_from_kept_counts_are_the_readers(month, window):
    """The windows of a plan made from each file's kept counts equal the reader's plan (which reads
    every time), before and after a new file (this test runs last: it logs a new file), with and without a start bound."""
    from mlnb.monitor import _window_cache
    from mlnb.monitor._log import predictions_dir
    from mlnb.monitor._windows import LogReader, parse_window

    project, spec = month["project"], parse_window(window)
    folder = predictions_dir(project, "churn")
    for start in (None, month["logged"]["time"].iloc[200].timestamp()):
        for _ in range(2):  # computed, then from the kept counts
            reader = LogReader(folder, start)
            assert _window_cache.plan(project, "churn", reader, spec) == reader.plan(spec)
    one = month["logged"].iloc[[5]]
    mlnb.monitor.log_predictions("churn", one[["x1", "x2", "x3", "plan"]], [1], ids=["planned-1"], proba=[0.7],
                                 time=one["time"] + pd.Timedelta(days=DAYS + 2))  # a window after an empty one
    reader = LogReader(folder)
    assert _window_cache.plan(project, "churn", reader, spec) == reader.plan(spec)
