"""Multiple-testing correction across the columns of one report."""

from __future__ import annotations

import numpy as np

CORRECTIONS = ("bh", "by", "bonferroni", "none")


def adjust(pvalues: list[float], method: str = "bh") -> list[float]:
    """Adjusted p-values; NaN (no test) stays NaN and is not counted in the family.

    ``bh``/``by``: Benjamini-Hochberg / -Yekutieli (``scipy.stats.false_discovery_control``);
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
        from scipy.stats import false_discovery_control

        out[ok] = false_discovery_control(p[ok], method=method)
    return out.tolist()
