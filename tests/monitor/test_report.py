"""mlnb.monitor.report over a simulated month (tests/monitor/_month.py): the frame's contract,
estimated performance tracking realized performance through a covariate shift, drift against
the profile kept at registration, windows, thresholds, display, CLI and bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import mlnb
from mlnb.errors import MlnbError, NotFound, UsageError
from tests.conftest import run_cli
from tests.monitor import _month

LABELLED_DAYS = 27  # the last 3 days have no outcomes yet


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory):
    """One project for the module: churn@1 registered with its training data, a month logged."""
    with _month.module_project(tmp_path_factory, "month") as proj:
        model, X, y = _month.fit_model()
        mlnb.models.register("churn", model, data=X)
        logged = _month.log_month(model, outcomes=False)
        labelled = logged[logged["day"] < LABELLED_DAYS]
        mlnb.monitor.log_outcomes("churn", labelled["id"], labelled["outcome"])
        yield {"project": proj, "model": model, "X": X, "logged": logged}


@pytest.fixture(scope="module")
def daily(month):
    return mlnb.monitor.report("churn", window="1D")


def _wide(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.pivot(index="window", columns="metric", values="value")


def test_frame_is_one_row_per_window_and_metric_with_the_contract_columns(daily, month):
    frame = daily.to_frame()
    assert list(frame.columns) == ["window", "start", "end", "n", "metric", "value", "lower", "upper", "alert", "note"]
    assert str(frame["start"].dt.tz) == "UTC" and str(frame["end"].dt.tz) == "UTC"
    assert frame["window"].dtype == np.int64 and frame["n"].dtype == np.int64 and frame["alert"].dtype == bool
    assert {str(frame[c].dtype) for c in ("value", "lower", "upper")} == {"float64"}
    assert not frame.duplicated(["window", "metric"]).any()
    per_window = frame.groupby("window")["n"].first()
    assert per_window.index.tolist() == list(range(30)) and (per_window == 400).all()
    assert (frame.groupby("window")["start"].first().diff().dropna() == pd.Timedelta(days=1)).all()
    assert frame["start"].min() == _month.DAY0
    metrics = set(frame["metric"])
    for m in ["accuracy", "precision", "recall", "f1", "roc_auc", "estimated.accuracy", "estimated.roc_auc.lower",
              "estimated.roc_auc.upper", "prediction.drift", "drift.share", "drift.x1", "drift.plan", "missing.x3",
              "schema.failures", "latency.p50", "latency.p99", "error_rate"]:
        assert m in metrics, m
    assert not metrics & {"mae", "rmse", "r2"}  # a classifier: inferred from its probabilities
    # realized accuracy is the share of correct predictions among the window's outcomes
    logged = month["logged"]
    day3 = logged[logged["day"] == 3]
    assert _wide(frame).loc[3, "accuracy"] == pytest.approx(((day3["proba"] > 0.5) == day3["outcome"]).mean())
    alerts = daily.alerts
    assert alerts.equals(frame[frame["alert"]].reset_index(drop=True)) and len(alerts)


def test_windows_without_outcomes_say_so_and_keep_their_estimate(daily):
    frame = daily.to_frame()
    late = frame[(frame["window"] >= LABELLED_DAYS) & (frame["metric"] == "accuracy")]
    assert late["value"].isna().all() and (late["note"] == "no outcomes in this window yet").all()
    assert not late["alert"].any()
    estimate = frame[(frame["window"] >= LABELLED_DAYS) & (frame["metric"] == "estimated.accuracy")]
    assert estimate["value"].notna().all()


def test_estimate_tracks_realized_within_its_interval_through_a_covariate_shift(daily):
    wide = _wide(daily.to_frame()).loc[: LABELLED_DAYS - 1]
    inside = {}
    for m in ["accuracy", "precision", "recall", "f1", "roc_auc"]:
        lo, hi = wide[f"estimated.{m}.lower"], wide[f"estimated.{m}.upper"]
        inside[m] = int(((wide[m] >= lo) & (wide[m] <= hi)).sum())
    print("windows with realized inside the estimate's interval, of", len(wide), inside)
    assert all(count >= 0.85 * len(wide) for count in inside.values()), inside
    before, after = wide.loc[:14], wide.loc[15:]
    # the shift is real: accuracy fell by far more than the interval's half-width, and the estimate saw it
    assert before["accuracy"].mean() - after["accuracy"].mean() > 0.1
    assert before["estimated.accuracy"].mean() - after["estimated.accuracy"].mean() > 0.1
    half = (wide["estimated.accuracy.upper"] - wide["estimated.accuracy"]).mean()
    assert 0.01 < half < 0.1
    assert (abs(wide["estimated.accuracy"] - wide["accuracy"]) < 0.06).mean() > 0.85


def test_features_drift_against_the_kept_training_profile_without_refitting_it(month, monkeypatch):
    import mlnb.checks._profile as profiles

    fitted = []
    real = profiles.profile
    monkeypatch.setattr(profiles, "profile", lambda ref, *a, **k: fitted.append(list(ref.columns)) or real(ref, *a, **k))
    monkeypatch.setattr(mlnb.checks, "profile", profiles.profile)
    report = mlnb.monitor.report("churn", window="1D", baseline=3)
    assert not [cols for cols in fitted if any(c in ("x1", "x2", "x3", "plan") for c in cols)]
    assert "features compared with the training profile of churn@1" in report.notes
    wide = _wide(report.to_frame())
    alert = report.to_frame().pivot(index="window", columns="metric", values="alert")
    assert alert.loc[15:, "drift.x1"].all() and alert.loc[:14, "drift.x1"].sum() <= 1
    assert alert["drift.x2"].sum() <= 2 and not alert["missing.x1"].any()
    assert (wide.loc[15:, "drift.share"] >= 0.25).all()
    assert alert.loc[15:, "prediction.drift"].all() and alert.loc[:14, "prediction.drift"].sum() <= 1


def test_row_count_windows_hold_exactly_their_rows(month):
    report = mlnb.monitor.report("churn", window=7000)
    assert [w.n for w in report.windows] == [7000, 5000]
    assert report.to_frame().groupby("window")["n"].first().tolist() == [7000, 5000]
    times = mlnb.monitor.read_log("churn", [], outcomes=False)["time"]
    assert report.windows[1].start == times.iloc[7000] and report.windows[0].start == times.iloc[0]
    frame = mlnb.monitor.report("churn", window="1000", baseline=None).to_frame()
    assert frame.groupby("window")["n"].first().tolist() == [1000] * 12


def test_windows_too_small_for_a_statistic_say_so_instead_of_noise(month):
    frame = mlnb.monitor.report("churn", window=20, start="2026-10-02", end="2026-10-02 12:00", baseline=None).to_frame()
    assert len(frame["window"].unique()) >= 9
    small = frame[frame["n"] < 30]
    for metric, note in [("accuracy", "outcomes in this window (< 30): not computed"),
                         ("drift.x1", "rows (< 30): drift not computed"),
                         ("estimated.accuracy", "no estimated performance: give baseline=")]:
        rows = small[small["metric"] == metric]
        assert len(rows) and rows["value"].isna().all() and rows["note"].str.contains(note, regex=False).all(), metric
    assert not small["alert"].any()


def test_static_and_calibrated_thresholds(month):
    report = mlnb.monitor.report("churn", window="1D", baseline=10,
                                 thresholds={"accuracy": (0.8, None), "latency.p99": (None, 250)})
    frame = report.to_frame()
    acc = frame[frame["metric"] == "accuracy"]
    assert (acc["lower"] == 0.8).all() and acc["upper"].isna().all()
    assert acc["alert"].tolist() == (acc["value"] < 0.8).tolist() and acc["alert"].sum() >= 10
    f1 = frame[frame["metric"] == "f1"]
    base = f1[f1["window"] < 10]["value"]
    lo, hi = base.mean() - 3 * base.std(ddof=1), base.mean() + 3 * base.std(ddof=1)
    assert f1["lower"].tolist() == pytest.approx([lo] * 30) and f1["upper"].tolist() == pytest.approx([hi] * 30)
    assert f1["alert"].tolist() == ((f1["value"] < lo) | (f1["value"] > hi)).tolist()
    est = frame[frame["metric"] == "estimated.f1"]  # the estimate's own band, from its baseline values
    base = est[est["window"] < 10]["value"]
    assert est["lower"].tolist() == pytest.approx([base.mean() - 3 * base.std(ddof=1)] * 30)
    assert est["alert"].sum() >= 12
    assert report.verdict.startswith("ALERT in the latest window") and "accuracy" in report.verdict
    assert report.exit_code == 1


def test_a_reference_frame_with_outcomes_calibrates_the_estimate(month):
    rng = np.random.default_rng(7)
    ref = _month.inputs(3000, rng)
    ref["outcome"] = _month.labels(ref, rng)
    ref["proba"] = month["model"].predict_proba(_month._design(ref))[:, 1]
    ref["prediction"] = (ref["proba"] > 0.5).astype(int)
    report = mlnb.monitor.report("churn", window="1D", reference=ref, baseline=None)
    assert "estimated performance calibrated on the given reference (3,000 rows with outcomes)" in report.notes
    wide = _wide(report.to_frame())
    assert wide["estimated.accuracy"].notna().all() and wide["prediction.drift"].notna().all()
    assert wide["accuracy"].sub(wide["estimated.accuracy"]).abs().loc[: LABELLED_DAYS - 1].max() < 0.1


def test_serve_logs_give_latency_and_schema_failures(project):
    """Rows written the way mlnb serve writes them (prediction_frame + write_partitioned, with
    latencies); a window holding nulls where the signature allows none counts them."""
    from sklearn.linear_model import LinearRegression

    from mlnb.monitor._log import prediction_frame, predictions_dir, write_partitioned

    rng = np.random.default_rng(3)
    X = pd.DataFrame({"a": rng.normal(size=600), "b": rng.normal(size=600)})
    y = 3 * X["a"] - X["b"] + rng.normal(0, 0.1, 600)
    model = LinearRegression().fit(X, y)
    mlnb.models.register("price", model, data=X)
    day = pd.Timestamp("2026-11-02", tz="UTC").timestamp()
    latency = np.concatenate([rng.uniform(1, 5, 300), rng.uniform(1, 5, 290), np.full(10, 900.0)])
    Xlog = X.copy()
    Xlog.loc[:4, "a"] = np.nan  # 5 nulls in a column the signature says has none
    pred = model.predict(X)
    table = prediction_frame("price", Xlog, pred, ids=[str(i) for i in range(600)], request_id="r", at=day + np.arange(600.0),
                             version=1, arm="main", latency_ms=latency)
    write_partitioned(predictions_dir(project, "price"), table)
    mlnb.monitor.log_outcomes("price", [str(i) for i in range(600)], y)
    frame = mlnb.monitor.report("price", window="1D").to_frame()
    value = dict(zip(frame["metric"], frame["value"]))
    assert value["latency.p50"] == pytest.approx(np.percentile(latency, 50))
    assert value["latency.p99"] == pytest.approx(np.percentile(latency, 99)) and value["latency.p99"] > 500
    assert value["schema.failures"] == 5
    assert frame.set_index("metric").loc["schema.failures", "alert"]
    assert "a:not_null" in frame.set_index("metric").loc["schema.failures", "note"]
    from sklearn.metrics import mean_absolute_error, r2_score

    assert value["mae"] == pytest.approx(mean_absolute_error(y, pred)) and value["r2"] == pytest.approx(r2_score(y, pred))
    assert value["rmse"] == pytest.approx(math.sqrt(np.mean((y - pred) ** 2)))
    assert "accuracy" not in value and not any(m.startswith("estimated.") for m in value)


def test_a_report_reads_one_window_of_columns_at_a_time(month, monkeypatch):
    from mlnb.monitor._windows import LogReader

    sizes = []
    real = LogReader.table

    def spy(self, columns, start=None, end=None):  # type: ignore[no-untyped-def]
        table = real(self, columns, start, end)
        if set(columns) - {"time"}:
            sizes.append(table.num_rows)
        return table

    monkeypatch.setattr(LogReader, "table", spy)
    mlnb.monitor.report("churn", window="1D", baseline=None)
    assert sizes and max(sizes) == 400


def test_display_opens_with_the_verdict_then_charts(daily):
    page = daily._repr_html_()
    assert page.index(daily.verdict[:40]) < page.index("<svg")
    spec = daily.chart().to_dict()
    text = json.dumps(spec)
    layers = spec["vconcat"][0]["spec"]["layer"]
    marks = [layer["mark"]["type"] for layer in layers]
    assert marks == ["area", "area", "line", "point"]  # band, estimate's interval, values, alert marks
    assert layers[3]["transform"] == [{"filter": "datum.alert"}]
    heat = spec["vconcat"][1]
    cells = heat["layer"][0]["encoding"]
    assert heat["title"].startswith("Feature drift")
    assert (cells["x"]["field"], cells["y"]["field"], cells["color"]["field"]) == ("window", "feature", "score")
    assert len(text) < 200_000  # pre-aggregated: windows x metrics, never rows


def test_bad_input_is_one_clear_line(month):
    for call, error, message in [
        (lambda: mlnb.monitor.report("churn", window="daily"), UsageError, "window 'daily' does not parse"),
        (lambda: mlnb.monitor.report("churn", window=0), UsageError, "at least 1 row"),
        (lambda: mlnb.monitor.report("nolog"), NotFound, "model nolog has no prediction log"),
        (lambda: mlnb.monitor.report("churn", baseline="first"), UsageError, "baseline='first'"),
        (lambda: mlnb.monitor.report("churn", thresholds={"accuracy": 0.8}), UsageError, "give (lower, upper)"),
        (lambda: mlnb.monitor.report("churn", task="ranking"), UsageError, "unknown task 'ranking'"),
        (lambda: mlnb.monitor.report("churn", reference=42), UsageError, "reference=int"),
        (lambda: mlnb.monitor.report("churn", start="2030-01-01"), NotFound, "no rows between"),
    ]:
        with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
            call()
        assert "\n" not in str(info.value) and isinstance(info.value, MlnbError)


def test_cli_report_json_html_and_exit_codes(month, tmp_path):
    root = month["project"].root
    proc = run_cli("monitor", "report", "churn", "--window", "1D", "--json", "--html", str(tmp_path / "r.html"), cwd=root)
    assert proc.returncode == 1, proc.stderr  # the latest window alerts (accuracy fell)
    out = json.loads(proc.stdout)
    assert out["model"] == "churn" and len(out["windows"]) == 30 and out["verdict"].startswith("ALERT")
    assert {"window", "start", "end", "n", "metric", "value", "lower", "upper", "alert", "note"} == set(out["rows"][0])
    assert "<svg" in (tmp_path / "r.html").read_text() or "vegaEmbed" in (tmp_path / "r.html").read_text()
    bad = run_cli("monitor", "report", "churn", "--window", "soon", cwd=root)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "does not parse" in bad.stderr


def test_terminal_text_is_the_verdict_and_the_latest_window(daily):
    text = str(daily)
    assert text.startswith(daily.verdict) and "latest window (29)" in text and "estimated.accuracy" in text


def test_per_row_epoch_seconds_are_seconds(project):
    """log_predictions(time=array of numbers) reads them as epoch seconds, as one number is read."""
    X = pd.DataFrame({"a": [1.0, 2.0]})
    mlnb.monitor.log_predictions("m", X, [0, 1], ids=["a", "b"], time=np.array([1_790_000_000.0, 1_790_000_060.0]))
    assert mlnb.monitor.read_log("m", [], outcomes=False)["time"].tolist() == [1_790_000_000.0, 1_790_000_060.0]


def test_the_magic_is_the_same_verb(month, ipython, capsys):
    capsys.readouterr()
    ipython.run_line_magic("mlops", "monitor report churn --window 10000 --baseline none --json")
    out = json.loads(capsys.readouterr().out)
    assert out["window"] == "10000 rows" and [w["n"] for w in out["windows"]] == [10000, 2000]


def test_the_calibration_is_scikit_learns_isotonic_regression():
    from sklearn.isotonic import IsotonicRegression

    from mlnb.monitor._cbpe import isotonic

    rng = np.random.default_rng(0)
    x = np.round(rng.random(3000), 3)  # ties included (and already at the fit's resolution)
    y = (rng.random(3000) < x ** 2).astype(float)
    ux, fitted = isotonic(x, y)
    at = np.linspace(-0.1, 1.1, 500)
    expected = IsotonicRegression(out_of_bounds="clip").fit(x, y).predict(at)
    np.testing.assert_allclose(np.interp(at, ux, fitted), expected, atol=1e-12)


def test_empty_period_windows_are_kept_and_an_unregistered_model_says_what_is_missing(project):
    X = pd.DataFrame({"a": np.random.default_rng(0).normal(size=200)})
    days = [pd.Timestamp("2026-11-01", tz="UTC")] * 100 + [pd.Timestamp("2026-11-04", tz="UTC")] * 100
    mlnb.monitor.log_predictions("g", X, (X["a"] > 0).astype(int), ids=range(200), time=days)
    mlnb.monitor.log_outcomes("g", range(200), (X["a"] > 0.1).astype(int))
    frame = mlnb.monitor.report("g", window="1D").to_frame()
    assert frame.groupby("window")["n"].first().tolist() == [100, 0, 0, 100]
    gap = frame[frame["window"] == 1].set_index("metric")
    assert gap["value"].isna().all() and gap.loc["accuracy", "note"] == "no rows in this window"
    assert gap.loc["drift.a", "note"].startswith("no training profile: g is not registered")
    last = frame[frame["window"] == 3].set_index("metric")
    assert last.loc["accuracy", "value"] == pytest.approx(((X["a"] > 0) == (X["a"] > 0.1))[100:].mean())
