"""Estimated performance before labels arrive: confidence-based, as NannyML's CBPE.

Fitted once on a **reference** holding, for binary classification, the logged probability of the
positive class and the true outcome of each row (a baseline period of the log whose outcomes
arrived, or a DataFrame with ``proba`` and ``outcome`` columns, ``prediction`` optional). An
isotonic regression maps the probability to the observed frequency of the positive class there
(calibration). In a window without labels, each row then counts as ``p`` of a positive and
``1 - p`` of a negative, and the metrics follow from that expected confusion matrix (roc_auc
from the expected ROC curve).

The interval is the sampling spread of the realized metric if labels were drawn from the
calibrated probabilities: ``estimate ± z·σ`` (z = 3 by default, as NannyML's band), with σ from
Monte-Carlo draws on up to 20,000 rows of the window, scaled to its size.

Assumptions (as NannyML's): the calibration learned on the reference still holds — the shift
is in the inputs (covariate shift), not in P(outcome | inputs) (concept drift); and probabilities
that are informative. Under concept drift the estimate is wrong, and only realized performance
shows it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._performance import CLASSIFICATION, NAN, missing

#: rows of a window the Monte-Carlo spread is computed on (then scaled by sqrt(m / n))
SPREAD_ROWS = 20_000
DRAWS = 60
#: probabilities are calibrated at this resolution
ISOTONIC_DECIMALS = 4


class CBPE:
    """A calibration fitted on the reference; :meth:`estimate` scores one window."""

    def __init__(self, proba: np.ndarray, positive: np.ndarray, z: float = 3.0, seed: int = 0) -> None:
        self.x_, self.y_ = isotonic(proba, positive)
        self.z, self.seed = z, seed
        self.n_reference_ = len(proba)

    def calibrated(self, proba: np.ndarray) -> np.ndarray:
        """``clip(np.interp(proba, x_, y_), 0, 1)`` (the interpolation compiled: the same bits)."""
        from ._rank_kernels import interp

        return np.clip(interp(proba, self.x_, self.y_), 0.0, 1.0)

    def estimate(self, proba: np.ndarray, predicted_positive: np.ndarray,
                 order: np.ndarray | None = None) -> dict[str, tuple[float, float, float]]:
        """``{metric: (estimate, lower, upper)}`` for one window's probabilities and predictions
        (``order``: ``argsort_desc(proba)`` when already known)."""
        p = self.calibrated(proba)
        values = _expected(p, predicted_positive, proba, order)
        spread = self._spread(p, predicted_positive, proba)
        return {m: (values[m], values[m] - self.z * spread[m], values[m] + self.z * spread[m]) for m in CLASSIFICATION}

    def _spread(self, p: np.ndarray, pred: np.ndarray, score: np.ndarray) -> dict[str, float]:
        from scipy.stats import rankdata

        n = len(p)
        rng = np.random.default_rng(self.seed)
        take = rng.choice(n, SPREAD_ROWS, replace=False) if n > SPREAD_ROWS else np.arange(n)
        p, pred, score = p[take], pred[take], score[take]
        y = rng.random((DRAWS, len(p))) < p  # labels drawn from the calibrated probabilities
        tp = (y & pred).sum(1).astype(float)
        fp = (~y & pred).sum(1).astype(float)
        fn = (y & ~pred).sum(1).astype(float)
        tn = len(p) - tp - fp - fn
        n1 = y.sum(1).astype(float)
        ranks = rankdata(score)
        with np.errstate(divide="ignore", invalid="ignore"):
            draws = {"accuracy": (tp + tn) / len(p), "precision": tp / (tp + fp), "recall": tp / (tp + fn),
                     "f1": 2 * tp / (2 * tp + fp + fn),
                     "roc_auc": ((y * ranks).sum(1) - n1 * (n1 + 1) / 2) / (n1 * (len(p) - n1))}
        scale = np.sqrt(len(p) / n) if n else NAN
        return {m: float(np.nanstd(v)) * scale if np.isfinite(v).sum() > 1 else NAN for m, v in draws.items()}


def isotonic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The non-decreasing fit of ``y`` on ``x`` rounded to 4 decimals (pool adjacent violators):
    ``(x values, fitted)``, to interpolate between (flat beyond the ends), as scikit-learn's
    IsotonicRegression on those values."""
    x = np.round(x, ISOTONIC_DECIMALS)  # at most 10^4 + 1 distinct values: the fit's loop stays short
    ux, inverse, counts = _unique_counts(x)
    sums = np.bincount(inverse, weights=y)
    block_sum: list[float] = []
    block_n: list[float] = []
    block_len: list[int] = []
    for total, n in zip(sums.tolist(), counts.tolist()):
        block_sum.append(total)
        block_n.append(n)
        block_len.append(1)
        while len(block_sum) > 1 and block_sum[-2] / block_n[-2] >= block_sum[-1] / block_n[-1]:
            total, n, k = block_sum.pop(), block_n.pop(), block_len.pop()
            block_sum[-1] += total
            block_n[-1] += n
            block_len[-1] += k
    fitted = np.repeat(np.array(block_sum) / np.array(block_n), block_len)
    return ux, fitted


def _unique_counts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(x, return_inverse=True, return_counts=True)`` for finite floats, by hashing
    (pandas' factorize) and sorting only the distinct values."""
    if not np.isfinite(x).all():
        return np.unique(x, return_inverse=True, return_counts=True)
    import pandas as pd

    codes, distinct = pd.factorize(x, sort=True)
    return np.asarray(distinct, dtype=x.dtype), codes.astype(np.intp), np.bincount(codes, minlength=len(distinct))


def _expected(p: np.ndarray, pred: np.ndarray, score: np.ndarray, order: np.ndarray | None = None) -> dict[str, float]:
    """Metrics of the expected confusion matrix (each row is p positive, 1 - p negative)."""
    p_pred, p_other = p[pred], p[~pred]  # each selection made once (the same values, the same sums)
    tp, fp = float(p_pred.sum()), float((1 - p_pred).sum())
    fn, tn = float(p_other.sum()), float((1 - p_other).sum())
    n = len(p)

    def ratio(a: float, b: float) -> float:
        return a / b if b > 0 else NAN

    from ._rank_kernels import argsort_desc

    if order is None:
        order = argsort_desc(score)  # np.argsort(-score, kind="stable"), by a radix sort
    p_sorted = p[order]
    cum_tp, cum_fp = np.cumsum(p_sorted), np.cumsum(1 - p_sorted)
    pos, neg = cum_tp[-1] if n else 0.0, cum_fp[-1] if n else 0.0
    auc = NAN
    if pos > 0 and neg > 0:
        # only where the score changes does the curve have a point (ties move together)
        sorted_score = score[order]
        last = np.r_[sorted_score[1:] != sorted_score[:-1], True]
        tpr = np.r_[0.0, cum_tp[last] / pos]
        fpr = np.r_[0.0, cum_fp[last] / neg]
        auc = float(np.trapezoid(tpr, fpr))
    return {"accuracy": ratio(tp + tn, n), "precision": ratio(tp, tp + fp), "recall": ratio(tp, tp + fn),
            "f1": ratio(2 * tp, 2 * tp + fp + fn), "roc_auc": auc}


def fit(proba: Any, outcome: Any, positive: Any, min_rows: int = 100) -> tuple[CBPE | None, str]:
    """A CBPE from reference rows (those with an outcome), or None and why not."""
    proba = np.asarray(proba, dtype=float)
    outcome = np.asarray(outcome)
    keep = np.isfinite(proba) & ~missing(outcome)
    if keep.sum() < min_rows:
        return None, (f"estimated performance needs a reference with at least {min_rows} rows holding a "
                      f"probability and an outcome; it has {int(keep.sum())}")
    y = outcome[keep] == positive
    if y.all() or not y.any():
        return None, "estimated performance needs both classes among the reference's outcomes"
    return CBPE(proba[keep], y.astype(float)), ""

