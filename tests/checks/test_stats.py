"""The drift statistics against scipy, on random data (hypothesis) and on large samples."""

from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.stats as st
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from scipy.spatial.distance import jensenshannon

from mlnb.checks.stats import categorical as cat
from mlnb.checks.stats import numeric as num
from mlnb.checks.stats.binning import FINE_BINS, ReferenceBins
from mlnb.checks.stats.multitest import adjust

#: the profile (derandomized in CI) comes from tests/checks/conftest.py
SETTINGS = settings(max_examples=int(os.environ.get("MLNB_HYPOTHESIS_EXAMPLES", "60")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


#: sample sizes on both sides of each threshold: the grid lookup (4,096 values binned at once)
#: and scipy's exact KS p-value (10,000 values per sample; beyond, mlnb's own series runs)
SIZES = hs.one_of(hs.integers(1, 300), hs.integers(4_000, 4_200), hs.integers(9_990, 24_000))
FAMILIES = ["normal", "lognormal", "pareto", "cauchy", "integers", "constant", "offset"]


@hs.composite
def shapes(draw, min_size: int = 1):
    """A small, shrinkable description of two samples: family, location, scale, sizes, shift,
    share of repeated values and a few explicit extreme values; :func:`expand` makes the arrays."""
    family = draw(hs.sampled_from(FAMILIES))
    loc = draw(hs.one_of(hs.just(0.0), hs.floats(-1e12, 1e12, allow_subnormal=False)))
    if family == "offset":  # a huge offset with noise near the float spacing there
        loc = draw(hs.sampled_from([1e12, -3.7e11, 1.7e9]))
    return {
        "family": family, "loc": loc,
        "scale": draw(hs.floats(1e-3, 1e3)),
        "n": max(min_size, draw(SIZES)), "m": max(min_size, draw(SIZES)),
        "shift": draw(hs.sampled_from([0.0, 0.0, 0.01, 0.3])),
        # around the 1 % share of repeated values above which a reference counts as discrete
        "repeats": draw(hs.sampled_from([0.0, 0.005, 0.0125, 0.05])),
        "extremes": draw(hs.lists(hs.floats(-1e15, 1e15, allow_subnormal=True), max_size=4)),
        "seed": draw(hs.integers(0, 2**32 - 1)),
    }


def _draw(family: str, rng: np.random.Generator, size: int) -> np.ndarray:
    if family == "lognormal":
        return np.exp(2 * rng.normal(size=size))
    if family == "pareto":  # heavy right tail
        return rng.pareto(1.2, size)
    if family == "cauchy":  # heavy tails on both sides
        return rng.standard_cauchy(size)
    if family == "integers":
        return rng.integers(0, 9, size).astype(float)
    if family == "constant":
        return np.zeros(size)
    return rng.normal(size=size)


def expand(shape: dict) -> tuple[np.ndarray, np.ndarray]:
    """The two finite samples a shape describes (the reference gets the explicit extremes)."""
    rng = np.random.default_rng(shape["seed"])
    a = shape["loc"] + shape["scale"] * _draw(shape["family"], rng, shape["n"])
    b = shape["loc"] + shape["scale"] * (1 + shape["shift"]) * (_draw(shape["family"], rng, shape["m"]) + shape["shift"])
    for x in (a, b):
        k = int(shape["repeats"] * len(x))
        x[:k] = x[rng.integers(0, len(x), k)]  # copies of other values
    a[: len(shape["extremes"])] = shape["extremes"][: len(a)]
    return a, b


def _fit(a, b):
    ref = num.NumericReference.fit(a)
    return ref, num.BinnedWindow.of(ref, b)


@SETTINGS
@given(shapes())
def test_binning_is_searchsorted(shape):
    a, b = expand(shape)
    bins = ReferenceBins.fit(a)
    x = np.concatenate([a, b, bins.edges, np.nextafter(bins.edges, np.inf), np.nextafter(bins.edges, -np.inf)])
    x = np.tile(x, 1 + 5000 // len(x))  # long enough for the grid path
    assert np.array_equal(bins.index(x), np.searchsorted(bins.edges, x, side="left"))


@SETTINGS
@given(shapes())
def test_ks_statistic_equals_scipy_bit_for_bit(shape):
    a, b = expand(shape)
    ref, w = _fit(a, b)
    # method="asymp" reports D as computed; in exact mode scipy re-derives it as h / lcm(n, m)
    assert num.ks_statistic(ref, w) == st.ks_2samp(a, b, method="asymp").statistic


@SETTINGS
@given(shapes())
def test_ks_test_matches_scipy_auto(shape):
    a, b = expand(shape)
    ref, w = _fit(a, b)
    d, p = num.ks_test(ref, w)
    expected = st.ks_2samp(a, b)
    assert d == expected.statistic
    if max(len(a), len(b)) <= num.KS_EXACT_MAX_N:  # scipy's exact p-value, called as is
        assert p == expected.pvalue
    else:  # mlnb's own series where scipy sums it slowly; scipy's asymptotic value elsewhere
        # below the smallest normal double (2.2e-308) a float keeps fewer digits: relative
        # agreement cannot hold there (seen: 2.5e-314 vs scipy's, 1e-9 apart), absolute does
        assert p == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


@SETTINGS
@given(shapes(min_size=2))
def test_wasserstein_exact_and_bounds_match_scipy(shape):
    a, b = expand(shape)
    ref, w = _fit(a, b)
    expected = st.wasserstein_distance(a, b)
    tol = 1e-9 * max(expected, np.abs(a).max() * 1e-6) + 1e-12
    exact = num.wasserstein(ref, w, exact=True)
    assert exact.exact and exact.value == pytest.approx(expected, rel=1e-9, abs=tol)
    bounds = num.wasserstein(ref, w)
    assert bounds.lower - tol <= expected <= bounds.upper + tol


@pytest.mark.parametrize("shift", [0.0, 0.003, 0.2])
def test_large_samples_use_scipys_asymptotic_pvalue(shift):
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=60_000), rng.normal(shift, 1, size=45_000)
    ref, w = _fit(a, b)
    d, p = num.ks_test(ref, w)
    expected = st.ks_2samp(a, b)
    assert d == expected.statistic and p == pytest.approx(expected.pvalue, rel=1e-9)
    assert num.wasserstein(ref, w, exact=True).value == pytest.approx(st.wasserstein_distance(a, b), rel=1e-9)


def _large(shape: str, rng: np.random.Generator, size: int, shift: float) -> np.ndarray:
    x = rng.normal(shift, 1 + shift, size)
    if shape == "lognormal":
        return np.exp(2 * x)
    if shape == "offset":
        return x + 1.7e9
    if shape == "pareto":  # heavy right tail: cells of the grid are split in two levels
        return rng.pareto(1.5, size) * (1 + shift)
    if shape == "cauchy":  # heavy tails on both sides
        return rng.standard_cauchy(size) + shift
    if shape == "outliers":
        return np.where(rng.random(size) < 1e-4, x * 1e12, x)
    if shape == "rounded":  # prices to the cent: many repeated values
        return np.round(np.abs(x) * 20, 2)
    if shape == "integers":
        return np.floor(np.abs(x) * 6)
    return x


SHAPES = ["normal", "lognormal", "pareto", "cauchy", "offset", "outliers", "rounded", "integers"]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("indexed", [True, False])
def test_large_reference_with_sampled_edges_is_still_exact(shape, indexed):
    """Beyond 262,144 values the edges come from a sample and the grid path is used throughout."""
    rng = np.random.default_rng(len(shape))
    a, b = _large(shape, rng, 300_000, 0.0), _large(shape, rng, 50_000, 0.01)
    ref = num.NumericReference.fit(a, index=indexed)
    if shape not in ("rounded", "integers"):  # continuous: cell-aligned edges, few bins merged
        assert ref.bins.snapped and ref.bins.n_bins > FINE_BINS // 2
    w = num.BinnedWindow.of(ref, b)
    probe = np.concatenate([b, ref.bins.edges, np.nextafter(ref.bins.edges, np.inf)])
    assert np.array_equal(ref.bins.index(probe), np.searchsorted(ref.bins.edges, probe, side="left"))
    assert np.array_equal(np.cumsum(w.counts)[:-1], np.searchsorted(np.sort(b), ref.bins.edges, side="right"))
    d, p = num.ks_test(ref, w)
    expected = st.ks_2samp(a, b)
    assert d == expected.statistic and p == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    w1 = st.wasserstein_distance(a, b)
    assert num.wasserstein(ref, w, exact=True).value == pytest.approx(w1, rel=1e-9, abs=1e-9 * np.abs(a).max() * 1e-6)
    bounds = num.wasserstein(ref, w)
    assert bounds.lower * (1 - 1e-9) <= w1 <= bounds.upper * (1 + 1e-9)


@pytest.mark.parametrize("n", [141, 5_000, 60_000, 300_000])
@pytest.mark.parametrize("nxx", [0.5, 2.2, 4.0, 30.0, 369.0])
def test_kstwo_sf_matches_scipy(n, nxx):
    from mlnb.checks.stats.kolmogorov import kstwo_sf

    d = float(np.sqrt(nxx / n))
    assert kstwo_sf(d, n) == pytest.approx(st.kstwo.sf(d, n), rel=1e-9)


@pytest.mark.parametrize("n", [5_000, 300_000, 2_000_000])
@pytest.mark.parametrize("nxx", [2.2, 9.0, 120.0])
def test_smirnov_tail_by_quadrature_equals_the_full_sum(n, nxx, monkeypatch):
    from mlnb.checks.stats import kolmogorov

    x = float(np.sqrt(nxx / n))
    fast = kolmogorov._smirnov_sf(n, x)
    monkeypatch.setattr(kolmogorov, "QUAD_POINTS", 10**9)  # every term of the hump, one by one
    assert fast == pytest.approx(kolmogorov._smirnov_sf(n, x), rel=2e-10, abs=0)


def _psi_by_definition(a, b, edges, eps):
    """PSI written out: counts on (-inf, q1], ..., (q_last, inf), shares floored at eps."""
    ra = np.bincount(np.searchsorted(edges, a, side="left"), minlength=len(edges) + 1) / len(a)
    cb = np.bincount(np.searchsorted(edges, b, side="left"), minlength=len(edges) + 1) / len(b)
    r, c = np.maximum(ra, eps), np.maximum(cb, eps)
    return float(((c - r) * np.log(c / r)).sum())


def _assert_deciles(a: np.ndarray, q: np.ndarray) -> None:
    """``q`` holds exactly the reference deciles: for each k = 1..9 the smallest value with at
    least k/10 of the values at or below it (integer arithmetic, no float rounding of k*n/10)."""
    s, n = np.sort(a), len(a)
    below, at_or_below = np.searchsorted(s, q, side="left"), np.searchsorted(s, q, side="right")
    ks = [[k for k in range(1, 10) if 10 * lo < k * n <= 10 * hi] for lo, hi in zip(below, at_or_below)]
    assert all(ks) and sorted(k for group in ks for k in group) == list(range(1, 10))


@SETTINGS
@given(shapes(min_size=20))
def test_psi_on_reference_deciles(shape):
    a, b = expand(shape)
    ref, w = _fit(a, b)
    q, r_le = ref.quantiles(10)
    _assert_deciles(a, q)
    assert np.array_equal(r_le, np.searchsorted(np.sort(a), q, side="right"))
    if len(np.unique(a)) == len(a):  # no ties: every decile bin holds n/10 values, rounded
        held = np.diff(np.concatenate([[0], r_le, [len(a)]]))
        assert set(held) <= {len(a) // 10, -(-len(a) // 10)}
    assert num.psi(ref, w) == pytest.approx(_psi_by_definition(a, b, q, num.PSI_EPS), rel=1e-12)


def test_psi_deciles_of_a_heavy_tail_are_exact_where_fine_bins_merge():
    """The once-flaky case: 352 lognormal values, whose fine bins merge values near zero (the
    first bin reaching 10 % held 12.2 %); PSI bins are the exact deciles whatever the fine bins."""
    a = np.exp(2 * np.random.default_rng(400).normal(size=352))
    ref = num.NumericReference.fit(a)
    assert ref.bins.n_bins < len(a)  # merged fine bins: the case that broke the old edges
    q, r_le = ref.quantiles(10)
    _assert_deciles(a, q)
    assert np.diff(np.concatenate([[0], r_le, [352]]))[0] == 36  # ceil(35.2), not 43
    w = num.BinnedWindow.of(ref, a[::-1].copy())
    assert num.psi(ref, w) == 0.0


def _large_shape(shape: str, seed: int, size: int, shift: float) -> np.ndarray:
    return _large(shape, np.random.default_rng(seed), size, shift)


@pytest.mark.parametrize("shape", ["lognormal", "pareto", "rounded"])
def test_psi_deciles_of_a_sampled_reference_are_exact(shape):
    """Beyond 262,144 values the fine edges come from a sample; the deciles are still the full
    reference's, and a window's counts at them equal a plain count."""
    a, b = _large_shape(shape, 1, 400_000, 0.0), _large_shape(shape, 2, 120_000, 0.05)
    ref, w = _fit(a, b)
    q, r_le = ref.quantiles(10)
    _assert_deciles(a, q)
    assert np.array_equal(w.count_le(ref.bins.edges, q), np.searchsorted(np.sort(b), q, side="right"))
    assert num.psi(ref, w) == pytest.approx(_psi_by_definition(a, b, q, num.PSI_EPS), rel=1e-12)


@hs.composite
def category_counts(draw):
    cats = draw(hs.lists(hs.sampled_from(list("abcdefgh")), min_size=1, max_size=8, unique=True))
    ref = {c: draw(hs.integers(0, 500)) for c in cats}
    cur = {c: draw(hs.integers(0, 500)) for c in draw(hs.lists(hs.sampled_from(list("abcdefghij")), max_size=10, unique=True))}
    return ref, cur


def _chi2_by_definition(r: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    """Pearson's statistic over the cells with a positive expected count; df = categories seen - 1."""
    table = np.vstack([r, c])
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / max(table.sum(), 1)
    seen = np.count_nonzero(table.sum(axis=0))
    if seen < 2 or not r.sum() or not c.sum():
        return 0.0, 1.0
    cells = expected > 0
    stat = float((((table - expected) ** 2)[cells] / expected[cells]).sum())
    return stat, float(st.chi2.sf(stat, seen - 1))


def _js_by_definition(r: np.ndarray, c: np.ndarray) -> float:
    p, q = r / r.sum(), c / c.sum()
    m = (p + q) / 2
    kl = lambda x: float((x[x > 0] * np.log2(x[x > 0] / m[x > 0])).sum())  # noqa: E731
    return float(np.sqrt(max(0.0, (kl(p) + kl(q)) / 2)))


def _psi_shares(r: np.ndarray, c: np.ndarray, eps: float = num.PSI_EPS) -> float:
    rs, cs = np.maximum(r / max(r.sum(), 1), eps), np.maximum(c / max(c.sum(), 1), eps)
    return float(((cs - rs) * np.log(cs / rs)).sum())


@SETTINGS
@given(category_counts())
def test_categorical_statistics_match_their_definitions(counts):
    ref, cur = counts
    cats, r, c = cat.align_counts(ref, cur)
    assert cats[: len(ref)] == list(ref) and set(cats) == set(ref) | set(cur)
    assert cat.chi2_homogeneity(r, c) == pytest.approx(_chi2_by_definition(r, c), rel=1e-9, abs=1e-300)
    assert cat.psi(r, c) == pytest.approx(_psi_shares(r, c), rel=1e-12, abs=1e-300)
    if r.sum() and c.sum():
        assert cat.jensen_shannon(r, c) == pytest.approx(_js_by_definition(r, c), rel=1e-7, abs=1e-7)
        assert cat.jensen_shannon(r, c) == pytest.approx(jensenshannon(r / r.sum(), c / c.sum(), base=2))
    else:
        assert np.isnan(cat.jensen_shannon(r, c))


def test_new_category_does_not_divide_by_zero():
    cats, r, c = cat.align_counts({"a": 50, "b": 50}, {"a": 40, "b": 40, "new": 20})
    assert cats == ["a", "b", "new"]
    stat, p = cat.chi2_homogeneity(r, c)
    # expected counts 45, 45 and 10 in each row; the observed ones differ by 5, 5 and 10
    expected = (5**2 / 45) * 4 + (10**2 / 10) * 2
    assert stat == pytest.approx(expected) and p == pytest.approx(st.chi2.sf(expected, 2))
    assert cat.psi(r, c) == pytest.approx(2 * (0.4 - 0.5) * np.log(0.8) + (0.2 - 1e-4) * np.log(0.2 / 1e-4))


@SETTINGS
@given(hs.lists(hs.one_of(hs.floats(0, 1), hs.just(float("nan"))), min_size=1, max_size=30))
def test_benjamini_hochberg_matches_scipy(ps):
    out = np.array(adjust(ps, "bh"))
    p = np.array(ps)
    ok = ~np.isnan(p)
    assert np.isnan(out[~ok]).all()
    if ok.any():
        assert np.allclose(out[ok], st.false_discovery_control(p[ok], method="bh"))
    assert np.array_equal(np.array(adjust(ps, "none")), p, equal_nan=True)


def test_discrete_columns_are_exact_without_refinement():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 50, 200_000).astype(float)
    b = rng.integers(0, 52, 150_000).astype(float)
    ref, w = _fit(a, b)
    assert ref.tied
    est = num.wasserstein(ref, w)  # no refinement asked for: flat CDFs inside every bin
    assert est.exact and est.value == pytest.approx(st.wasserstein_distance(a, b), rel=1e-9)
    cdfs = num._Cdfs(ref, w)
    assert np.allclose(cdfs.gap_lo[1:-1], cdfs.gap_hi[1:-1])


def test_discrete_reference_with_several_edges_in_one_grid_cell():
    """Clusters of distinct values closer than a grid cell: the lookup steps over several edges
    (the slowest binning path), and every statistic still equals scipy's."""
    rng = np.random.default_rng(4)
    base = np.linspace(0, 1, 3000)
    a = base[rng.integers(0, 3000, 200_000)] + 1e-9 * rng.integers(0, 3, 200_000)
    b = base[rng.integers(0, 3000, 50_000)] + 1e-9 * rng.integers(0, 4, 50_000) + 5e-10
    ref, w = _fit(a, b)
    assert not ref.bins.snapped and ref.bins._steps > 1  # cells hold up to that many edges
    probe = np.concatenate([b, ref.bins.edges, np.nextafter(ref.bins.edges, np.inf)])
    assert np.array_equal(ref.bins.index(probe), np.searchsorted(ref.bins.edges, probe, side="left"))
    d, p = num.ks_test(ref, w)
    expected = st.ks_2samp(a, b)
    assert d == expected.statistic and p == pytest.approx(expected.pvalue, rel=1e-9, abs=0)
    assert num.wasserstein(ref, w, exact=True).value == pytest.approx(st.wasserstein_distance(a, b), rel=1e-9)


def _w1_per_bin(a: np.ndarray, b: np.ndarray, e: np.ndarray) -> np.ndarray:
    """The integral of |F_a - F_b| over each [e[j], e[j + 1]], from the sorted samples (numpy only):
    the gap is constant between consecutive points of either sample or the edges."""
    pts = np.unique(np.concatenate([a, b, e]))
    start, length = pts[:-1], np.diff(pts)
    gap = np.searchsorted(np.sort(a), start, side="right") / len(a) - np.searchsorted(np.sort(b), start, side="right") / len(b)
    return np.bincount(np.searchsorted(e, start, side="right") - 1, weights=np.abs(gap) * length, minlength=len(e) - 1)


@SETTINGS
@given(shapes(min_size=2))
def test_wasserstein_bounds_hold_bin_by_bin(shape):
    """Each bin's bound against the exact integral over that bin: a bound that is too tight
    anywhere fails here even when the total stays within the (looser) total bounds."""
    a, b = expand(shape)
    ref, w = _fit(a, b)
    e, signed, unsure, upper = num.wasserstein_bins(ref, w, num._Cdfs(ref, w))
    exact = _w1_per_bin(a, b, e)
    # rounding: relative to the bin's value, and to the distances the per-bin sums are taken over
    far = np.abs(e[:-1] - ref.bins.origin) + np.abs(e[1:] - ref.bins.origin)
    tol = 1e-9 * exact + 1e-11 * far + 1e-300
    assert np.all(np.abs(exact[~unsure] - np.abs(signed[~unsure])) <= tol[~unsure])
    assert np.all(np.abs(signed[unsure]) <= exact[unsure] + tol[unsure])
    assert np.all(exact[unsure] <= np.maximum(upper, np.abs(signed[unsure])) + tol[unsure])


@pytest.mark.parametrize("n", [9_990, 200_000])
def test_a_far_outlier_costs_the_bulk_no_precision(n):
    """A constant column with one value at -1e12 (found by hypothesis): per-bin sums taken from
    the lowest edge summed n values of 1e12 and lost ~1e-9 of W1 to rounding."""
    a = np.zeros(n)
    a[0] = -1002470701697.0
    ref, w = _fit(a, np.zeros(4_100))
    assert num.wasserstein(ref, w, exact=True).value == pytest.approx(1002470701697.0 / n, rel=1e-12)


def test_a_far_outlier_above_a_constant_costs_no_precision():
    """Found by hypothesis: 21,394 zeros and one value at 4.3e11 (the middle edge is then the
    outlier itself); values on a bin's edge are left out of the sums, so nothing is rounded."""
    a = np.zeros(21_395)
    a[0] = 429679186963.0
    ref, w = _fit(a, np.zeros(2))
    assert num.wasserstein(ref, w, exact=True).value == pytest.approx(st.wasserstein_distance(a, np.zeros(2)), rel=1e-12)
