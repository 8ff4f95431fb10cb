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
from typing import Any

import numpy as np

#: mantissa bits kept: a bin spans at most 2**-10 of its distance from the centre
MANTISSA_BITS = 10
#: binary orders of magnitude resolved below the first batch's largest distance from the centre
SPAN = 60
_SHIFT = 52 - MANTISSA_BITS
_ABS = np.int64(0x7FFF_FFFF_FFFF_FFFF)
#: values binned per step of :meth:`Sketch._keys` (its temporaries fit in the CPU cache)
_BLOCK = 1 << 14
_local = threading.local()


def _scratch(n: int) -> tuple[np.ndarray, np.ndarray]:
    """This thread's key and distance buffers for ``n`` values (reused from batch to batch)."""
    keys, dist = getattr(_local, "buffers", (np.empty(0, np.int64), np.empty(0)))
    if len(keys) < n:
        keys, dist = np.empty(n, np.int64), np.empty(n, np.float64)
        _local.buffers = keys, dist
    return keys[:n], dist[:n]


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

    def keys(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(bin key of each value, ``x - center``); keys are signed, 0 the central bin."""
        return self._keys(x, np.empty(len(x), np.int64), np.empty(len(x), np.float64))

    def _keys(self, x: np.ndarray, mag: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`keys` written into ``mag`` and ``d``, a cache-sized block at a time (the
        temporaries stay in the CPU cache and nothing is allocated per value)."""
        n = len(x)
        sign_buf, raw_buf = np.empty(min(n, _BLOCK), np.int64), np.empty(min(n, _BLOCK), np.int64)
        offset = self.floor - 2
        for start in range(0, n, _BLOCK):
            stop = min(start + _BLOCK, n)
            dd, m = d[start:stop], mag[start:stop]
            sign, raw = sign_buf[:stop - start], raw_buf[:stop - start]
            np.subtract(x[start:stop], self.center, out=dd)
            bits = dd.view(np.int64)
            np.right_shift(bits, 63, out=sign)  # -1 where d < 0, else 0
            np.bitwise_and(bits, _ABS, out=raw)
            np.right_shift(raw, _SHIFT, out=raw)  # |d|'s magnitude key; 0 only at the centre (or |d| < 1e-310)
            np.subtract(raw, offset, out=m)
            np.maximum(m, 1, out=m)
            np.minimum(m, raw, out=m)  # the centre stays bin 0 (floor >= 2, so raw >= mag elsewhere)
            np.bitwise_xor(m, sign, out=m)  # negate where d < 0 (two's complement)
            np.subtract(m, sign, out=m)
        return mag, d

    def add(self, x: np.ndarray) -> None:
        """Count finite values ``x``."""
        if not len(x):
            return
        k, d = self._keys(x, *_scratch(len(x)))
        lo = int(k.min())
        k -= lo
        counts = np.bincount(k)
        sums = np.bincount(k, weights=d, minlength=len(counts))
        self._add(lo, counts, sums, float(x.min()), float(x.max()))

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
        start, stop = min(self.first, lo), max(self.first + len(self.counts), lo + len(counts))
        if (start, stop) != (self.first, self.first + len(self.counts)):
            self.counts, self.sums = _widen(self.counts, self.first, start, stop), _widen(self.sums, self.first, start, stop)
            self.first = start
        at = lo - self.first
        self.counts[at:at + len(counts)] += counts
        self.sums[at:at + len(counts)] += sums

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
    """Statistics between two non-empty sketches on the same grid (module docstring)."""
    from .numeric import psi_from_counts

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
