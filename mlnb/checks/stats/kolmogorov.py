"""The two-sided KS p-value of scipy's asymptotic mode, fast where scipy is slow.

``scipy.stats.ks_2samp`` (``method="auto"`` beyond 10,000 values) returns
``kstwo.sf(D, round(n*m/(n+m)))``. For large ``N = round(n*m/(n+m))`` and
``2.2 <= N*D**2 < 370`` scipy evaluates that as ``2 * smirnov(N, D)``, which takes about a second
per call at N = 500,000. Here the same one-sided Smirnov tail is computed from the exact
Birnbaum-Tingey formula, in log space (within 1e-9 relative of scipy's value up to N = 10^6).
Beyond 100,000 (and below ``N*D**2 = 2.2``) scipy takes one minus the Pelz-Good approximation of
the CDF, computed here by :func:`_pelz_good_cdf` with the same operations (tested within 1e-12
relative of scipy); at ``N*D**2 >= 370`` the value is 0, as scipy's. These cases need only
``scipy.special``, not ``scipy.stats`` (about 0.5 s to import); every other case is delegated to
scipy unchanged.
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


def _pelz_good_cdf(n: int, x: float) -> float:
    """P(D_n <= x) by the Pelz-Good expansion ``K0 + K1/sqrt(n) + K2/n + K3/n**1.5`` in
    ``z = x sqrt(n)``, each ``K`` a theta-function series evaluated for small ``z`` (Pelz and Good,
    1976; Simard and L'Ecuyer, 2011): the sums over odd ``m = 2k - 1`` of powers of
    ``q = exp(-pi^2 / (8 z^2))`` by Horner's scheme from the largest ``k``, then the sums over
    all ``k`` of powers of ``exp(-pi^2 / (2 z^2))``, in the order scipy evaluates them."""
    pi2, pi4, pi6 = np.pi ** 2, np.pi ** 4, np.pi ** 6
    root_2pi = np.sqrt(2 * np.pi)
    z = np.sqrt(n) * x
    z2, z3, z4, z6 = z ** 2, z ** 3, z ** 4, z ** 6
    log_q = -pi2 / 8 / z2
    if log_q < -708:  # q underflows: every term is 0
        return 0.0
    q = np.exp(log_q)
    c1 = (-z2, pi2 / 4)
    c2 = (6 * z6 + 2 * z4, (2 * z4 - 5 * z2) * pi2 / 4, pi4 * (1 - 2 * z2) / 16)
    c3 = (-30 * z6 - 90 * z ** 8, pi2 * (135 * z4 - 96 * z6) / 4, pi4 * (-60 * z2 + 212 * z4) / 16,
          pi6 * (5 - 30 * z2) / 64)
    terms = np.zeros(4)
    top = int(np.ceil(16 * z / np.pi))
    for k in range(top, 0, -1):
        m = 2 * k - 1
        m2, m4, m6 = m ** 2, m ** 4, m ** 6
        terms *= np.power(q, 8 * k)
        terms += np.array([1.0, c1[0] + c1[1] * m2, c2[0] + c2[1] * m2 + c2[2] * m4,
                           c3[0] + c3[1] * m2 + c3[2] * m4 + c3[3] * m6])
    terms *= q
    terms *= root_2pi
    terms /= np.array([z, 6 * z4, 72 * z ** 7, 6480 * z ** 10])
    q = np.exp(-pi2 / 2 / z2)
    k = np.arange(top, 0, -1)
    k2 = k ** 2
    powers = q ** k2
    extra2 = np.sum(k2 * powers)
    extra2 *= pi2 * root_2pi / (-36 * z3)
    terms[2] += extra2
    root3_z, k_pi = np.sqrt(3) * z, np.pi * k
    extra3 = np.sum((root3_z + k_pi) * (root3_z - k_pi) * k2 * powers)
    extra3 *= pi2 * root_2pi / (216 * z6)
    terms[3] += extra3
    terms /= np.power(n * 1.0, np.arange(4) / 2.0)
    return float(sum(terms))


def kstwo_sf(d: float, n: int) -> float:
    """``scipy.stats.kstwo.sf(d, n)``, computed faster in scipy's slow regime, and without
    importing ``scipy.stats`` for large ``n`` (module docstring)."""
    nxx = n * d * d
    if n > 140 and 0 < d < 0.5 and 1 < n * d < n - 1:
        if nxx >= 370:
            return 0.0
        if nxx >= 2.2:
            return float(np.clip(2 * _smirnov_sf(int(n), float(d)), 0.0, 1.0))
        if n > 100_000 or n * d ** 1.5 > 1.4:
            return float(np.clip(1.0 - _pelz_good_cdf(n, d), 0.0, 1.0))
    from scipy.stats import kstwo

    return float(kstwo.sf(d, n))
