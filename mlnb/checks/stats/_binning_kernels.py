"""Compiled kernels of :class:`.binning.ReferenceBins`: one pass over a window's values.

Each kernel does, value by value, the arithmetic the NumPy path of :mod:`.binning` does array by
array, in the same order and with the same IEEE operations (no fast-math), so it gives the same
bits: the same bin of every value, the same counts, and per-bin sums accumulated block by block
as ``np.bincount(weights=...)`` then ``+=`` accumulate them. What changes is the cost: ~2–3 ns a
value instead of ~20 (no temporary arrays, one read of the values), and no GIL, so the columns
of a window are binned on every core. Imported only where a window is binned (numba's import
costs ~0.3 s).
"""

from __future__ import annotations

import numpy as np

from ..._jit import kernel


@kernel
def count_bins(x, lo, scale, n_cells, coarse, sub, base, lut, upper, steps, origin, at_edge, block,
               k_out, counts, sums, edge_counts):  # noqa: ANN001, ANN201 (numba infers the types)
    """Bin every value of ``x`` (finite floats) and count it.

    ``sub`` empty: one even grid of ``n_cells`` cells from ``lo`` (``scale`` cells per unit);
    else a two-level grid of ``coarse`` cells, coarse cell ``c`` split into ``sub[c]`` cells
    numbered from ``base[c]``. ``lut`` maps a cell to its first possible bin and ``steps`` exact
    comparisons against ``upper`` (the edges, then +inf) finish the job. Writes each value's bin
    to ``k_out``; adds to ``counts``, to ``sums`` (``x - origin``, summed per ``block`` values
    then added, as the NumPy path does) and, with ``at_edge``, counts in ``edge_counts`` the
    values equal to their bin's right edge, which are then left out of ``sums``.
    """
    n = x.shape[0]
    nb = counts.shape[0]
    # per bin, this block's count and sum side by side: one cache line per value, not two
    part = np.zeros((nb, 2), dtype=np.float64)
    top = float(n_cells - 1)
    top_coarse = float(coarse - 1)
    below_one = 1.0 - 2.0 ** -53
    two_levels = sub.shape[0] > 0
    for start in range(0, n, block):
        stop = min(start + block, n)
        for i in range(start, stop):
            v = x[i]
            y = (v - lo) * scale
            if two_levels:
                yc = y
                if yc < 0.0:
                    yc = 0.0
                if yc > top_coarse:
                    yc = top_coarse
                c0 = np.intp(yc)
                frac = y - c0
                if frac < 0.0:
                    frac = 0.0
                if frac > below_one:
                    frac = below_one
                frac = frac * sub[c0]
                cell = base[c0] + np.intp(frac)
            else:
                if y < 0.0:
                    y = 0.0
                if y > top:
                    y = top
                cell = np.intp(y)
            k = np.intp(lut[cell])
            for _ in range(steps):
                if v > upper[k]:
                    k += 1
                else:
                    break
            k_out[i] = k
            part[k, 0] += 1.0  # exact: a block holds far fewer than 2^53 values
            if at_edge and v == upper[k]:
                edge_counts[k] += 1
            else:
                part[k, 1] += v - origin
        for j in range(nb):
            counts[j] += np.intp(part[j, 0])
            sums[j] += part[j, 1]
            part[j, 0] = 0.0
            part[j, 1] = 0.0


@kernel
def gather(x, k, want, out):  # noqa: ANN001, ANN201
    """Copy to ``out``, in order, the values of ``x`` whose bin ``k`` is flagged in ``want``;
    returns how many."""
    m = 0
    for i in range(x.shape[0]):
        if want[k[i]]:
            out[m] = x[i]
            m += 1
    return m
