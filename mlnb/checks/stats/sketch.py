"""A mergeable fine histogram of a numeric column, and KS / Wasserstein / PSI between two of them
with their error bounds.

The grid depends only on a *centre* ``c`` (the median of the first batch seen): a value ``x``
falls in the bin of ``d = x - c`` given by the sign of ``d``, the binary exponent of ``|d|`` and
its top :data:`MANTISSA_BITS` mantissa bits. So every bin spans at most ``2**-MANTISSA_BITS``
(0.1 %) of its distance from the centre, fine near the bulk and coarse only far out in the tails,
whatever the scale or the spread of the data. Values closer to the centre than ``2**-SPAN`` of the
first batch's largest distance share the bins next to the centre; the centre itself is a bin. Two histograms on the same centre merge by
adding counts, so batches, row groups, threads or Dask partitions can be summarised apart.

Per bin the histogram keeps the count and the sum of ``x - c``; overall the exact minimum and
maximum. From two histograms on one grid:

* **KS**: both CDFs are exact at every bin edge; inside a bin where both samples have values the
  gap can exceed the edges by at most what the bin holds. D is reported as the midpoint of
  ``[D_edges, D_upper]`` with half that width as its error.
* **Wasserstein-1**: the signed integral of ``F_ref - F_cur`` over each bin is exact from counts
  and sums; where the gap keeps its sign in a bin that is the integral of its absolute value,
  elsewhere it is bounded (as in :mod:`.numeric`). Reported as the midpoint of the bounds.
* **PSI**: exact counts on the bin edges nearest the reference deciles (within one fine bin).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

#: mantissa bits kept: a bin spans at most 2**-10 of its distance from the centre
MANTISSA_BITS = 10
#: binary orders of magnitude resolved below the first batch's largest distance from the centre
SPAN = 60
_SHIFT = 52 - MANTISSA_BITS
_NO_MASK = np.empty(0, np.uint8)
_local = threading.local()


class Binned(NamedTuple):
    """What binning one batch found besides its bins: counts of finite, NaN and ±inf values, and
    the mean and sum of squared deviations of the finite ones."""

    n: int
    nan: int
    inf: int
    mean: float
    m2: float


def _scratch(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """This thread's bins of every possible key (zero between batches; only the pages a batch
    touches are ever resident) and room for ``n`` values."""
    buffers = getattr(_local, "buffers", None)
    if buffers is None:
        from ._sketch_kernels import KEYS

        # the sums start 37 values past a page boundary: a count and a sum of one key never share
        # their address's low 12 bits, which would make the CPU stall each load on the other's store
        sums = np.zeros(2 * KEYS + 1 + 37)[37:]
        buffers = _local.buffers = np.zeros(2 * KEYS + 1, np.int64), sums, np.empty(0)
    if len(buffers[2]) < n:
        buffers = _local.buffers = buffers[0], buffers[1], np.empty(n)
    return buffers


def warm_up() -> None:
    """Load the compiled kernels' machine code now (numba's first call in a process costs ~0.3 s),
    e.g. while a reader thread fetches the first batches. Python's cycle collector is paused
    meanwhile: numba creates so many objects that it would run full collections over everything
    pandas and scipy created (measured: 0.3 s of a 10^7-row drift)."""
    import gc

    was = gc.isenabled()
    gc.disable()
    try:
        compare(*_warm_pair())
    finally:
        if was:
            gc.enable()


def _warm_pair() -> tuple[Sketch, Sketch]:
    """Two one-value sketches (0 and 1) a few bins apart: on a grid whose floor is 1's own
    magnitude, as :meth:`Sketch.grid` would set it. (On a floor far below, 1 lay ~10^6 bins from
    0, and comparing them walked all those bins: ~0.1 s of CPU on each drift's critical path.)"""
    floor = int(_magnitude(np.ones(1))[0])
    one, other = Sketch(0.0, floor), Sketch(0.0, floor)
    one.add_values(np.zeros(1))
    other.add_values(np.ones(1))
    return one, other


def _magnitude(a: np.ndarray) -> np.ndarray:
    """Each non-negative float's exponent and top mantissa bits, as an int64 that orders like it."""
    return a.view(np.int64) >> _SHIFT


def _lower(mag: np.ndarray) -> np.ndarray:
    """The smallest non-negative float of each magnitude key."""
    return (np.asarray(mag, dtype=np.int64) << _SHIFT).view(np.float64)


@dataclass
class Sketch:
    """Counts and sums of ``x - center`` per bin of the centre's grid; ``counts[0]`` is bin ``first``."""

    center: float
    floor: int
    first: int = 0
    counts: np.ndarray | None = None
    sums: np.ndarray | None = None
    min: float = float("inf")
    max: float = float("-inf")

    @classmethod
    def grid(cls, x: np.ndarray) -> Sketch:
        """An empty sketch whose grid suits values like ``x`` (finite, non-empty)."""
        center = float(np.median(x)) if len(x) else 0.0
        spread = float(np.abs(x - center).max()) if len(x) else 0.0
        smallest = max(spread * 2.0 ** -SPAN, abs(center) * 2.0 ** -50, 1e-300)
        return cls(center, int(_magnitude(np.array([smallest]))[0]))

    def empty(self) -> Sketch:
        return Sketch(self.center, self.floor)

    @property
    def n(self) -> int:
        return int(self.counts.sum()) if self.counts is not None else 0

    def add(self, x: np.ndarray) -> None:
        """Count finite values ``x``."""
        self.add_values(x)

    def add_values(self, x: np.ndarray, validity: np.ndarray | None = None, bit_offset: int = 0) -> Binned:
        """Count the finite values of ``x`` (any integer or floating dtype), skipping those whose
        bit in Arrow's ``validity`` bitmap (from ``bit_offset``) is 0; NaN and ±inf are counted in
        the result, not binned. One compiled pass without the GIL (:mod:`._sketch_kernels`); the
        bins, minimum and maximum equal those of binning the finite values with NumPy
        (``tests/checks/_sketch_numpy.py``), and the batch's bins join the total as one
        ``np.bincount`` would."""
        from ._sketch_kernels import bin_batch, fold

        if x.dtype == np.float16:  # no half floats in compiled code
            x = x.astype(np.float64)
        counts, sums, values = _scratch(len(x))
        lo, hi, n, nan, inf, mn, mx, mean, m2 = bin_batch(
            x, _NO_MASK if validity is None else validity, bit_offset, self.center, self.floor - 2, _SHIFT,
            counts, sums, values)
        if n:
            if self.counts is None:
                self.first, self.counts, self.sums = lo, np.zeros(hi - lo + 1, np.int64), np.zeros(hi - lo + 1)
            self._cover(lo, hi + 1)
            fold(counts, sums, lo, hi, self.counts, self.sums, lo - self.first)
            self.min, self.max = min(self.min, mn), max(self.max, mx)
        return Binned(n, nan, inf, mean, m2)

    def merge(self, other: Sketch) -> None:
        if other.counts is None:
            return
        if (other.center, other.floor) != (self.center, self.floor):
            raise ValueError("sketches on different grids cannot be merged")
        self._add(other.first, other.counts, other.sums, other.min, other.max)

    def _add(self, lo: int, counts: np.ndarray, sums: np.ndarray, mn: float, mx: float) -> None:
        self.min, self.max = min(self.min, mn), max(self.max, mx)
        if self.counts is None:
            self.first, self.counts, self.sums = lo, counts.astype(np.int64), sums.astype(np.float64)
            return
        self._cover(lo, lo + len(counts))
        at = lo - self.first
        self.counts[at:at + len(counts)] += counts
        self.sums[at:at + len(counts)] += sums

    def _cover(self, lo: int, stop: int) -> None:
        """Widen the arrays to hold the keys ``lo .. stop - 1`` too."""
        start, stop = min(self.first, lo), max(self.first + len(self.counts), stop)
        if (start, stop) != (self.first, self.first + len(self.counts)):
            self.counts, self.sums = _widen(self.counts, self.first, start, stop), _widen(self.sums, self.first, start, stop)
            self.first = start

    def aligned(self, first: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Counts and sums over the keys ``first .. stop - 1``."""
        if self.counts is None:
            return np.zeros(stop - first, np.int64), np.zeros(stop - first)
        return _widen(self.counts, self.first, first, stop), _widen(self.sums, self.first, first, stop)

    def upper_edges(self, keys: np.ndarray) -> np.ndarray:
        """The right edge, in data units, of each bin key."""
        return self.center + np.where(keys >= 0, self._far(keys), -self._near(-keys))

    def _near(self, mag: np.ndarray) -> np.ndarray:
        """The smallest distance from the centre of the values of each magnitude bin (0, 1, 2 ...)."""
        return np.where(mag >= 2, _lower(np.maximum(mag + (self.floor - 2), 0)), 0.0)

    def _far(self, mag: np.ndarray) -> np.ndarray:
        """The distance from the centre where each magnitude bin ends."""
        return np.where(mag >= 1, _lower(np.maximum(mag + (self.floor - 1), 0)), 0.0)

    def at_point(self, keys: np.ndarray, counts: np.ndarray, sums: np.ndarray) -> np.ndarray:
        """Bins (empty, or) whose values all equal the end of the bin nearest the centre: their
        sum is that end times their count (the values are all at least that far out)."""
        near = self._near(np.abs(keys))
        return sums == counts * np.where(keys >= 0, near, -near)

    def state(self) -> dict[str, Any]:
        """What a Dask task sends back or a profile file stores (plain numbers and two arrays)."""
        return {"center": self.center, "floor": self.floor, "first": self.first, "min": self.min, "max": self.max,
                "counts": self.counts, "sums": self.sums}

    @classmethod
    def restore(cls, s: dict[str, Any]) -> Sketch:
        return cls(float(s["center"]), int(s["floor"]), int(s["first"]), s["counts"], s["sums"],
                   float(s["min"]), float(s["max"]))


def _widen(a: np.ndarray, first: int, start: int, stop: int) -> np.ndarray:
    out = np.zeros(stop - start, dtype=a.dtype)
    lo, hi = max(first, start), min(first + len(a), stop)
    if hi > lo:
        out[lo - start:hi - start] = a[lo - first:hi - first]
    return out


@dataclass
class SketchComparison:
    """KS, Wasserstein-1 (raw units) and PSI between two sketches, with bounds."""

    ks_lower: float
    ks_upper: float
    w1_lower: float
    w1_upper: float
    psi: float
    n: int
    m: int

    @property
    def ks(self) -> float:
        return (self.ks_lower + self.ks_upper) / 2

    @property
    def ks_error(self) -> float:
        return (self.ks_upper - self.ks_lower) / 2

    @property
    def w1(self) -> float:
        return (self.w1_lower + self.w1_upper) / 2

    @property
    def w1_error(self) -> float:
        return (self.w1_upper - self.w1_lower) / 2


def compare(ref: Sketch, cur: Sketch, psi_bins: int = 10, psi_eps: float = 1e-4) -> SketchComparison:
    """Statistics between two non-empty sketches on the same grid (module docstring), in one
    compiled pass over the bins (:func:`._sketch_kernels.compare_bins`: the same values, bit for
    bit, as the NumPy expressions of ``tests/checks/_sketch_numpy.py``)."""
    from ._sketch_kernels import compare_bins
    from .numeric import psi_from_counts

    if (ref.center, ref.floor) != (cur.center, cur.floor):
        raise ValueError("sketches on different grids cannot be compared")
    first = min(ref.first, cur.first)
    stop = max(ref.first + len(ref.counts), cur.first + len(cur.counts))
    r, rs = ref.aligned(first, stop)
    c, cs = cur.aligned(first, stop)
    d_lo, d_hi, w_lo, w_hi, cum, cum_c = compare_bins(r, rs, c, cs, first, ref.center, ref.floor, _SHIFT,
                                                      min(ref.min, cur.min), max(ref.max, cur.max))
    n, m = int(cum[-1]), int(cum_c[-1])
    cut = np.unique(np.searchsorted(cum, n * np.arange(1, psi_bins) / psi_bins, side="left"))
    cut = cut[cut < len(r) - 1]
    r_cum, c_cum = np.concatenate([[0], cum[cut], [n]]), np.concatenate([[0], cum_c[cut], [m]])
    psi = psi_from_counts(np.diff(r_cum), np.diff(c_cum), psi_eps)
    return SketchComparison(d_lo, d_hi, w_lo, w_hi, psi, n, m)
