"""Alerts in the registry, on SQLite and PostgreSQL: firing → resolved, one firing alert per
(rule, model), cooldowns, "no data" holding state, removed rules resolving. Rules are evaluated
over frames in the report's format (one row per window and metric), given by a reporter."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest

import mlnb
from mlnb.monitor._alerts import alerts
from mlnb.monitor._check import check, evaluate
from mlnb.monitor._rules import Rule

T0 = 1_790_000_000.0  # a fixed "now" for the checks (late 2026)


@pytest.fixture
def project(backend_project):
    return backend_project


def frame(values: dict[str, float], windows: int = 3, band: tuple[float, float] | None = None,
          notes: dict[str, str] | None = None) -> pd.DataFrame:
    """A report frame: ``windows`` daily windows, the last one holding ``values`` (earlier ones 0.9)."""
    rows = []
    for w in range(windows):
        start = pd.Timestamp("2026-11-01", tz="UTC") + pd.Timedelta(days=w)
        for metric, value in values.items():
            latest = w == windows - 1
            v = value if latest else 0.9
            lower, upper = band or (float("nan"), float("nan"))
            rows.append({"window": w, "start": start, "end": start + pd.Timedelta(days=1), "n": 1000,
                         "metric": metric, "value": v, "lower": lower, "upper": upper,
                         "alert": bool(band) and not lower <= v <= upper, "note": (notes or {}).get(metric, "")})
    return pd.DataFrame(rows)


class Reports:
    """A reporter: the frame to return per window, and the windows it was asked for."""

    def __init__(self, **frames: pd.DataFrame) -> None:
        self.frames, self.asked = frames, []

    def __call__(self, model: str, window: str) -> pd.DataFrame:
        self.asked.append(window)
        return self.frames[{"1D": "day", "6h": "hours"}.get(window, window)]


def test_lifecycle_dedup_and_cooldown(project):
    mlnb.monitor.add_rule("accuracy < 0.85", model="churn", window="1D", cooldown="1h", severity="critical")
    mlnb.monitor.add_rule("latency.p99 > 200", model="churn", window="6h")
    bad, good = frame({"accuracy": 0.8}), frame({"accuracy": 0.95})
    fast = frame({"latency.p99": 120.0})

    first = check("churn", now=T0, reporter=Reports(day=bad, hours=fast))
    assert first.exit_code == 1 and [r["state"] for r in first.rows] == ["fired", "ok"]
    again = check("churn", now=T0 + 60, reporter=Reports(day=frame({"accuracy": 0.7}), hours=fast))
    assert [r["state"] for r in again.rows] == ["firing", "ok"] and again.rows[0]["alert"] == first.rows[0]["alert"]

    listed = alerts("churn", all=True).to_dict()
    assert len(listed) == 1  # deduplicated: still one alert, with the latest value seen
    one = listed[0]
    assert (one["status"], one["rule"], one["model"], one["value"], one["threshold"], one["window"],
            one["severity"], one["started_at"]) == ("firing", "churn.accuracy", "churn", 0.7, 0.85, "1D",
                                                     "critical", T0)
    assert one["window_start"] == pd.Timestamp("2026-11-03", tz="UTC").timestamp()

    resolved = check("churn", now=T0 + 120, reporter=Reports(day=good, hours=fast))
    assert resolved.exit_code == 0 and resolved.rows[0]["state"] == "resolved"
    held = check("churn", now=T0 + 120 + 3599, reporter=Reports(day=bad, hours=fast))
    assert held.rows[0]["state"] == "cooldown" and held.exit_code == 0 and "cooldown until" in held.rows[0]["note"]
    refired = check("churn", now=T0 + 120 + 3600, reporter=Reports(day=bad, hours=fast))
    assert refired.rows[0]["state"] == "fired" and refired.rows[0]["alert"] != first.rows[0]["alert"]

    history = alerts("churn", all=True).to_dict()
    assert [(a["status"], a["started_at"], a["resolved_at"]) for a in history] == [
        ("firing", T0 + 3720, None), ("resolved", T0, T0 + 120)]


def test_no_data_holds_state_and_removed_rules_resolve(project):
    mlnb.monitor.add_rule("accuracy < 0.85", model="churn")
    mlnb.monitor.add_rule("drift.share > 0.3", model="churn")
    mlnb.monitor.add_rule("drift.share > 0.3", model="other")
    reports = Reports(day=frame({"accuracy": 0.5, "drift.share": 0.5}))
    assert [r["state"] for r in check("churn", now=T0, reporter=reports).rows] == ["fired", "fired"]
    assert reports.asked == ["1D"]  # one report for the two rules of the same window

    no_labels = frame({"accuracy": float("nan"), "drift.share": 0.5}, notes={"accuracy": "no outcomes yet"})
    held = check("churn", now=T0 + 60, reporter=Reports(day=no_labels))
    assert [(r["state"], r["note"]) for r in held.rows] == [("no data", "no outcomes yet"), ("firing", "")]
    assert held.exit_code == 1

    mlnb.monitor.remove_rule("churn.drift.share")
    after = check("churn", now=T0 + 120, reporter=Reports(day=no_labels))
    assert [r["rule"] for r in after.rows] == ["churn.accuracy"]
    by_rule = {a["rule"]: a for a in alerts("churn", all=True).to_dict()}
    assert by_rule["churn.drift.share"]["status"] == "resolved"
    assert by_rule["churn.drift.share"]["note"] == "its rule was removed"
    assert by_rule["churn.accuracy"]["status"] == "firing"  # still no data: not resolved by silence
    assert alerts("other").to_dict() == []


def test_band_rules_follow_the_report_alert_flag():
    rule = Rule(name="b", model="churn", when="accuracy outside band")
    inside = evaluate([rule], {"1D": frame({"accuracy": 0.9}, band=(0.85, 0.95))})[0]
    outside = evaluate([rule], {"1D": frame({"accuracy": 0.8}, band=(0.85, 0.95))})[0]
    uncalibrated = evaluate([rule], {"1D": frame({"accuracy": 0.8})})[0]
    assert (inside.firing, outside.firing, uncalibrated.firing) == (False, True, None)
    assert (outside.lower, outside.upper) == (0.85, 0.95) and "no calibrated band" in uncalibrated.note
    empty = evaluate([rule], {"1D": frame({}, windows=0).reindex(columns=["window", "metric"])})[0]
    missing = evaluate([rule], {"1D": frame({"rmse": 1.0})})[0]
    assert empty.firing is None and missing.note == "no accuracy in the latest window"


def test_one_firing_alert_per_rule_and_model_is_a_constraint(project):
    from sqlalchemy.exc import IntegrityError

    from mlnb.store import registry
    from mlnb.store._schema import alerts as table

    row = {"rule": "r", "model": "churn", "expression": "accuracy < 0.8", "severity": "warning",
           "window_spec": "1D", "status": "firing", "started_at": T0, "evaluated_at": T0,
           "deliveries": json.dumps([]), "undelivered": 0}
    with registry(project).write() as conn:
        conn.execute(table.insert(), row)
        conn.execute(table.insert(), {**row, "status": "resolved"})
        conn.execute(table.insert(), {**row, "model": "other"})
    with pytest.raises(IntegrityError), registry(project).write() as conn:
        conn.execute(table.insert(), row)


def test_alerts_listing_shows_firing_first_one_line_each(project):
    mlnb.monitor.add_rule("accuracy < 0.85", model="churn")
    mlnb.monitor.add_rule("accuracy < 0.85", model="fraud")
    import time

    now = time.time()
    check("churn", now=now - 60, reporter=Reports(day=frame({"accuracy": 0.5})))
    check("churn", now=now - 30, reporter=Reports(day=frame({"accuracy": 0.95})))
    check("fraud", now=now, reporter=Reports(day=frame({"accuracy": 0.5})))
    listing = alerts()
    assert [(a["model"], a["status"]) for a in listing.to_dict()] == [("fraud", "firing"), ("churn", "resolved")]
    text = str(listing).splitlines()
    assert text[0].startswith("1 alert(s) firing") and len(text) == 5  # title, header, rule, 2 alerts
    assert "<table" in listing._repr_html_()


def test_the_watcher_checks_in_the_background_only_when_there_are_rules(project):
    from mlnb.monitor._check import Watcher

    reports = Reports(day=frame({"accuracy": 0.5}))
    idle = Watcher(project, "churn", 0.02, reporter=reports).start()
    time.sleep(0.2)
    idle.stop()
    assert idle.rounds == 0 and reports.asked == []  # no rules: no report computed

    mlnb.monitor.add_rule("accuracy < 0.85", model="churn")
    watcher = Watcher(project, "churn", 0.02, reporter=reports).start()
    deadline = time.monotonic() + 20
    while watcher.rounds < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    watcher.stop()
    assert watcher.rounds >= 3 and not watcher._thread.is_alive()
    assert [(a["rule"], a["status"]) for a in alerts("churn", all=True).to_dict()] == [("churn.accuracy", "firing")]
