"""Drift verdicts that must not mislead: identifier-like columns, and columns added or removed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import mlnb
from mlnb.errors import UsageError
from tests.conftest import run_cli

N = 500


def _frames(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def frame(offset: int, label: str) -> pd.DataFrame:
        return pd.DataFrame({
            "user": [f"{label}{i:05d}" for i in range(N)],             # a unique string key
            "row": np.arange(offset, offset + N),                      # a row number
            "amount": rng.choice(10**7, N, replace=False),             # unique whole numbers, widely spread
            "x": rng.normal(size=N),                                   # continuous: distinct by nature
            "plan": rng.choice(["basic", "pro"], N),
        })

    return frame(0, "u"), frame(N, "v")


def _rows(report) -> dict[str, dict]:
    return {r["column"]: r for r in report.rows}


def test_identifier_like_columns_are_not_tested_and_say_why():
    ref, cur = _frames()
    report = mlnb.checks.drift(ref, cur)
    rows = _rows(report)
    assert report.not_tested == ["user", "row"]
    for name in ("user", "row"):
        assert rows[name]["status"] == "not tested" and rows[name]["drifted"] is False
        assert rows[name]["test"] is None and "identifier-like" in rows[name]["notes"]
    # measurements are tested, however distinct their values
    assert rows["amount"]["test"] == "ks" and rows["x"]["test"] == "ks" and rows["plan"]["test"] == "chi2"
    assert rows["amount"]["status"] == rows["x"]["status"] == rows["plan"]["status"] == "ok"
    assert report.exit_code == 0 and report.n_tested == 3
    assert "not tested: user, row" in report.verdict()


def test_before_the_rule_a_key_scored_one_and_passed():
    """What the rule replaces: with it off, a unique key scores Jensen-Shannon 1.0 yet is 'ok'."""
    ref, cur = _frames()
    rows = _rows(mlnb.checks.drift(ref, cur, identifier_share=None))
    assert rows["user"]["score"] == pytest.approx(1.0) and rows["user"]["drifted"] is False
    assert rows["user"]["status"] == "ok"


def test_an_identifier_still_has_its_missing_rate_compared():
    ref, cur = _frames()
    cur.loc[: N // 2, "user"] = None
    row = _rows(mlnb.checks.drift(ref, cur))["user"]
    assert row["drifted"] is True and row["status"] == "drift" and "missing rate" in row["reason"]


def test_a_small_or_repetitive_text_column_is_not_an_identifier():
    few = pd.DataFrame({"k": [f"id{i}" for i in range(20)]})  # 20 values < min_rows: too few to call
    assert _rows(mlnb.checks.drift(few, few))["k"]["test"] == "chi2"
    labels = pd.DataFrame({"k": [f"c{i % 450}" for i in range(N)]})  # 90 % distinct: below 95 %
    assert _rows(mlnb.checks.drift(labels, labels))["k"]["test"] == "chi2"


def test_the_identifier_share_is_an_option_and_is_checked():
    ref, cur = _frames()
    loose = mlnb.checks.drift(ref, cur, identifier_share=0.5)
    assert "user" in loose.not_tested
    with pytest.raises(UsageError, match="identifier_share"):
        mlnb.checks.drift(ref, cur, identifier_share=1.5)


def test_removed_column_fails_and_added_column_is_a_finding():
    ref, cur = _frames()
    report = mlnb.checks.drift(ref.drop(columns=["user", "row"]), cur.drop(columns=["row", "plan"]))
    rows = _rows(report)
    assert report.removed == ["plan"] and rows["plan"]["status"] == "removed" and rows["plan"]["drifted"] is True
    assert report.added == ["user"] and rows["user"]["status"] == "added" and rows["user"]["drifted"] is False
    assert report.dataset_drift and report.exit_code == 1 and report.drifted == ["plan"]
    verdict = report.verdict()
    assert "removed: plan" in verdict and "added: user" in verdict
    # every face shows the findings
    frame = report.to_frame()
    assert dict(zip(frame.column, frame.status)) == {"amount": "ok", "x": "ok", "plan": "removed", "user": "added"}
    as_dict = report.to_dict()
    assert as_dict["removed"] == ["plan"] and as_dict["added"] == ["user"] and as_dict["not_tested"] == []
    assert "REMOVED" in str(report) and "added" in str(report)
    html = report._repr_html_()
    assert "removed: plan" in html and "<td>REMOVED</td>" in html and "<td>added</td>" in html


def test_an_added_column_alone_passes_but_is_reported():
    ref, cur = _frames()
    report = mlnb.checks.drift(ref[["x", "plan"]], cur[["x", "plan", "amount"]])
    assert report.exit_code == 0 and report.added == ["amount"] and "added: amount" in report.verdict()


def test_cli_json_and_exit_code_carry_the_findings(tmp_path):
    ref, cur = _frames()
    ref.to_parquet(tmp_path / "ref.parquet")
    cur.drop(columns=["plan"]).to_parquet(tmp_path / "cur.parquet")
    proc = run_cli("drift", "ref.parquet", "cur.parquet", "--json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert out["removed"] == ["plan"] and out["not_tested"] == ["user", "row"] and out["drifted"] == ["plan"]
    statuses = {c["column"]: c["status"] for c in out["columns"]}
    assert statuses == {"user": "not tested", "row": "not tested", "amount": "ok", "x": "ok", "plan": "removed"}
