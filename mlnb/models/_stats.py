"""The paired regression test: both versions scored on the same rows.

Labels (a classifier): McNemar's exact test on the rows where exactly one model is right, and a
95 % interval of the accuracy difference for paired proportions. Numbers (a regressor): a paired
bootstrap (1,000 resamples of the rows) of the difference in mean absolute error. The gate passes
when the interval's worst end is no further below zero than the margin: the challenger is, at
95 %, not worse than the holder by more than the margin.
"""

from __future__ import annotations

import math
from typing import Any

BOOTSTRAP = 1000
_Z = 1.959963984540054  # two-sided 95 %


def paired_test(y: Any, challenger: Any, holder: Any, classification: bool, margin: float | None) -> dict[str, Any]:
    """Compare two models' predictions on the same rows; returns the numbers and ``passed``."""
    import numpy as np

    y = np.asarray(y)
    a, b = np.asarray(challenger), np.asarray(holder)
    n = len(y)
    if classification:
        right_a, right_b = a == y, b == y
        only_b = int(np.sum(right_b & ~right_a))  # the holder right, the challenger wrong
        only_a = int(np.sum(right_a & ~right_b))
        diff = (only_a - only_b) / n
        var = max((only_a + only_b) - (only_a - only_b) ** 2 / n, 0.0) / n**2
        half = _Z * math.sqrt(var)
        from scipy.stats import binomtest

        p = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
        margin = 0.01 if margin is None else margin
        out = {"test": "McNemar", "metric": "accuracy", "challenger": float(right_a.mean()),
               "holder": float(right_b.mean()), "p_value": float(p), "discordant": [only_a, only_b]}
    else:
        err_a, err_b = np.abs(a - y), np.abs(b - y)
        gain = err_b - err_a  # > 0 where the challenger is closer
        diff = float(gain.mean())
        rng = np.random.default_rng(0)
        means = np.empty(BOOTSTRAP)
        for i in range(BOOTSTRAP):
            means[i] = gain[rng.integers(0, n, n)].mean()
        low, high = np.percentile(means, [2.5, 97.5])
        half = None
        margin = 0.01 * float(err_b.mean()) if margin is None else margin
        out = {"test": "paired bootstrap", "metric": "mae", "challenger": float(err_a.mean()),
               "holder": float(err_b.mean()), "p_value": None}
    low, high = (diff - half, diff + half) if half is not None else (float(low), float(high))
    out.update(difference=float(diff), ci_low=float(low), ci_high=float(high), margin=float(margin),
               rows=n, passed=bool(low >= -margin - 1e-12))
    return out
