"""The compiled kernels of window metrics give the bits of the NumPy / SciPy calls they replace."""

from __future__ import annotations

import numpy as np
import pytest

from mlnb.monitor import _performance as perf
from mlnb.monitor import _rank_kernels as rk


def _scores(rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = 50_000
    rounded = np.round(rng.random(n), 3)  # many ties
    signed = rng.normal(size=n)
    signed[::50] = 0.0
    signed[1::50] = -0.0  # equal to 0.0, as NumPy compares
    return {"probabilities": rng.random(n), "ties": rounded, "signed with zeros": signed,
            "extremes": np.r_[rng.random(n - 4), [0.0, 1.0, 1e-300, -1e300]],
            "constant": np.full(1000, 0.5)}


@pytest.mark.parametrize("name", list(_scores(np.random.default_rng(0))))
def test_order_auc_and_interpolation_equal_numpy_bit_for_bit(name):
    rng = np.random.default_rng(1)
    score = _scores(rng)[name]
    np.testing.assert_array_equal(rk.argsort_desc(score), np.argsort(-score, kind="stable"))
    y = rng.random(len(score)) < 0.3
    fast = rk.mann_whitney_auc(y, score)
    from scipy.stats import rankdata

    n1 = int(y.sum())
    slow = float((rankdata(score)[y].sum() - n1 * (n1 + 1) / 2) / (n1 * (len(y) - n1)))
    assert fast == slow or (np.isnan(fast) and np.isnan(slow))
    assert perf.roc_auc(y, score) == fast or np.isnan(fast)
    keep = rng.random(len(score)) < 0.8  # the rows with an outcome: their order from the window's
    sub = rk.subset_order(rk.argsort_desc(score), keep)
    np.testing.assert_array_equal(sub, np.argsort(-score[keep], kind="stable"))
    assert rk.mann_whitney_auc(y[keep], score[keep], sub) == rk.mann_whitney_auc(y[keep], score[keep])
    xp = np.unique(np.round(rng.random(3000), 4))
    fp = np.sort(rng.random(len(xp)))
    fp[10:20] = fp[10]  # flat steps, as an isotonic fit has
    x = np.r_[score, xp, xp[:-1] + np.diff(xp) / 2, [-1.0, 2.0, xp[0], xp[-1]]]
    assert rk.interp(x, xp, fp).tobytes() == np.interp(x, xp, fp).tobytes()


def test_hashed_uniques_equal_numpys():
    from mlnb.monitor._cbpe import _unique_counts

    rng = np.random.default_rng(2)
    labels = np.r_[rng.integers(0, 3, 10_000).astype(float), [np.nan, 2.0, np.nan]]
    np.testing.assert_array_equal(perf.unique(labels), np.unique(labels))
    text = np.array(["b", "a", "b", "c"])
    np.testing.assert_array_equal(perf.unique(text), np.unique(text))
    for x in (np.round(rng.random(50_000), 4), np.r_[np.round(rng.random(100), 4), [0.0, 1.0]], np.array([0.5])):
        for mine, numpys in zip(_unique_counts(x), np.unique(x, return_inverse=True, return_counts=True)):
            np.testing.assert_array_equal(mine, numpys)
