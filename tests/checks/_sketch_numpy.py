"""The NumPy code that mlnb/checks/stats/_sketch_kernels.py replaced with compiled kernels, kept as
the reference they must equal bit for bit: the binning of :meth:`Sketch.add_values` (counts, sums,
minimum, maximum) and the statistics of :func:`mlnb.checks.stats.sketch.compare`."""

from __future__ import annotations

import numpy as np

from mlnb.checks.stats.sketch import _SHIFT, Sketch, SketchComparison

_ABS = np.int64(0x7FFF_FFFF_FFFF_FFFF)


def keys(sketch: Sketch, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(signed bin key of each value, ``x - center``), as the package computed them with NumPy."""
    d = np.subtract(x, sketch.center, dtype=np.float64)
    bits = d.view(np.int64)
    sign = bits >> 63  # -1 where d < 0, else 0
    raw = (bits & _ABS) >> _SHIFT
    m = np.minimum(np.maximum(raw - (sketch.floor - 2), 1), raw)
    return (m ^ sign) - sign, d


def add(sketch: Sketch, x: np.ndarray) -> None:
    """Count finite float64 values ``x`` into ``sketch`` as the NumPy path did: one ``bincount`` of
    the batch's keys (weights: the distances), added into the sketch's arrays."""
    if not len(x):
        return
    k, d = keys(sketch, x)
    lo = int(k.min())
    k -= lo
    counts = np.bincount(k)
    sums = np.bincount(k, weights=d, minlength=len(counts))
    sketch._add(lo, counts, sums, float(x.min()), float(x.max()))


def compare(ref: Sketch, cur: Sketch, psi_bins: int = 10, psi_eps: float = 1e-4) -> SketchComparison:
    """KS and Wasserstein bounds and PSI between two sketches, as the package computed them with NumPy."""
    from mlnb.checks.stats.numeric import psi_from_counts

    if (ref.center, ref.floor) != (cur.center, cur.floor):
        raise ValueError("sketches on different grids cannot be compared")
    first = min(ref.first, cur.first)
    stop = max(ref.first + len(ref.counts), cur.first + len(cur.counts))
    r, rs = ref.aligned(first, stop)
    c, cs = cur.aligned(first, stop)
    n, m = int(r.sum()), int(c.sum())
    keys = np.arange(first, stop, dtype=np.int64)
    e = np.concatenate([[min(ref.min, cur.min)], ref.upper_edges(keys[:-1]), [max(ref.max, cur.max)]])
    R, C = np.cumsum(r) / n, np.cumsum(c) / m
    R0, C0 = R - r / n, C - c / m
    lo, hi = R0 - C, R - C0  # the range of F_ref - F_cur inside each bin
    d_lo = float(np.abs(R - C).max())
    # a bin whose values (in both samples) all sit on one point adds nothing inside it (ties: integers)
    at_point = ref.at_point(keys, r, rs) & cur.at_point(keys, c, cs)
    both = (r > 0) & (c > 0) & ~at_point
    d_hi = max(d_lo, float(np.maximum(hi[both], -lo[both]).max())) if both.any() else d_lo
    w = np.diff(e)
    b_rel = e[1:] - ref.center
    signed = R0 * w + (r * b_rel - rs) / n - (C0 * w + (c * b_rel - cs) / m)
    unsure = (lo < 0) & (hi > 0) & (w > 0) & ~at_point
    sure = float(np.abs(signed[~unsure]).sum())
    s, wu = signed[unsure], w[unsure]
    upper = np.minimum(s - 2 * wu * lo[unsure], -s + 2 * wu * hi[unsure])
    upper = np.maximum(np.minimum(upper, wu * np.maximum(hi[unsure], -lo[unsure])), np.abs(s))
    w_lo, w_hi = sure + float(np.abs(s).sum()), sure + float(upper.sum())
    cum = np.cumsum(r)
    cut = np.unique(np.searchsorted(cum, n * np.arange(1, psi_bins) / psi_bins, side="left"))
    cut = cut[cut < len(r) - 1]
    r_cum, c_cum = np.concatenate([[0], cum[cut], [n]]), np.concatenate([[0], np.cumsum(c)[cut], [m]])
    psi = psi_from_counts(np.diff(r_cum), np.diff(c_cum), psi_eps)
    return SketchComparison(d_lo, d_hi, w_lo, w_hi, psi, n, m)
