"""Multiple-testing correction across the columns of one report."""

from __future__ import annotations

import numpy as np

CORRECTIONS = ("bh", "by", "bonferroni", "none")


def adjust(pvalues: list[float], method: str = "bh") -> list[float]:
    """Adjusted p-values; NaN (no test) stays NaN and is not counted in the family.

    ``bh``/``by``: Benjamini-Hochberg / -Yekutieli, the values of
    ``scipy.stats.false_discovery_control`` (:func:`_step_up`; tested equal);
    ``bonferroni``: ``min(1, p * k)``; ``none``: unchanged.
    """
    if method not in CORRECTIONS:
        from ...errors import UsageError

        raise UsageError(f"unknown correction {method!r}: use one of {', '.join(CORRECTIONS)}")
    p = np.asarray(pvalues, dtype=np.float64)
    out = p.copy()
    ok = ~np.isnan(p)
    if not ok.any() or method == "none":
        return out.tolist()
    if method == "bonferroni":
        out[ok] = np.minimum(1.0, p[ok] * ok.sum())
    else:
        out[ok] = _step_up(p[ok], method)
    return out.tolist()


def _step_up(p: np.ndarray, method: str) -> np.ndarray:
    """Step-up adjusted p-values: sorted ascending, the i-th of m scaled by m / i (and, for
    ``by``, by the harmonic number of m), then each lowered to the smallest value after it, and
    clipped to [0, 1]. The same operations in the same order as scipy's, so the same bits,
    without importing ``scipy.stats`` (about 0.5 s)."""
    m = len(p)
    if m <= 1:
        return p.copy()
    order = np.argsort(p)
    ranked = p[order]
    i = np.arange(1, m + 1, dtype=ranked.dtype)
    ranked *= m / i
    if method == "by":
        ranked *= np.sum(1 / i)
    np.minimum.accumulate(ranked[::-1], out=ranked[::-1])
    out = np.empty_like(ranked)
    out[order] = ranked
    return np.clip(out, 0.0, 1.0)
