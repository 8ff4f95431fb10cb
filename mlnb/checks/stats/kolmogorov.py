"""The two-sided KS p-value of scipy's asymptotic mode, fast where scipy is slow.

``scipy.stats.ks_2samp`` (``method="auto"`` beyond 10,000 values) returns
``kstwo.sf(D, round(n*m/(n+m)))``. For large ``N = round(n*m/(n+m))`` and
``2.2 <= N*D**2 < 370`` scipy evaluates that as ``2 * smirnov(N, D)``, which takes about a second
per call at N = 500,000. Here the same one-sided Smirnov tail is computed from the exact
Birnbaum-Tingey formula, in log space (within 1e-9 relative of scipy's value up to N = 10^6);
every other case is delegated to scipy unchanged.
"""

from __future__ import annotations

import numpy as np

COARSE_POINTS = 1024
#: points of the trapezoid rule across the hump of terms (a hump narrower than this is summed term by term)
QUAD_POINTS = 400


def _log_terms(n: int, x: float, j: np.ndarray) -> np.ndarray:
    from scipy.special import gammaln

    rest = 1.0 - x - j / n
    with np.errstate(divide="ignore"):
        log_rest = np.where(rest > 0, np.log(np.maximum(rest, 1e-300)), -np.inf)
        return (gammaln(n + 1.0) - gammaln(j + 1) - gammaln(n - j + 1) + np.log(x)
                + (j - 1) * np.log(x + j / n) + (n - j) * log_rest)


def _smirnov_sf(n: int, x: float) -> float:
    """P(D+_n >= x) by Birnbaum-Tingey: sum_j C(n,j) x (x + j/n)^(j-1) (1 - x - j/n)^(n-j).

    The terms form one smooth hump, thousands to hundreds of thousands of terms wide. A coarse
    pass finds it and the terms within e^-40 of its top; their sum is then taken as the
    integral of the (analytic) term function, by the trapezoid rule on ``QUAD_POINTS`` points.
    For a hump that wide the rule's error is far below rounding, and summing every term
    instead changes the result by less than 1e-10 relative (tested), at a hundredth of the cost.
    """
    from scipy.special import logsumexp

    top = int(np.floor(n * (1 - x)))
    step = max(1, top // COARSE_POINTS)
    coarse_j = np.arange(0, top + 1, step, dtype=np.float64)
    coarse = _log_terms(n, x, coarse_j)
    keep = np.flatnonzero(coarse > coarse.max() - 40)
    lo = max(0, int(coarse_j[keep[0]]) - 2 * step)
    hi = min(top, int(coarse_j[keep[-1]]) + 2 * step)
    h = max(1, (hi - lo) // QUAD_POINTS)
    return float(np.exp(logsumexp(_log_terms(n, x, np.arange(lo, hi + 1, h, dtype=np.float64))) + np.log(h)))


def kstwo_sf(d: float, n: int) -> float:
    """``scipy.stats.kstwo.sf(d, n)``, computed faster in scipy's slow regime."""
    nxx = n * d * d
    if n > 140 and 0 < d < 0.5 and 1 < n * d < n - 1 and 2.2 <= nxx < 370:
        return float(np.clip(2 * _smirnov_sf(int(n), float(d)), 0.0, 1.0))
    from scipy.stats import kstwo

    return float(kstwo.sf(d, n))
