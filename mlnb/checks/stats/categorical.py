"""Two-sample statistics of a categorical column, over the union of categories seen in either.

* **Chi-square test of homogeneity** on the 2 x K table of counts (Pearson, no Yates correction):
  the statistic and p-value of ``scipy.stats.chi2_contingency(table, correction=False)``. A
  category that appears in only one sample is just another column of the table, so nothing
  divides by zero.
* **Jensen-Shannon distance** with log base 2, so it lies in [0, 1]: the value of
  ``scipy.spatial.distance.jensenshannon(p_ref, p_cur, base=2)``.
* **PSI** over the same categories with shares floored at ``eps``.

Both are computed here with the same operations, in the same order, as scipy computes them,
over ``scipy.special`` alone (``chdtrc``, ``rel_entr``): importing ``scipy.stats`` and
``scipy.spatial`` would cost a streamed drift about a second. The tests compare them with scipy's.
"""

from __future__ import annotations

import numpy as np

from .numeric import PSI_EPS, psi_from_counts

__all__ = ["chi2_homogeneity", "jensen_shannon", "align_counts", "psi_from_counts"]


def align_counts(ref: dict, cur: dict) -> tuple[list, np.ndarray, np.ndarray]:
    """Categories in either (reference order first, then new ones) and both count vectors."""
    cats = list(ref) + [c for c in cur if c not in ref]
    r = np.array([ref.get(c, 0) for c in cats], dtype=np.float64)
    c = np.array([cur.get(c, 0) for c in cats], dtype=np.float64)
    return cats, r, c


def chi2_homogeneity(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """(statistic, p-value) of the chi-square homogeneity test; (0, 1) with fewer than 2 categories."""
    keep = (ref_counts + cur_counts) > 0
    table = np.vstack([ref_counts[keep], cur_counts[keep]])
    if table.shape[1] < 2 or table[0].sum() == 0 or table[1].sum() == 0:
        return 0.0, 1.0
    from scipy.special import chdtrc

    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = np.sum((table - expected) ** 2 / expected)
    return float(statistic), float(chdtrc(float(table.shape[1] - 1), statistic))


def jensen_shannon(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Jensen-Shannon distance (square root of the divergence), log base 2, in [0, 1]."""
    if ref_counts.sum() == 0 or cur_counts.sum() == 0:
        return float("nan")
    from scipy.special import rel_entr

    p, q = ref_counts / np.sum(ref_counts), cur_counts / np.sum(cur_counts)
    m = (p + q) / 2.0
    divergence = (np.sum(rel_entr(p, m)) + np.sum(rel_entr(q, m))) / np.log(2)
    return float(np.sqrt(divergence / 2.0))


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray, eps: float = PSI_EPS) -> float:
    """PSI over categories (a category new in the window has reference share ``eps``)."""
    return psi_from_counts(ref_counts, cur_counts, eps)
