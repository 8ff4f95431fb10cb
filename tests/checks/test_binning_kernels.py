"""The compiled binning pass gives the bits of the NumPy pass it replaces (every kind of bins)."""

from __future__ import annotations

import numpy as np
import pytest

from mlnb.checks.stats import binning
from mlnb.checks.stats.binning import ReferenceBins


def _numpy_count(bins: ReferenceBins, x: np.ndarray, at_edge: bool):
    """``ReferenceBins.count`` with the kernel switched off (its NumPy blocks)."""
    keep = binning.KERNEL_MIN
    binning.KERNEL_MIN = 1 << 62
    try:
        return bins.count(x, at_edge=at_edge, bounds=(float(x.min()), float(x.max())))
    finally:
        binning.KERNEL_MIN = keep


def _cases():
    rng = np.random.default_rng(7)
    yield "normal", rng.normal(size=300_000), rng.normal(0.3, 1.5, 200_003)
    yield "heavy tails (two-level grid)", rng.standard_cauchy(300_000), rng.standard_cauchy(150_000) * 3
    yield "discrete (edges are values)", rng.poisson(4, 300_000).astype(float), rng.poisson(5, 140_000).astype(float)
    yield "large offset", 1e9 + rng.normal(size=100_000), 1e9 + rng.normal(size=90_000)
    far = rng.normal(size=80_000)
    far[::997] = 1e300
    far[1::991] = -1e300
    yield "values far off the grid", rng.normal(size=100_000), far


@pytest.mark.parametrize("case", list(_cases()), ids=lambda c: c[0])
def test_compiled_binning_equals_numpy_bit_for_bit(case):
    _, ref, window = case
    bins = ReferenceBins.fit(ref)
    assert bins._lut is not None and len(window) >= binning.KERNEL_MIN
    for at_edge in (False, True):
        fast = bins.count(window, at_edge=at_edge)
        slow = _numpy_count(bins, window, at_edge)
        np.testing.assert_array_equal(fast[0], slow[0])
        np.testing.assert_array_equal(fast[1], slow[1])
        assert fast[2].tobytes() == slow[2].tobytes()  # sums: the same bits, not just close
        if at_edge:
            np.testing.assert_array_equal(fast[3], slow[3])
    np.testing.assert_array_equal(bins.index(window), np.searchsorted(bins.edges, window, side="left"))
    np.testing.assert_array_equal(fast[0], np.searchsorted(bins.edges, window, side="left"))


def test_drift_rows_with_kernels_equal_numpys_and_decisions_equal_scipys(monkeypatch):
    """A window above the kernels' size: every row of the drift report (statistics, p-values,
    scores, decisions) is the one the NumPy path gives, and each decision is the one scipy's exact
    KS and Wasserstein distance give."""
    import pandas as pd
    import scipy.stats as st

    import mlnb
    from mlnb.checks.stats import numeric

    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"same": rng.normal(size=20_000), "shifted": rng.normal(size=20_000),
                        "counts": rng.poisson(3, 20_000).astype(float)})
    cur = pd.DataFrame({"same": rng.normal(size=150_000), "shifted": rng.normal(0.15, 1, 150_000),
                        "counts": rng.poisson(3.4, 150_000).astype(float)})
    profile = mlnb.checks.profile(ref)
    fast = profile.drift(cur, exact=True).to_frame()
    monkeypatch.setattr(binning, "KERNEL_MIN", 1 << 62)
    monkeypatch.setattr(numeric, "KERNEL_MIN", 1 << 62)
    slow = profile.drift(cur, exact=True).to_frame()
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    rows = fast.set_index("column")
    for c in ref.columns:
        ks = st.ks_2samp(ref[c], cur[c])
        w1 = st.wasserstein_distance(ref[c], cur[c]) / ref[c].std(ddof=0)
        assert rows.loc[c, "statistic"] == pytest.approx(ks.statistic, abs=1e-12)
        assert rows.loc[c, "score"] == pytest.approx(w1, rel=1e-9)
        decided = rows.loc[c, "p_adjusted"] < 0.05 and w1 >= 0.1
        assert bool(rows.loc[c, "drifted"]) == decided
    assert list(rows["drifted"]) == [False, True, True]
    # the default: beyond 100,000 values Wasserstein is bounded (refined only where the threshold
    # falls inside the bounds): the decisions stay scipy's, the score within its stated error
    monkeypatch.undo()
    bounded = profile.drift(cur).to_frame().set_index("column")
    for c in ref.columns:
        w1 = st.wasserstein_distance(ref[c], cur[c]) / ref[c].std(ddof=0)
        assert abs(bounded.loc[c, "score"] - w1) <= bounded.loc[c, "score_error"] + 1e-12
        assert bounded.loc[c, "drifted"] == rows.loc[c, "drifted"]
