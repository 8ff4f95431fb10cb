"""Reference-quantile bins, fitted once on the reference and reused for every window.

Values are put into bins without sorting. A uniform grid of cells over the bulk of the reference
maps each value to a cell with a subtraction, a multiplication and a truncation, and a lookup
table maps the cell to its bin. The cell of a value is a non-decreasing function of the value
(each step rounds monotonically), so every bin is an interval of the number line and
``index(x)`` is exactly ``np.searchsorted(edges, x, side="left")``.

How the edges are chosen depends on the reference:

* **continuous** (few repeated values): each reference quantile is moved up to the last float
  of its cell. Then a value's cell alone decides its bin: one lookup per value, no comparison.
* **heavy-tailed** continuous (one even grid would crowd the bulk of the data into a few cells
  and merge most bins): the same on a two-level grid, whose coarse cells are split evenly into
  as many sub-cells as the quantiles they hold need.
* **discrete** (many repeated values): the edges are the reference quantiles themselves, so a
  repeated value sits exactly on an edge (that is what lets KS and Wasserstein skip refining
  such bins). A cell then only narrows the bin down and a few exact comparisons against the
  edges finish the job.

Either way the bins are only a device for speed: every statistic is exact whatever the edges are.
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
#: a reference whose (sampled) sorted values repeat more often than this is treated as discrete
TIE_SHARE = 0.01
#: the grid spans the reference between these fine quantiles (from either end); the few values
#: beyond fall into the outermost cells
_GRID_TAIL = FINE_BINS // 2000
#: coarse cells of the two-level grid (each split into up to ~4 cells per quantile it holds)
_COARSE_GRID = 1 << 12
#: snapped bins are used only if at least this share of the distinct quantiles keep a bin of their own
MIN_SNAPPED_SHARE = 0.5
_MAX_STEPS = 6
#: values binned per block (work arrays of this length stay in the CPU cache)
BLOCK = 1 << 16
#: from this many values on, a window is binned by the compiled kernel (the same bits as NumPy's
#: blocks; below, NumPy's first block is the whole window and binary search places the values)
KERNEL_MIN = 4096


_SIGN = np.int64(-(2**63))
_BELOW_ONE = 1.0 - 2.0**-53


def quantile_positions(n: int, bins: int) -> np.ndarray:
    """Ranks of the reference values used as edges: ``floor(k * (n - 1) / bins)`` for k = 0..bins."""
    return (np.arange(bins + 1, dtype=np.int64) * (n - 1)) // bins


def _distinct(a: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array (``np.unique`` without its sort)."""
    return a[np.concatenate([[True], a[1:] != a[:-1]])] if len(a) else a


def _ordered(x: np.ndarray) -> np.ndarray:
    """Floats as int64 keys in the same order (negative floats mirrored below zero)."""
    i = x.astype(np.float64).view(np.int64)
    return np.where(i < 0, _SIGN - i, i)


def _float(k: np.ndarray) -> np.ndarray:
    """The inverse of :func:`_ordered`."""
    return np.where(k < 0, _SIGN - k, k).view(np.float64)


class ReferenceBins:
    """Bins ``(-inf, e0], (e0, e1], ..., (e_last, +inf)`` on unique edges.

    The edges come from ``FINE_BINS`` reference quantiles, taken from all values up to
    ``EXACT_EDGES_MAX`` values and from a uniform random sample beyond.

    >>> import numpy as np
    >>> bins = ReferenceBins.fit(np.random.default_rng(0).normal(size=1000))
    >>> x = np.array([-5.0, 0.0, 5.0])
    >>> bool((bins.index(x) == np.searchsorted(bins.edges, x)).all())
    True
    """

    def __init__(self, edges: np.ndarray) -> None:
        """Bins on the given ``edges``, which a value is compared against (the discrete case).
        (Cell-aligned bins are made by :meth:`fit` and :meth:`restore`.)"""
        self.edges = np.unique(edges)
        self._upper = np.append(self.edges, np.inf)
        lo, hi = float(self.edges[0]), float(self.edges[-1])
        self._lut: np.ndarray | None = None
        self._steps = 0
        #: edges are the last floats of grid cells (continuous reference), not reference values
        self.snapped = False
        if self._set_grid(lo, hi):
            self._fit_lookup()
        #: per-bin sums are of ``x - origin``: a middle edge, near the bulk of the data, so that
        #: neither a large offset nor a far outlier (the lowest edge) costs the bulk precision
        self.origin = float(self.edges[len(self.edges) // 2])

    @classmethod
    def fit(cls, x: np.ndarray, n_bins: int = FINE_BINS, seed: int = 0) -> ReferenceBins:
        if len(x) == 0:
            raise ValueError("ReferenceBins needs at least one reference value")
        if len(x) <= EXACT_EDGES_MAX:
            s, resampled = np.sort(x), 0.0
        else:  # drawn with replacement: about len(s) / (2 len(x)) of it repeats a draw
            s = np.sort(x[np.random.default_rng(seed).integers(0, len(x), EDGE_SAMPLE)])
            resampled = 1.5 * len(s) / (2 * len(x))
        q = s[quantile_positions(len(s), n_bins)]
        discrete = np.count_nonzero(s[1:] == s[:-1]) > (TIE_SHARE + resampled) * len(s)
        if not discrete:
            # heavy tails crowd the bulk into a few cells of one even grid: then cells are split
            for two_levels in (False, True):
                snapped = cls._snapped(q, float(q[_GRID_TAIL]), float(q[-1 - _GRID_TAIL]), two_levels)
                if snapped is not None and snapped.n_bins >= MIN_SNAPPED_SHARE * len(_distinct(q)):
                    return snapped
        return cls(np.concatenate([[x.min()], q, [x.max()]]))

    @classmethod
    def _snapped(cls, q: np.ndarray, lo: float, hi: float, two_levels: bool = False) -> ReferenceBins | None:
        """Bins whose edges are the last floats of the cells holding the quantiles ``q``.

        With ``two_levels``, each cell of a coarser grid is split evenly into a power of two of
        sub-cells, about four per quantile that falls in it (see :meth:`_cells`).
        """
        bins = cls.__new__(cls)
        if not bins._set_grid(lo, hi, _COARSE_GRID if two_levels else _GRID):
            return None
        if two_levels:
            per_cell = np.bincount(bins.cells(q), minlength=_COARSE_GRID)
            bins._split(1 << np.ceil(np.log2(np.maximum(4 * per_cell, 1))).astype(np.int64))
        cells = _distinct(bins.cells(q))  # q is sorted and cells are monotone
        cells = cells[cells < bins._n_cells - 1]  # the last cell is open-ended, as is the last bin
        return bins._on_cell_ends(_distinct(bins._last_float(cells)))

    def _split(self, sub: np.ndarray) -> None:
        """Split coarse cell ``c`` into ``sub[c]`` (a power of two) cells of its own."""
        self._sub, self._base = sub, np.cumsum(sub) - sub
        self._n_cells = int(sub.sum())

    def _on_cell_ends(self, edges: np.ndarray) -> ReferenceBins:
        self.edges, self._upper = edges, np.append(edges, np.inf)
        # a value is above an edge exactly when its cell is above the edge's cell
        n = self._n_cells
        self._lut = np.cumsum(np.bincount(self.cells(edges) + 1, minlength=n)[:n])
        self._steps, self.snapped = 0, True
        return self

    def state(self) -> tuple[np.ndarray, tuple[float, float] | None, bool, np.ndarray | None]:
        """(edges, grid range, snapped, cell splits): what :meth:`restore` rebuilds these bins from."""
        return self.edges, getattr(self, "_grid", None), self.snapped, getattr(self, "_sub", None)

    @classmethod
    def restore(cls, edges: np.ndarray, grid: tuple[float, float] | None, snapped: bool,
                sub: np.ndarray | None = None) -> ReferenceBins:
        if not snapped or grid is None:
            return cls(edges)
        bins = cls.__new__(cls)
        if not bins._set_grid(*grid, _GRID if sub is None else len(sub)):
            raise ValueError(f"bins cannot be restored on the grid {grid}")
        if sub is not None:
            bins._split(np.asarray(sub, dtype=np.int64))
        return bins._on_cell_ends(np.asarray(edges, dtype=np.float64))

    @property
    def n_bins(self) -> int:
        return len(self.edges) + 1

    def _set_grid(self, lo: float, hi: float, cells: int = _GRID) -> bool:
        """Use an even grid of ``cells`` cells over [lo, hi]; False when that range cannot carry one."""
        if not hi > lo or not np.isfinite(hi - lo) or not np.isfinite(cells / (hi - lo)):
            return False
        self._lo, self._scale, self._grid = lo, cells / (hi - lo), (lo, hi)
        self._coarse = self._n_cells = cells
        self._sub: np.ndarray | None = None
        self.origin = lo
        return True

    def cells(self, x: np.ndarray) -> np.ndarray:
        """The grid cell of each value; non-decreasing in the value."""
        return self._cells(np.subtract(x, self._lo))

    def _cells(self, d: np.ndarray, y: np.ndarray | None = None, c: np.ndarray | None = None,
               clip: bool = True) -> np.ndarray:
        """Cells of values already shifted by the grid's start (``d = x - lo``); ``y``/``c``
        are work arrays. ``clip=False`` leaves cells outside the grid for
        ``np.take(..., mode="clip")`` to clip, which gives the same bins; only safe when no
        value is far enough out to overflow int64."""
        y = np.multiply(d, self._scale, out=y)
        if self._sub is not None:
            return self._split_cells(y, c)
        if clip:
            np.clip(y, 0, self._n_cells - 1, out=y)
        if c is None:
            return y.astype(np.intp)
        np.copyto(c, y, casting="unsafe")
        return c

    def _split_cells(self, y: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        """Two levels: the coarse cell ``c = int(y)``, then ``int((y - c) * sub[c])`` within it.

        Non-decreasing in ``y``: a larger coarse cell starts after every sub-cell of a smaller
        one, and within a cell ``y - c`` and the power-of-two scaling round monotonically.
        """
        coarse = np.clip(y, 0, self._coarse - 1).astype(np.intp)
        frac = np.subtract(y, coarse)
        np.clip(frac, 0, _BELOW_ONE, out=frac)  # times a power of two, stays below it
        frac *= np.take(self._sub, coarse)
        within = frac.astype(np.intp)
        return np.add(np.take(self._base, coarse), within, out=out)

    def _last_float(self, cells: np.ndarray) -> np.ndarray:
        """For each cell, the largest float whose cell is at most that cell.

        A bisection over the floats (in their integer order) between two guesses that bracket
        the cell's upper boundary; the guesses are a few ulps apart, so it takes a few steps.
        """
        top = cells + 1.0
        if self._sub is not None:  # coarse cell + fraction of it
            coarse = np.searchsorted(self._base, cells, side="right") - 1
            top = coarse + (cells - self._base[coarse] + 1.0) / self._sub[coarse]
        t = self._lo + top / self._scale
        err = 4 * (np.spacing(abs(self._lo)) + np.spacing(np.abs(t)) + np.spacing(top / self._scale))
        low, high = t - err, t + err
        # rounding in the guesses could in principle leave the boundary outside: then widen fully
        low[self.cells(low) > cells] = -np.finfo(np.float64).max
        high[self.cells(high) <= cells] = np.inf
        ka, kb = _ordered(low), _ordered(high)
        while True:
            todo = np.flatnonzero(kb - ka > 1)
            if not len(todo):
                return _float(ka)
            mid = ka[todo] + (kb[todo] - ka[todo]) // 2
            below = self.cells(_float(mid)) <= cells[todo]
            ka[todo[below]] = mid[below]
            kb[todo[~below]] = mid[~below]

    def _fit_lookup(self) -> None:
        """Lookup table for edges that are not cell boundaries (the discrete case)."""
        lo, hi, scale = self._lo, float(self.edges[-1]), self._scale
        # how far rounding can move a value's computed cell (in cells), with a wide safety margin
        slack = 8 * (np.spacing(max(abs(lo), abs(hi))) * scale + np.spacing(float(_GRID))) + 1e-9
        pos = (self.edges - lo) * scale
        first = np.clip(np.floor(pos - slack), 0, _GRID - 1).astype(np.int64)
        last = np.clip(np.floor(pos + slack), 0, _GRID - 1).astype(np.int64)
        # edges whose whole uncertainty window lies before cell c are certainly below its values
        # = searchsorted(last, arange(_GRID), "left"): how many edges have last < c
        below = np.cumsum(np.bincount(last, minlength=_GRID))
        lut = np.concatenate([[0], below[:-1]]).astype(np.intp)
        # uncertain edges per cell: the window [first, last] spans at most a couple of cells
        span = np.zeros(_GRID + 1, dtype=np.int64)
        np.add.at(span, first, 1)
        np.add.at(span, last + 1, -1)
        steps = int(np.cumsum(span)[:_GRID].max())
        if steps <= _MAX_STEPS:
            self._lut, self._steps = lut, steps

    def index(self, x: np.ndarray) -> np.ndarray:
        """``searchsorted(edges, x, 'left')`` for finite ``x``: the bin of each value."""
        out = np.empty(len(x), dtype=np.intp)
        for start, k, _ in self._blocks(x):
            out[start:start + len(k)] = k
        return out

    def _blocks(
        self, x: np.ndarray, bounds: tuple[float, float] | None = None
    ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """(start, bin indices, values minus ``origin``) of ``x``, block by block.

        The work arrays are a block long, so they stay in the CPU cache and are reused; each
        yielded array is overwritten next. ``bounds`` (the minimum and maximum of ``x``) let
        one-level cells skip clipping when no value is far enough off the grid to overflow.
        """
        n = len(x)
        if self._lut is None or n < 4096:
            yield 0, np.searchsorted(self.edges, x, side="left"), x - self.origin
            return
        far = 2.0**62 / self._scale
        clip = bounds is None or not self._lo - far < bounds[0] <= bounds[1] < self._lo + far
        size = min(BLOCK, n)
        d_buf, y_buf = np.empty(size, np.float64), np.empty(size, np.float64)
        c_buf, k_buf = np.empty(size, np.intp), np.empty(size, np.intp)
        above_buf = np.empty(size, np.bool_)
        for start in range(0, n, size):
            xs = x[start:start + size]
            m = len(xs)
            y, k, above = y_buf[:m], k_buf[:m], above_buf[:m]
            d = np.subtract(xs, self._lo, out=d_buf[:m])
            np.take(self._lut, self._cells(d, y, c_buf[:m], clip), out=k, mode="clip")
            if self.origin != self._lo:
                np.subtract(xs, self.origin, out=d)
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
            yield start, k, d

    def _count_compiled(self, x: np.ndarray, k_all: np.ndarray, counts: np.ndarray, sums: np.ndarray,
                        edge_counts: np.ndarray | None) -> None:
        """:meth:`count`'s loop as one compiled pass (:mod:`._binning_kernels`): the same bits."""
        from ._binning_kernels import count_bins

        tables = getattr(self, "_tables", None)
        if tables is None:  # made once: a compact lookup table stays in the CPU cache
            lut = self._lut.astype(np.int16 if self.n_bins < 2**15 else np.int32)
            two = self._sub is not None
            empty = np.empty(0, dtype=np.int64)
            tables = self._tables = (lut, self._sub.astype(np.int64) if two else empty,
                                     self._base.astype(np.int64) if two else empty)
        lut, sub, base = tables
        count_bins(np.ascontiguousarray(x), float(self._lo), float(self._scale), int(self._n_cells),
                   int(self._coarse), sub, base, lut, self._upper, int(self._steps), float(self.origin),
                   edge_counts is not None, BLOCK, k_all, counts, sums,
                   edge_counts if edge_counts is not None else counts)

    def count(
        self, x: np.ndarray, at_edge: bool = False, bounds: tuple[float, float] | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """Bin index of each value, the count and sum of ``x - origin`` in every bin, and (``at_edge``)
        how many values of each bin equal its right edge; those are then left out of the sums
        (their distance to the edge is exactly 0, which a sum taken from ``origin`` would round).

        One pass over ``x``, block by block; the indices are kept compactly as int16/int32.
        ``bounds`` are the minimum and maximum of ``x``, if known (they save a pass).
        """
        nb = self.n_bins
        k_all = np.empty(len(x), dtype=np.int16 if nb < 2**15 else np.int32)
        counts = np.zeros(nb, dtype=np.intp)
        sums = np.zeros(nb, dtype=np.float64)
        edge_counts = np.zeros(nb, dtype=np.intp) if at_edge else None
        if self._lut is not None and len(x) >= KERNEL_MIN and x.dtype == np.float64:
            self._count_compiled(x, k_all, counts, sums, edge_counts)
            return k_all, counts, sums, edge_counts
        for start, k, d in self._blocks(x, bounds):
            xs = x[start:start + len(k)]
            k_all[start:start + len(k)] = k
            counts += np.bincount(k, minlength=nb)
            if edge_counts is not None:
                on_edge = xs == self._upper[k]
                edge_counts += np.bincount(k[on_edge], minlength=nb)
                d = np.where(on_edge, 0.0, d)
            sums += np.bincount(k, weights=d, minlength=nb)
        return k_all, counts, sums, edge_counts
