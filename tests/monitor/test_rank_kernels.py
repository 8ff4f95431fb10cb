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


@pytest.mark.parametrize("case", ["two classes", "one class", "one class true", "signed zero", "nan", "three",
                                  "negative labels"])
def test_binary_counts_give_the_plain_metrics_bit_for_bit(case):
    """Realized metrics from the one-pass counts equal those from hashing the labels and
    counting boolean arrays; NaN labels or a third class leave the kernel (None)."""
    from mlnb.monitor._count_kernels import binary_counts

    rng = np.random.default_rng(2)
    y_true = (rng.random(3001) < 0.4).astype(float)
    y_pred = (rng.random(3001) < 0.5).astype(float)
    if case == "one class":
        y_true[:] = y_pred[:] = 1.0
    elif case == "one class true":
        y_true[:] = 0.0
    elif case == "signed zero":
        y_pred[y_pred == 0] = -0.0
    elif case == "nan":
        y_pred[7] = np.nan
    elif case == "three":
        y_true[3] = 2.0
    elif case == "negative labels":
        y_true, y_pred = y_true * 2 - 1, y_pred * 2 - 1
    fast = binary_counts(y_pred, y_true)
    if case in ("nan", "three"):
        assert fast is None
        return
    plain, pos = perf._counted(y_pred, y_true)
    equal, tp, fp, fn, positive = fast
    assert positive == pos
    mine = {"accuracy": (equal / len(y_true), ""), **perf._prf(tp, fp, fn)}
    assert list(mine) == list(plain) and [n for _, n in mine.values()] == [n for _, n in plain.values()]
    for m in mine:  # the same bits (NaN where a ratio is undefined)
        assert np.float64(mine[m][0]).tobytes() == np.float64(plain[m][0]).tobytes()
