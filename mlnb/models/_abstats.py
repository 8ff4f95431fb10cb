"""Two-sample statistics for the A/B analysis: one arm against the control arm.

Rates (0/1 outcomes): each arm's rate with a Wilson score interval; the difference with the
Farrington–Manning score interval (good coverage at small counts and rates near 0 or 1, where
the textbook Wald interval fails) and the p-value of the pooled two-proportion z-test, which is
that same score test at 0: the interval excludes 0 exactly when p < 0.05. With an expected cell
count below 5 the p-value is Fisher's exact test's instead.
Means (numbers): Welch's t-test and its interval (unequal variances, Welch–Satterthwaite degrees
of freedom). Power at alpha 0.05 and power 0.8 by the normal approximation, with Cohen's h for
rates (the arcsine transform) and Cohen's d (pooled sd) for means: the n per arm that detects
the observed difference, and the smallest difference detectable with the counts at hand.
"""

from __future__ import annotations

import math
from typing import Any

ALPHA, POWER = 0.05, 0.8
#: Fisher's exact test replaces the z-test when an expected cell count is below this
MIN_EXPECTED = 5


def _z(q: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(q)


def _t_quantile(q: float, df: float) -> float:
    from scipy.special import stdtrit  # scipy.special, not scipy.stats: a second less at start-up

    return float(stdtrit(df, q))


def _t_two_sided(t: float, df: float) -> float:
    from scipy.special import stdtr

    return float(2 * stdtr(df, -abs(t)))


def wilson(k: int, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``k / n``."""
    z = _z(1 - alpha / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def compare_rates(k_arm: int, n_arm: int, k_control: int, n_control: int) -> dict[str, Any]:
    """The arm's rate minus the control's: difference, 95 % interval, p-value, test, power."""
    p1, p0 = k_arm / n_arm, k_control / n_control
    diff = p1 - p0
    pooled = (k_arm + k_control) / (n_arm + n_control)
    expected = min(n * share for n in (n_arm, n_control) for share in (pooled, 1 - pooled))
    if expected < MIN_EXPECTED:
        from scipy.stats import fisher_exact

        table = [[k_arm, n_arm - k_arm], [k_control, n_control - k_control]]
        p_value, test = float(fisher_exact(table).pvalue), "Fisher exact"
    else:
        z = _score_z(0.0, p1, n_arm, p0, n_control)  # at 0 the score statistic is the pooled z
        p_value, test = math.erfc(abs(z) / math.sqrt(2)), "two-proportion z"
    low, high = _score_interval(p1, n_arm, p0, n_control)
    h = 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p0))
    return {"difference": diff, "ci_low": low, "ci_high": high, "p_value": p_value, "test": test,
            "n_needed": _n_needed(h), "mde": _rate_mde(p0, n_arm, n_control, up=diff >= 0)}


def _score_z(delta: float, p1: float, n1: int, p0: float, n0: int) -> float:
    """Farrington–Manning's score statistic for ``p1 - p0 = delta``: the variance at the rates that
    fit the data best under that difference (Miettinen–Nurminen's closed form of that fit)."""
    theta = n0 / n1
    a = 1 + theta
    b = -(1 + theta + p1 + theta * p0 + delta * (theta + 2))
    c = delta * delta + delta * (2 * p1 + theta + 1) + p1 + theta * p0
    d = -p1 * delta * (1 + delta)
    v = b**3 / (27 * a**3) - b * c / (6 * a * a) + d / (2 * a)
    u = math.copysign(math.sqrt(max(b * b / (9 * a * a) - c / (3 * a), 0.0)), v)
    w = (math.pi + math.acos(max(-1.0, min(1.0, v / u**3)))) / 3 if u else math.pi / 3
    q1 = min(max(2 * u * math.cos(w) - b / (3 * a), 0.0), 1.0)
    q0 = min(max(q1 - delta, 0.0), 1.0)
    var = q1 * (1 - q1) / n1 + q0 * (1 - q0) / n0
    gap = p1 - p0 - delta
    return gap / math.sqrt(var) if var > 0 else math.copysign(math.inf, gap) if gap else 0.0


def _score_interval(p1: float, n1: int, p0: float, n0: int) -> tuple[float, float]:
    """The differences the score test at ``ALPHA`` does not reject (by bisection): the interval that
    excludes 0 exactly when the two-proportion z-test rejects, so the interval and p-value agree."""
    z = _z(1 - ALPHA / 2)
    diff = p1 - p0

    def bound(lo: float, hi: float, target: float) -> float:
        for _ in range(60):  # 2**-60 of the range: far below what any display shows
            mid = (lo + hi) / 2
            if _score_z(mid, p1, n1, p0, n0) > target:  # z falls as the difference grows
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    return bound(-1.0, diff, z), bound(diff, 1.0, -z)


def _rate_mde(p0: float, n1: int, n0: int, up: bool) -> float:
    """The smallest change of the control's rate ``p0`` detectable with these counts (Cohen's h),
    in the direction ``up`` (the observed one), or the other one where ``p0`` is at that bound."""
    h = _zsum() * math.sqrt(1 / n1 + 1 / n0)
    base = math.asin(math.sqrt(p0))
    if (up and p0 >= 1) or (not up and p0 <= 0):
        up = not up
    reach = min(base + h / 2, math.pi / 2) if up else max(base - h / 2, 0.0)
    return abs(math.sin(reach) ** 2 - p0)


def mean_interval(x: Any) -> tuple[float | None, float | None]:
    """The t interval of the mean of ``x`` (None with fewer than 2 values)."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    if len(x) < 2:
        return None, None
    half = _t_quantile(1 - ALPHA / 2, len(x) - 1) * float(x.std(ddof=1)) / math.sqrt(len(x))
    return float(x.mean()) - half, float(x.mean()) + half


def compare_means(arm: Any, control: Any) -> dict[str, Any]:
    """The arm's mean minus the control's (Welch): difference, 95 % interval, p-value, test, power."""
    import numpy as np

    x1, x0 = np.asarray(arm, dtype=float), np.asarray(control, dtype=float)
    n1, n0 = len(x1), len(x0)
    diff = float(x1.mean() - x0.mean())
    out: dict[str, Any] = {"difference": diff, "ci_low": None, "ci_high": None, "p_value": None, "test": "Welch t",
                           "n_needed": None, "mde": None}
    if n1 < 2 or n0 < 2:
        return out
    v1, v0 = float(x1.var(ddof=1)) / n1, float(x0.var(ddof=1)) / n0
    se = math.sqrt(v1 + v0)
    sd = math.sqrt(((n1 - 1) * v1 * n1 + (n0 - 1) * v0 * n0) / (n1 + n0 - 2))
    if se == 0:  # no spread in either arm: nothing to test
        return out
    df = (v1 + v0) ** 2 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1))
    half = _t_quantile(1 - ALPHA / 2, df) * se
    out.update(ci_low=diff - half, ci_high=diff + half, p_value=_t_two_sided(diff / se, df),
               n_needed=_n_needed(diff / sd), mde=_zsum() * sd * math.sqrt(1 / n1 + 1 / n0))
    return out


def _zsum() -> float:
    return _z(1 - ALPHA / 2) + _z(POWER)


def _n_needed(effect: float) -> int | None:
    """Units per arm (equal arms) that detect a standardised ``effect`` with the set power; None for 0."""
    if effect == 0 or not math.isfinite(effect):
        return None
    return math.ceil(2 * (_zsum() / effect) ** 2)


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm's step-down adjustment (None stays None): the family-wise error stays at most alpha."""
    known = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    out: list[float | None] = [None] * len(p_values)
    running, m = 0.0, len(known)
    for rank, (p, i) in enumerate(known):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out
