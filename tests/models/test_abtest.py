"""``mlnb.models.ab_test``: its statistics against statsmodels and scipy on generated data, their
calibration by simulation, and the analysis read from a real prediction log joined with outcomes.

(The same over a real ``mlnb serve`` process: tests/serve/test_abtest.py.)
"""

from __future__ import annotations

import html
import json
import math
import os

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from scipy.optimize import minimize_scalar
from scipy.special import xlogy
from statsmodels.stats.proportion import proportion_confint, proportion_effectsize, proportions_ztest

from mlnb.errors import MlnbError, NotFound, UsageError
from mlnb.models import _abstats
from tests.conftest import run_cli

#: simulated A/B experiments per calibration check (raise for a stricter run)
TRIALS = int(os.environ.get("MLNB_AB_TRIALS", "1000"))


# -- the statistics, against statsmodels / scipy ----------------------------------------------

RATES = [  # (n arm, rate arm, n control, rate control, seed): large, lopsided, tiny, near 0 and 1
    (1000, 0.12, 1000, 0.10, 0), (400, 0.30, 900, 0.25, 1), (5000, 0.021, 4800, 0.018, 2),
    (25, 0.2, 20, 0.05, 3), (12, 0.9, 15, 0.98, 4), (60, 0.5, 300, 0.5, 5),
]


def _draw(n: int, rate: float, rng: np.random.Generator) -> int:
    return int((rng.random(n) < rate).sum())


def score_z(delta: float, k1: int, n1: int, k0: int, n0: int) -> float:
    """The oracle of the score statistic for ``p1 - p0 = delta``: the rates under that difference
    fitted by maximising the likelihood numerically (not mlnb's closed form). statsmodels 0.15's
    ``confint_proportions_2indep(method="score")`` is not used: its closed form has ``count0`` where
    Miettinen–Nurminen have ``nobs0`` (off by about 1 % away from 0; at 0 it is exact)."""
    def nll(q0: float) -> float:
        q1 = q0 + delta
        return -float(xlogy(k1, q1) + xlogy(n1 - k1, 1 - q1) + xlogy(k0, q0) + xlogy(n0 - k0, 1 - q0))

    eps = 1e-12
    q0 = minimize_scalar(nll, bounds=(max(0.0, -delta) + eps, min(1.0, 1 - delta) - eps), method="bounded",
                         options={"xatol": 1e-14}).x
    q1 = q0 + delta
    return (k1 / n1 - k0 / n0 - delta) / math.sqrt(q1 * (1 - q1) / n1 + q0 * (1 - q0) / n0)


def assert_score_interval(got: dict, k1: int, n1: int, k0: int, n0: int) -> None:
    """Each end of the interval is where the score test is just rejected at 5 % (or the range's end)."""
    for end, z in ((got["ci_low"], 1.959964), (got["ci_high"], -1.959964)):
        if -1 + 1e-9 < end < 1 - 1e-9:
            assert score_z(end, k1, n1, k0, n0) == pytest.approx(z, abs=2e-3)


@pytest.mark.parametrize(("n1", "r1", "n0", "r0", "seed"), RATES)
def test_rates_match_statsmodels(n1, r1, n0, r0, seed):
    rng = np.random.default_rng(seed)
    k1, k0 = _draw(n1, r1, rng), _draw(n0, r0, rng)
    got = _abstats.compare_rates(k1, n1, k0, n0)
    assert got["difference"] == pytest.approx(k1 / n1 - k0 / n0, abs=1e-12)
    assert got["ci_low"] < got["difference"] < got["ci_high"] or k1 in (0, n1) and k0 in (0, n0)
    assert_score_interval(got, k1, n1, k0, n0)
    pooled = (k1 + k0) / (n1 + n0)
    if min(n1, n0) * min(pooled, 1 - pooled) < 5:
        assert got["test"] == "Fisher exact"
        expected = stats.fisher_exact([[k1, n1 - k1], [k0, n0 - k0]]).pvalue
    else:
        assert got["test"] == "two-proportion z"
        expected = proportions_ztest([k1, k0], [n1, n0])[1]
        assert (got["ci_low"] > 0 or got["ci_high"] < 0) == (expected < 0.05)  # the interval and p agree
        assert expected == pytest.approx(stats.chi2_contingency([[k1, n1 - k1], [k0, n0 - k0]],
                                                                correction=False).pvalue, rel=1e-9)
    assert got["p_value"] == pytest.approx(expected, rel=1e-9)
    assert _abstats.wilson(k1, n1) == pytest.approx(proportion_confint(k1, n1, method="wilson"), abs=1e-12)
    h = proportion_effectsize(k1 / n1, k0 / n0)
    if abs(h) > 0.05:  # statsmodels' solver counts the far tail too: within one unit
        assert abs(got["n_needed"] - NormalIndPower().solve_power(effect_size=h, alpha=0.05, power=0.8)) < 1
    h_min = NormalIndPower().solve_power(nobs1=n1, ratio=n0 / n1, alpha=0.05, power=0.8)
    a0 = math.asin(math.sqrt(k0 / n0))
    step = a0 + h_min / 2 if (got["difference"] >= 0 and k0 < n0) or k0 == 0 else a0 - h_min / 2
    step = min(max(step, 0.0), math.pi / 2)
    assert got["mde"] == pytest.approx(abs(math.sin(step) ** 2 - k0 / n0), rel=1e-3)


@pytest.mark.parametrize(("n1", "n0", "shift", "sd1", "seed"), [
    (50, 80, 1.0, 2.0, 0), (500, 400, 0.1, 1.0, 1), (8, 12, 0.0, 3.0, 2), (3000, 3000, -0.05, 0.5, 3)])
def test_means_match_scipy_welch(n1, n0, shift, sd1, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(shift, sd1, n1), rng.normal(0, 1, n0)
    got = _abstats.compare_means(a, b)
    welch = stats.ttest_ind(a, b, equal_var=False)
    ci = welch.confidence_interval(0.95)
    assert got["difference"] == pytest.approx(a.mean() - b.mean(), rel=1e-12)
    assert got["p_value"] == pytest.approx(welch.pvalue, rel=1e-9)
    assert (got["ci_low"], got["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert _abstats.mean_interval(a) == pytest.approx(
        stats.t.interval(0.95, n1 - 1, loc=a.mean(), scale=stats.sem(a)), rel=1e-9)
    sd = math.sqrt(((n1 - 1) * a.var(ddof=1) + (n0 - 1) * b.var(ddof=1)) / (n1 + n0 - 2))
    d = (a.mean() - b.mean()) / sd
    assert abs(got["n_needed"] - NormalIndPower().solve_power(effect_size=d, alpha=0.05, power=0.8)) < 1
    d_min = NormalIndPower().solve_power(nobs1=n1, ratio=n0 / n1, alpha=0.05, power=0.8)
    assert got["mde"] == pytest.approx(d_min * sd, rel=1e-3)


def test_means_without_two_values_or_spread_are_not_tested():
    assert _abstats.compare_means([1.0], [1.0, 2.0])["p_value"] is None
    none = _abstats.compare_means([3.0, 3.0], [3.0, 3.0])
    assert none["p_value"] is None and none["ci_low"] is None and none["difference"] == 0


def test_holm_matches_statsmodels():
    p = [0.01, 0.04, None, 0.03, 0.2]
    known = [x for x in p if x is not None]
    expected = iter(multipletests(known, method="holm")[1])
    assert _abstats.holm(p) == [None if x is None else pytest.approx(next(expected)) for x in p]


# -- calibration: the statistics are honest, not only the same as a library's ---------------------


def test_rate_interval_covers_and_test_keeps_its_level():
    """Over ``TRIALS`` simulated experiments: the 95 % interval of a true +2 point difference covers it
    93-97 % of the time, and with no difference the test rejects 3-7 % of the time (at 5 %)."""
    rng = np.random.default_rng(11)
    covered = rejected = 0
    for _ in range(TRIALS):
        a, b = _draw(800, 0.12, rng), _draw(800, 0.10, rng)
        got = _abstats.compare_rates(a, 800, b, 800)
        covered += got["ci_low"] <= 0.02 <= got["ci_high"]
        rejected += _abstats.compare_rates(_draw(800, 0.10, rng), 800, b, 800)["p_value"] < 0.05
    assert 0.93 <= covered / TRIALS <= 0.97
    assert 0.03 <= rejected / TRIALS <= 0.07


def test_power_note_is_the_power_it_claims():
    """At the n per arm the note asks for, the test finds the difference about 80 % of the time."""
    rng = np.random.default_rng(12)
    n = _abstats.compare_rates(120, 1000, 100, 1000)["n_needed"]
    found = sum(_abstats.compare_rates(_draw(n, 0.12, rng), n, _draw(n, 0.10, rng), n)["p_value"] < 0.05
                for _ in range(TRIALS))
    assert 0.76 <= found / TRIALS <= 0.84


# -- the analysis of a real prediction log ----------------------------------------------------


def _log(model: str, arms: dict[str, np.ndarray], *, rng: np.random.Generator, at: float = 1.8e9,
         routing: int | None = None, shadow: bool = False, outcomes: bool = True, prefix: str = "") -> list[str]:
    """Log one prediction per value for each arm (ids ``<prefix><arm>-<i>``) and, with ``outcomes``,
    the values as their outcomes; returns the ids."""
    import mlnb
    from mlnb._project import current_project
    from mlnb.monitor._log import prediction_frame, predictions_dir, write_partitioned

    ids: list[str] = []
    for arm, values in arms.items():
        keys = [f"{prefix}{arm}-{i}" for i in range(len(values))]
        X = pd.DataFrame({"x": rng.normal(size=len(values))})
        if routing is None and not shadow:
            mlnb.monitor.log_predictions(model, X, np.zeros(len(values)), ids=keys, arm=arm, time=at)
        else:  # what `mlnb serve` writes: a routing number, shadow answers
            write_partitioned(predictions_dir(current_project(), model), prediction_frame(
                model, X, np.zeros(len(values)), ids=keys, request_id="r", at=at, version=None, arm=arm,
                routing=routing, shadow=shadow))
        if outcomes:
            mlnb.models.log_outcomes(model, keys, values, time=at + 60)
        ids += keys
    return ids


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """One project for the log tests (each test logs its own model name)."""
    from tests._postgres import fresh_project

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLNB_REGISTRY_URL", raising=False)
        for project in fresh_project(tmp_path_factory.mktemp("abtest"), mp):
            yield project


@pytest.fixture
def here(logged, monkeypatch):
    monkeypatch.chdir(logged.root)
    return logged


def test_rates_from_the_log_match_statsmodels_on_the_same_outcomes(here):
    """Outcomes join by id (the latest per id wins, predictions without one are counted in n only);
    shadow answers are left out; the numbers are statsmodels' on the generated outcomes."""
    import mlnb

    rng = np.random.default_rng(7)
    control, arm = (rng.random(700) < 0.10).astype(int), (rng.random(650) < 0.145).astype(int)
    _log("conv", {"champion": control, "challenger": arm}, rng=rng)
    _log("conv", {"champion": np.ones(40, int)}, rng=rng, outcomes=False, at=1.8e9 + 1,
         prefix="late-")  # no outcome yet
    _log("conv", {"shadowy": np.ones(300, int)}, rng=rng, shadow=True, routing=1, prefix="s-")  # never counted
    wrong = [f"challenger-{i}" for i in range(50)]
    mlnb.models.log_outcomes("conv", wrong, np.zeros(50), time=1.8e9 + 10)  # replaced by the later ones
    result = mlnb.models.ab_test("conv", outcome="converted")

    assert [r["arm"] for r in result.arms] == ["champion", "challenger"]  # the one with most rows
    base, other = result.arms
    assert (base["n"], base["n_outcome"], other["n"], other["n_outcome"]) == (740, 700, 650, 650)
    assert base["value"] == pytest.approx(control.mean()) and other["value"] == pytest.approx(arm.mean())
    k1, k0 = int(arm.sum()), int(control.sum())
    assert_score_interval({"ci_low": other["diff_low"], "ci_high": other["diff_high"]}, k1, 650, k0, 700)
    assert other["p_value"] == pytest.approx(proportions_ztest([k1, k0], [650, 700])[1], rel=1e-9)
    assert result.kind == "rate" and result.control == "champion" and result.outcome == "converted"
    assert other["p_value"] < 0.05 and result.verdict.startswith("challenger's converted rate is higher")
    assert "needs about" in result.notes[0]

    frame = result.to_frame()
    assert list(frame["arm"]) == ["champion", "challenger"] and frame.loc[1, "n_needed"] == other["n_needed"]
    data = json.loads(result.to_json())
    assert data["arms"][1]["p_value"] == pytest.approx(other["p_value"]) and data["arms"][0]["difference"] is None
    page = result._repr_html_()
    assert "converted rate" in page and html.escape(result.verdict) in page and "needs about" in page


def test_means_control_window_callable_and_log_columns(here):
    import mlnb

    rng = np.random.default_rng(8)
    early = {"a": rng.normal(10, 2, 120), "b": rng.normal(11, 2, 130), "c": rng.normal(10, 2, 110)}
    _log("spend", early, rng=rng, at=1.8e9)
    _log("spend", {"a": rng.normal(50, 2, 40), "b": rng.normal(50, 2, 40)}, rng=rng, at=1.8e9 + 86400 * 3,
         prefix="later-")
    result = mlnb.models.ab_test("spend", outcome="revenue", control="a", end=1.8e9 + 86400)
    assert result.kind == "mean" and [r["arm"] for r in result.arms] == ["a", "b", "c"]
    for row in result.arms[1:]:
        welch = stats.ttest_ind(early[row["arm"]], early["a"], equal_var=False)
        assert row["p_value"] == pytest.approx(welch.pvalue, rel=1e-9)
    assert [r["p_adjusted"] for r in result.arms[1:]] == pytest.approx(
        list(multipletests([r["p_value"] for r in result.arms[1:]], method="holm")[1]))
    assert "(Holm-adjusted)" in result.verdict and "1 of 2 arms differ from a" in result.verdict

    later = mlnb.models.ab_test("spend", start="2027-01-18")  # 1.8e9 is 2027-01-15 08:00 UTC
    assert [r["n"] for r in later.arms] == [40, 40]
    doubled = mlnb.models.ab_test("spend", outcome=lambda log: log["outcome"] * 2, end=1.8e9 + 86400)
    assert doubled.arms[0]["value"] == pytest.approx(2 * early["b"].mean())  # b: most rows, so control
    assert doubled.outcome == "outcome"
    features = mlnb.models.ab_test("spend", outcome="feature.x", control="a")  # a column of the log itself
    assert features.arms[0]["n_outcome"] == 160 and features.kind == "mean"


def test_routing_restricts_to_one_revision_and_mixed_routings_are_flagged(here):
    import mlnb

    rng = np.random.default_rng(9)
    _log("rt", {"blue": np.zeros(90, int), "green": np.ones(10, int)}, rng=rng, routing=1)
    _log("rt", {"blue": (rng.random(200) < 0.5).astype(int), "green": (rng.random(200) < 0.5).astype(int)},
         rng=rng, routing=2, at=1.8e9 + 5, prefix="2-")
    two = mlnb.models.ab_test("rt", routing=2, control="blue")
    assert [r["n"] for r in two.arms] == [200, 200]
    assert two.routings == [2] and two.to_dict()["routing"] == 2
    both = mlnb.models.ab_test("rt", control="blue")
    assert [r["n"] for r in both.arms] == [290, 210] and both.routings == [1, 2]
    with pytest.raises(NotFound, match=r"routing #3 \(routings logged: #1, #2\)"):
        mlnb.models.ab_test("rt", routing=3)


def test_small_counts_use_fisher_and_say_so(here):
    import mlnb

    rng = np.random.default_rng(10)
    _log("tiny", {"a": np.array([0] * 18 + [1] * 2), "b": np.array([0] * 12 + [1] * 6)}, rng=rng)
    result = mlnb.models.ab_test("tiny", control="a")
    row = result.arms[1]
    assert row["test"] == "Fisher exact"
    assert row["p_value"] == pytest.approx(stats.fisher_exact([[6, 12], [2, 18]]).pvalue)
    assert any("Fisher's exact test" in n for n in result.notes)


def test_refusals_are_one_line(here):
    import mlnb

    rng = np.random.default_rng(11)
    with pytest.raises(NotFound, match="nolog has no prediction log yet"):
        mlnb.models.ab_test("nolog")
    _log("pending", {"a": np.ones(5, int), "b": np.ones(5, int)}, rng=rng, outcomes=False)
    with pytest.raises(MlnbError, match="none of the 10 live predictions of pending has an outcome yet"):
        mlnb.models.ab_test("pending", outcome="converted")
    _log("solo", {"a": np.ones(5, int)}, rng=rng)
    with pytest.raises(MlnbError, match=r"only one arm \(a\) answered"):
        mlnb.models.ab_test("solo")
    with pytest.raises(UsageError, match="control 'z' is not an arm of pending's logged predictions: they are a, b"):
        mlnb.models.ab_test("pending", control="z")
    with pytest.raises(NotFound, match="no live predictions of solo from 2030-01-01"):
        mlnb.models.ab_test("solo", start="2030-01-01")
    with pytest.raises(UsageError, match="routing must be a routing number"):
        mlnb.models.ab_test("solo", routing="2")
    mlnb.models.log_outcomes("pending", ["a-0", "b-0"], ["yes", "no"])
    with pytest.raises(UsageError, match=r"outcome holds values that are not numbers \('yes', 'no'\)"):
        mlnb.models.ab_test("pending")


def test_cli_text_json_and_exit_codes(here, capsys):
    from mlnb.cli import main

    rng = np.random.default_rng(12)
    _log("cli", {"a": (rng.random(300) < 0.2).astype(int), "b": (rng.random(300) < 0.2).astype(int)}, rng=rng)
    assert main(["models", "ab-test", "cli", "--outcome", "converted"]) == 0  # in-process: the same code
    text = capsys.readouterr().out
    assert text.startswith("No significant difference between b and a in converted rate at 5 %")
    assert "note: power at alpha 5 % and 80 %" in text
    missing = run_cli("models", "ab-test", "nothing", cwd=here.root)
    assert missing.returncode == 3 and missing.stderr.count("\n") == 1
    assert missing.stderr.startswith("mlnb: error: nothing has no prediction log yet")
    assert main(["models", "ab-test", "cli", "--control", "b", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["control"] == "b" and [a["n"] for a in data["arms"]] == [300, 300]
    assert main(["models", "ab-test", "cli", "--routing", "two"]) == 2
    assert "invalid int value: 'two'" in capsys.readouterr().err


def test_chart_shows_each_arm_with_its_interval(here):
    import mlnb

    rng = np.random.default_rng(13)
    _log("chart", {"a": (rng.random(100) < 0.3).astype(int), "b": (rng.random(120) < 0.4).astype(int)}, rng=rng)
    result = mlnb.models.ab_test("chart", outcome="<b>clicked</b>", control="a")
    spec = result.chart().to_dict()
    points = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "point")
    values = {v["arm"]: v for v in points["data"]["values"]}
    for row in result.arms:
        shown = values[row["arm"]]
        assert (shown["value"], shown["low"], shown["high"]) == pytest.approx(
            (row["value"], row["ci_low"], row["ci_high"]), rel=1e-3)
    assert "<b>clicked" not in result._repr_html_() and "&lt;b&gt;clicked" in result._repr_html_()


def test_magic_shows_the_verdict_and_the_chart(here, ipython, capsys):
    from tests.conftest import cell_error

    rng = np.random.default_rng(14)
    _log("magic", {"a": (rng.random(200) < 0.3).astype(int), "b": (rng.random(200) < 0.5).astype(int)}, rng=rng)
    capsys.readouterr()
    ipython.run_line_magic("mlops", "models ab-test magic --outcome clicked")
    shown = capsys.readouterr().out
    assert "b's clicked rate is higher than a's" in shown and "<A/B chart>" in shown
    err = cell_error(ipython, "%mlops models ab-test magic --control zz", capsys)
    assert err == "UsageError: %mlops: control 'zz' is not an arm of magic's logged predictions: they are a, b"
