"""Reference-quantile bins, fitted once on the reference and reused for every window.

Values (the reference itself, or a window) are put into the bins without sorting: a uniform grid
over the reference range maps each value to a cell, a lookup table maps the cell to the first bin
it can fall in, and a few exact comparisons against the bin edges finish the job. The result is
exactly ``np.searchsorted(edges, x, side="left")``, several times faster than that call.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

#: number of reference-quantile bins the fine grid is cut into (before tied edges merge)
FINE_BINS = 16000
_GRID = 1 << 17
#: up to this many reference values the edges are exact quantiles; beyond, sample quantiles
EXACT_EDGES_MAX = 1 << 18
EDGE_SAMPLE = 1 << 16
_MAX_STEPS = 6
#: values binned per block (work arrays of this length stay in the CPU cache)
BLOCK = 1 << 16


def quantile_positions(n: int, bins: int) -> np.ndarray:
    """Ranks of the reference values used as edges: ``floor(k * (n - 1) / bins)`` for k = 0..bins."""
    return (np.arange(bins + 1, dtype=np.int64) * (n - 1)) // bins


class ReferenceBins:
    """Bins ``(-inf, e0], (e0, e1], ..., (e_last, +inf)`` on unique edges.

    The edges are the reference minimum, maximum and ``FINE_BINS`` reference quantiles, taken
    from all values up to ``EXACT_EDGES_MAX`` values and from a uniform random sample beyond.
    The bins are only a device for speed: every statistic is exact whatever the edges are.

    >>> import numpy as np
    >>> bins = ReferenceBins.fit(np.random.default_rng(0).normal(size=1000))
    >>> x = np.array([-5.0, 0.0, 5.0])
    >>> bool((bins.index(x) == np.searchsorted(bins.edges, x)).all())
    True
    """

    def __init__(self, edges: np.ndarray) -> None:
        self.edges = np.unique(edges)
        self._upper = np.append(self.edges, np.inf)
        self._fit_grid()

    @classmethod
    def fit(cls, x: np.ndarray, n_bins: int = FINE_BINS, seed: int = 0) -> ReferenceBins:
        if len(x) == 0:
            raise ValueError("ReferenceBins needs at least one reference value")
        if len(x) <= EXACT_EDGES_MAX:
            s = np.sort(x)
        else:
            s = np.sort(x[np.random.default_rng(seed).integers(0, len(x), EDGE_SAMPLE)])
        q = s[quantile_positions(len(s), n_bins)]
        return cls(np.concatenate([[x.min()], q, [x.max()]]))

    @property
    def n_bins(self) -> int:
        return len(self.edges) + 1

    def _fit_grid(self) -> None:
        lo, hi = float(self.edges[0]), float(self.edges[-1])
        self._lo = lo
        if not hi > lo or not np.isfinite(hi - lo):
            self._lut = None
            return
        scale = _GRID / (hi - lo)
        # how far rounding can move a value's computed cell (in cells), with a wide safety margin
        slack = 8 * (np.spacing(max(abs(lo), abs(hi))) * scale + np.spacing(float(_GRID))) + 1e-9
        pos = (self.edges - lo) * scale
        first = np.clip(np.floor(pos - slack), 0, _GRID - 1).astype(np.int64)
        last = np.clip(np.floor(pos + slack), 0, _GRID - 1).astype(np.int64)
        # edges whose whole uncertainty window lies before cell c are certainly below its values
        # = searchsorted(last, arange(_GRID), "left"): how many edges have last < c
        below = np.cumsum(np.bincount(last, minlength=_GRID))
        self._lut = np.concatenate([[0], below[:-1]]).astype(np.intp)
        # uncertain edges per cell: the window [first, last] spans at most a couple of cells
        span = np.zeros(_GRID + 1, dtype=np.int64)
        np.add.at(span, first, 1)
        np.add.at(span, last + 1, -1)
        self._steps = int(np.cumsum(span)[:_GRID].max())
        if self._steps > _MAX_STEPS:
            self._lut = None
            return
        self._scale = scale

    def index(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``searchsorted(edges, x, 'left')`` for finite ``x``: the bin of each value."""
        out = out if out is not None else np.empty(len(x), dtype=np.intp)
        for start, k in self._blocks(x):
            out[start:start + len(k)] = k
        return out

    def _blocks(self, x: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        """(start, bin indices) of ``x`` block by block. The work arrays are a block long, so
        they stay in the CPU cache and are reused; each yielded array is overwritten next."""
        n = len(x)
        if self._lut is None or n < 4096:
            yield 0, np.searchsorted(self.edges, x, side="left")
            return
        size = min(BLOCK, n)
        y_buf, c_buf = np.empty(size, np.float64), np.empty(size, np.intp)
        k_buf, above_buf = np.empty(size, np.intp), np.empty(size, np.bool_)
        for start in range(0, n, size):
            xs = x[start:start + size]
            m = len(xs)
            y, c, k, above = y_buf[:m], c_buf[:m], k_buf[:m], above_buf[:m]
            np.subtract(xs, self._lo, out=y)
            y *= self._scale
            np.clip(y, 0, _GRID - 1, out=y)
            np.copyto(c, y, casting="unsafe")
            np.take(self._lut, c, out=k, mode="clip")
            if self._steps:
                np.take(self._upper, k, out=y, mode="clip")
                np.greater(xs, y, out=above)
                k += above
            # a value that did not pass its next edge is placed; only the others step again
            moved = np.flatnonzero(above) if self._steps > 1 else ()
            for _ in range(self._steps - 1):
                if not len(moved):
                    break
                moved = moved[xs[moved] > self._upper[k[moved]]]
                k[moved] += 1
            yield start, k

    def count(self, x: np.ndarray, at_edge: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """Bin index of each value (int16 or int32), the count and sum of values in every bin,
        and (``at_edge``) how many values of each bin equal its right edge.

        One pass over ``x``, block by block. Sums are accumulated value by value in order, so
        they are bit for bit ``np.bincount(k, weights=x)``.
        """
        nb = self.n_bins
        k_all = np.empty(len(x), dtype=np.int16 if nb < 2**15 else np.int32)
        counts = np.zeros(nb, dtype=np.intp)
        sums = np.zeros(nb, dtype=np.float64)
        edge_counts = np.zeros(nb, dtype=np.intp) if at_edge else None
        for start, k in self._blocks(x):
            xs = x[start:start + len(k)]
            k_all[start:start + len(k)] = k
            counts += np.bincount(k, minlength=nb)
            np.add.at(sums, k, xs)
            if edge_counts is not None:
                edge_counts += np.bincount(k[xs == self._upper[k]], minlength=nb)
        return k_all, counts, sums, edge_counts
