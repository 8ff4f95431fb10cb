"""mlnb's own statistics at the sizes where they run, against scipy on the full data.

Up to 10,000 values per sample the KS p-value is scipy's own; beyond, mlnb computes the statistic
from bins refined by branch and bound, the p-value by its own Smirnov series (for large N), the
Wasserstein distance from bin bounds (refined only when a decision depends on it, for windows over
100,000 values) and PSI on exact reference deciles. Each of those paths is checked here to run
(not only to agree) on 10^5-10^6 values, and the report's Bonferroni correction and "(other N)"
chart bucket are checked against plain computations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st

import mlnb
from mlnb.checks import _drift
from mlnb.checks.stats import kolmogorov
from mlnb.checks.stats import numeric as num
from mlnb.checks.stats.multitest import adjust
from mlnb.errors import UsageError

from .test_drift import _values


@pytest.fixture(scope="module")
def million() -> tuple[np.ndarray, np.ndarray, num.NumericReference, num.BinnedWindow]:
    """10^6 reference values, 10^6 window values shifted by 0.006 sd: a D in the Smirnov regime."""
    rng = np.random.default_rng(2026)
    a, b = rng.normal(size=1_000_000), rng.normal(0.006, 1, size=1_000_000)
    ref = num.NumericReference.fit(a)
    return a, b, ref, num.BinnedWindow.of(ref, b)


def test_ks_at_a_million_is_refined_and_its_pvalue_is_mlnbs_own_series(million):
    a, b, ref, w = million
    cdfs = num._Cdfs(ref, w)
    d, p = num.ks_test(ref, w, cdfs)
    expected = st.ks_2samp(a, b)  # scipy on the full data: sorts both, evaluates kstwo.sf itself
    assert d == st.ks_2samp(a, b, method="asymp").statistic == expected.statistic
    # the largest gap lies inside a bin: only the refinement can have found it
    assert np.abs(cdfs.edge_gap).max() < d
    n_eff = round(len(a) * len(b) / (len(a) + len(b)))
    assert 2.2 <= n_eff * d * d < 370  # the regime where mlnb sums the Birnbaum-Tingey series itself
    assert p == pytest.approx(expected.pvalue, rel=1e-9, abs=0)
    assert 1e-12 < p < 0.5  # a p-value that matters, not one rounded to 0 or 1


def test_wasserstein_bounds_and_exact_value_at_a_million(million):
    a, b, ref, w = million
    expected = st.wasserstein_distance(a, b)
    bounds = num.wasserstein(ref, w)
    assert not bounds.exact  # bins where the CDF gap changes sign were bounded, not refined
    assert bounds.lower <= expected * (1 + 1e-12) and expected <= bounds.upper * (1 + 1e-12)
    exact = num.wasserstein(ref, w, exact=True)
    assert exact.exact and exact.value == pytest.approx(expected, rel=1e-9)


def test_psi_at_a_million_counts_exact_deciles(million):
    a, b, ref, w = million
    q, r_le = ref.quantiles(10)
    s = np.sort(a)
    assert np.array_equal(q, s[np.arange(1, 10) * 100_000 - 1])  # rank k*n/10: the k/10 quantile
    assert np.array_equal(r_le, np.arange(1, 10) * 100_000)
    c = np.diff(np.concatenate([[0], np.searchsorted(np.sort(b), q, side="right"), [len(b)]])) / len(b)
    expected = float(((c - 0.1) * np.log(c / 0.1)).sum())
    assert num.psi(ref, w) == pytest.approx(expected, rel=1e-12)


def _frames(n: int, m: int, shift: float, seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=n)}), pd.DataFrame({"x": rng.normal(shift, 1, size=m)})


def _row(ref: pd.DataFrame, cur: pd.DataFrame, **config) -> pd.Series:
    return mlnb.checks.drift(ref, cur, **config).to_frame().set_index("column").loc["x"]


def test_windows_up_to_the_exactness_size_get_the_exact_wasserstein():
    ref, cur = _frames(100_000, _drift.EXACT_W1_MAX + 1, 0.02)
    exact = st.wasserstein_distance(ref["x"], cur["x"][: _drift.EXACT_W1_MAX]) / np.std(ref["x"])
    at = _row(ref, cur.iloc[: _drift.EXACT_W1_MAX])
    assert at["score_error"] == 0 and at["score"] == pytest.approx(exact, rel=1e-9)
    beyond = _row(ref, cur)  # one value more: bounds only, the threshold being far away
    assert beyond["score_error"] > 0


def test_large_windows_are_refined_exactly_when_the_threshold_falls_within_the_bounds():
    """Over 100,000 values the distance is bounded; a threshold inside the bounds forces the exact
    value, so the decision is the exact computation's on either side of it."""
    ref, cur = _frames(150_000, 150_000, 0.02)
    exact = st.wasserstein_distance(ref["x"], cur["x"]) / np.std(ref["x"])
    far = _row(ref, cur, alpha=None)  # threshold 0.1: far above the bounds, no refinement
    lower, upper = far["score"] - far["score_error"], far["score"] + far["score_error"]
    assert far["score_error"] > 0 and lower < exact * (1 - 1e-6) and exact * (1 + 1e-6) < upper
    for factor, drifted in ((1 + 1e-6, False), (1 - 1e-6, True)):
        row = _row(ref, cur, alpha=None, thresholds={"x": exact * factor})
        assert row["score_error"] == 0 and row["score"] == pytest.approx(exact, rel=1e-9)
        assert bool(row["drifted"]) is drifted
    forced = _row(ref, cur, exact=True)
    assert forced["score_error"] == 0 and forced["score"] == pytest.approx(exact, rel=1e-9)


def test_bonferroni_multiplies_by_the_tests_that_ran_and_decides_on_the_adjusted_value():
    rng = np.random.default_rng(8)
    n = 300
    ref = pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n), "empty": [np.nan] * n,
                        "c": rng.choice(list("abc"), n)})
    cur = pd.DataFrame({"x": rng.normal(0.2, 1, size=n), "y": rng.normal(size=n), "empty": [np.nan] * n,
                        "c": rng.choice(list("abc"), n, p=[0.4, 0.3, 0.3])})
    plain = mlnb.checks.drift(ref, cur, correction="none", thresholds={"wasserstein": 0.0})
    rows = {r["column"]: r for r in plain.rows}
    k = sum(not np.isnan(r[key]) for r in rows.values() for key in ("p_value", "missing_p"))
    assert k == 7  # KS for x and y, chi-square for c, missing-rate tests for all 4 ("empty" has no KS)
    p = rows["x"]["p_value"]
    assert p == st.ks_2samp(ref["x"], cur["x"]).pvalue and p < min(1.0, p * k)
    alpha = (p + min(1.0, p * k)) / 2  # significant alone, not after the correction
    bonf = mlnb.checks.drift(ref, cur, correction="bonferroni", alpha=alpha, thresholds={"wasserstein": 0.0})
    for row in bonf.rows:
        for raw, out in (("p_value", "p_adjusted"), ("missing_p", "missing_p_adjusted")):
            assert row[raw] == rows[row["column"]][raw] or np.isnan(row[raw]) and np.isnan(rows[row["column"]][raw])
            if np.isnan(row[raw]):
                assert np.isnan(row[out])
            else:
                assert row[out] == min(1.0, row[raw] * k)
    assert "x" not in bonf.drifted
    assert "x" in mlnb.checks.drift(ref, cur, correction="none", alpha=alpha, thresholds={"wasserstein": 0.0}).drifted


def test_multitest_corrections_against_scipy_and_the_formula():
    ps = [0.001, 0.04, float("nan"), 0.3, 0.02, 1.0]
    p = np.array([v for v in ps if v == v])
    out = np.array(adjust(ps, "bonferroni"))
    assert np.isnan(out[2]) and np.array_equal(np.delete(out, 2), np.minimum(1, p * 5))
    assert np.allclose(np.delete(adjust(ps, "by"), 2), st.false_discovery_control(p, method="by"))
    assert np.isnan(adjust([float("nan")], "bh")).all()  # nothing tested: nothing adjusted
    with pytest.raises(UsageError, match="unknown correction 'holm'"):
        adjust(ps, "holm")


def test_chart_groups_categories_beyond_the_top_12_as_other():
    rng = np.random.default_rng(9)
    cats = [f"k{i:02d}" for i in range(20)]
    weights = np.linspace(2, 1, 20) / np.linspace(2, 1, 20).sum()
    ref = pd.DataFrame({"c": rng.choice(cats, 5000, p=weights)})
    cur = pd.DataFrame({"c": rng.choice(cats[:18], 4000, p=weights[:18] / weights[:18].sum())})
    report = mlnb.checks.drift(ref, cur)
    hist = report.rows[0]["hist"]
    r = ref["c"].value_counts().reindex(cats, fill_value=0)
    c = cur["c"].value_counts().reindex(cats, fill_value=0)
    top = (np.maximum(r / r.sum(), c / c.sum())).sort_values(ascending=False, kind="stable").index[:12]
    rest = [k for k in cats if k not in top]
    assert hist["categories"] == [*top, f"(other {len(rest)})"] and len(rest) == 8
    assert hist["ref"] == [*r[top].astype(float), float(r[rest].sum())]
    assert hist["cur"] == [*c[top].astype(float), float(c[rest].sum())]
    shown = {v.get("category") for part in report.chart().to_dict()["vconcat"] for v in _values(part)}
    assert "(other 8)" in shown


def test_smirnov_series_is_the_path_taken_for_large_n():
    """kstwo_sf goes to mlnb's own series exactly in the documented regime, to scipy elsewhere."""
    n = 500_000
    inside, outside = float(np.sqrt(9.0 / n)), float(np.sqrt(400.0 / n))
    assert kolmogorov.kstwo_sf(inside, n) == pytest.approx(2 * kolmogorov._smirnov_sf(n, inside), rel=1e-15)
    assert kolmogorov.kstwo_sf(outside, n) == st.kstwo.sf(outside, n)
