"""Reference-quantile bins, fitted once on the sorted reference and reused for every window.

A window's values are put into the bins without sorting the window: a uniform grid over the
reference range maps each value to a cell, a lookup table maps the cell to the first bin it can
fall in, and a few exact comparisons against the bin edges finish the job. The result is exactly
``np.searchsorted(edges, x, side="left")``; it is just several times faster than that call.
"""

from __future__ import annotations

import numpy as np

#: number of reference-quantile bins the fine grid is cut into (before tied edges merge)
FINE_BINS = 4000
_GRID = 1 << 16
_MAX_STEPS = 6


def quantile_positions(n: int, bins: int) -> np.ndarray:
    """Ranks of the reference values used as edges: ``floor(k * (n - 1) / bins)`` for k = 0..bins."""
    return (np.arange(bins + 1, dtype=np.int64) * (n - 1)) // bins


class ReferenceBins:
    """Bins ``(-inf, e0], (e0, e1], ..., (e_last, +inf)`` on unique reference-quantile edges.

    >>> import numpy as np
    >>> bins = ReferenceBins(np.sort(np.random.default_rng(0).normal(size=1000)))
    >>> x = np.array([-5.0, 0.0, 5.0])
    >>> bool((bins.index(x) == np.searchsorted(bins.edges, x)).all())
    True
    """

    def __init__(self, sorted_values: np.ndarray, n_bins: int = FINE_BINS) -> None:
        r = sorted_values
        if len(r) == 0:
            raise ValueError("ReferenceBins needs at least one reference value")
        self.edges = np.unique(r[quantile_positions(len(r), n_bins)])
        #: number of reference values <= each edge
        self.ref_cum = np.searchsorted(r, self.edges, side="right").astype(np.int64)
        #: reference count in each of the len(edges) + 1 bins (the last, above the maximum, is 0)
        self.ref_counts = np.diff(self.ref_cum, prepend=0, append=self.ref_cum[-1])
        # per-bin sums of reference values, for the signed Wasserstein integrals
        starts = np.concatenate([[0], self.ref_cum])
        csum = np.concatenate([[0.0], np.cumsum(r, dtype=np.float64)])
        self.ref_sums = csum[starts[1:]] - csum[starts[:-1]]
        self.ref_sums = np.append(self.ref_sums, 0.0)
        self._upper = np.append(self.edges, np.inf)
        self._fit_grid()

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
        self._lut = np.searchsorted(last, np.arange(_GRID), side="left").astype(np.intp)
        # uncertain edges per cell: the window [first, last] spans at most a couple of cells
        span = np.zeros(_GRID + 1, dtype=np.int64)
        np.add.at(span, first, 1)
        np.add.at(span, last + 1, -1)
        self._steps = int(np.cumsum(span)[:_GRID].max())
        if self._steps > _MAX_STEPS:
            self._lut = None
            return
        self._scale = scale

    def index(self, x: np.ndarray) -> np.ndarray:
        """``searchsorted(edges, x, 'left')`` for finite ``x``: the bin of each value."""
        if self._lut is None or len(x) < 4096:
            return np.searchsorted(self.edges, x, side="left")
        y = x - self._lo
        y *= self._scale
        np.clip(y, 0, _GRID - 1, out=y)
        k = self._lut[y.astype(np.int32)]
        upper = self._upper
        for _ in range(self._steps):
            k += x > upper[k]
        return k

    def count(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Bin index of each value, and the count and sum of values in every bin."""
        k = self.index(x)
        counts = np.bincount(k, minlength=self.n_bins)
        sums = np.bincount(k, weights=x, minlength=self.n_bins)
        return k, counts, sums
