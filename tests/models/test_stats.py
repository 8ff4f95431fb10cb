"""The paired regression test's numbers, against scipy and by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from mlnb.models._stats import paired_test


def _labels(only_challenger: int, only_holder: int, both: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = only_challenger + only_holder + both
    y = np.ones(n, dtype=int)
    a, b = y.copy(), y.copy()
    b[:only_challenger] = 0  # the holder wrong where only the challenger is right
    a[only_challenger:only_challenger + only_holder] = 0
    return y, a, b


def test_mcnemar_counts_p_value_and_interval():
    y, a, b = _labels(30, 10, 160)
    out = paired_test(y, a, b, classification=True, margin=None)
    assert out["discordant"] == [30, 10] and out["rows"] == 200
    assert out["p_value"] == pytest.approx(binomtest(30, 40, 0.5).pvalue)
    assert out["difference"] == pytest.approx(0.1)
    se = np.sqrt((40 - 20**2 / 200) / 200**2)
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((0.1 - 1.959964 * se, 0.1 + 1.959964 * se), rel=1e-5)
    assert out["passed"] and out["margin"] == 0.01


def test_a_challenger_worse_beyond_the_margin_fails_and_equal_models_pass():
    y, a, b = _labels(5, 40, 155)
    assert not paired_test(y, a, b, classification=True, margin=0.05)["passed"]
    assert paired_test(y, b, b, classification=True, margin=0.0)["passed"]  # the same predictions


def test_paired_bootstrap_for_numbers():
    rng = np.random.default_rng(1)
    y = rng.normal(size=500)
    close, far = y + rng.normal(scale=0.1, size=500), y + rng.normal(scale=1.0, size=500)
    better = paired_test(y, close, far, classification=False, margin=None)
    assert better["test"] == "paired bootstrap" and better["passed"] and better["ci_low"] > 0
    worse = paired_test(y, far, close, classification=False, margin=None)
    assert not worse["passed"] and worse["ci_high"] < 0
    assert worse["margin"] == pytest.approx(0.01 * np.abs(close - y).mean())
