"""Two-sample statistics of a numeric column: KS, Wasserstein-1 and PSI.

All three are computed from one binning pass of the window against :class:`ReferenceBins`:

* **KS.** The empirical CDFs are known exactly at every bin edge. Inside a bin both CDFs are
  monotone, so the gap there is bounded by the CDF values at the bin's two edges. Only bins whose
  bound beats the largest edge gap, and where both samples have values, are refined with the
  exact values (branch and bound), so the statistic is *exactly* ``scipy.stats.ks_2samp``'s, bit
  for bit. The p-value follows scipy's ``method="auto"``: exact when both samples have at most
  10,000 values (scipy is called), else the asymptotic ``kstwo.sf(D, round(n*m/(n+m)))`` (see
  :mod:`.kolmogorov` for where it is faster than scipy and agrees within 1e-9 relative).
* **Wasserstein-1** is the integral of ``|F_ref - F_cur|``. Per bin, the signed integral is exact
  from bin counts and sums; where the CDF gap keeps its sign in a bin, that is also the integral
  of the absolute gap. The remaining bins give a lower bound (the signed integral) and an upper
  bound (from the range of the gap in the bin, and from the gap at an edge plus each sample's
  distances of its values to that edge); they are refined with exact values when a decision
  depends on it (or when it is cheap).
* **PSI** on reference-decile bins (open-ended outer bins) with shares floored at ``eps``. The
  edges are the reference's own deciles (the smallest value with at least k/10 of the values at
  or below it), exact at any size: the values of the few fine bins holding a decile are sorted,
  in the reference once and in each window, to count what lies at or below it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from .binning import KERNEL_MIN, ReferenceBins

#: scipy's ``ks_2samp(method="auto")`` is exact up to this many values per sample
KS_EXACT_MAX_N = 10_000
PSI_BINS = 10
PSI_EPS = 1e-4


@dataclass
class BinnedWindow:
    """Finite values with their bins: the reference's own, or a window's against the reference."""

    #: the values, in their order or (``k`` is None) grouped bin by bin
    x: np.ndarray
    #: each value's bin; None once the values are grouped by bin
    k: np.ndarray | None
    counts: np.ndarray
    #: per bin, the sum of ``x - bins.origin`` over the values strictly inside it (``inside``)
    sums: np.ndarray
    #: values strictly inside each bin (not on its right edge); ``counts`` when not known
    inside: np.ndarray
    min: float
    max: float

    @classmethod
    def of(cls, bins: ReferenceBins | NumericReference, x: np.ndarray, keep: bool = False) -> BinnedWindow:
        """Bin ``x`` in one pass (the bin indices are kept compactly as int16/int32).

        Values sitting exactly on edges are counted when the edges are reference values (a
        discrete reference: ``keep`` is the reference itself; a window is checked when its
        reference was tie-heavy): inside a bin without interior values both CDFs are flat, which
        makes KS and Wasserstein exact there without refinement. Otherwise every value is assumed
        interior, which is always safe.
        """
        ref = bins if isinstance(bins, NumericReference) else None
        bins = bins.bins if isinstance(bins, NumericReference) else bins
        edges_matter = not bins.snapped and (keep or (ref is not None and ref.tied))
        lo, hi = (float(x.min()), float(x.max())) if len(x) else (np.nan, np.nan)
        k, counts, sums, on_edge = bins.count(x, at_edge=edges_matter, bounds=(lo, hi))
        inside = counts - on_edge if on_edge is not None else counts
        return cls(x=x, k=k, counts=counts, sums=sums, inside=inside, min=lo, max=hi)

    def grouped(self) -> BinnedWindow:
        """The same values reordered bin by bin, so a bin's values are one slice (no ``k``).

        A radix sort of the bin indices (10–15 ms per million values): worth it for a reference
        that scores many windows, each of which looks up the values of a few bins.
        """
        if self.k is None:
            return self
        return replace(self, x=self.x[np.argsort(self.k, kind="stable")], k=None)

    @property
    def m(self) -> int:
        return len(self.x)

    @cached_property
    def cum(self) -> np.ndarray:
        """Number of values <= each edge (computed once: a reference's serves every window)."""
        return np.cumsum(self.counts)[:-1]

    def at_ranks(self, ranks: np.ndarray) -> np.ndarray:
        """The values of the given 1-based ranks in sorted order (only their bins are sorted)."""
        before = np.concatenate([[0], np.cumsum(self.counts)])
        j = np.searchsorted(before, ranks, side="left") - 1  # before[j] < rank <= before[j + 1]
        values, first = self._values_of(j)
        return values[first + ranks - before[j] - 1]

    def count_le(self, edges: np.ndarray, points: np.ndarray) -> np.ndarray:
        """How many values are <= each point, with ``edges`` the bins' edges (only the points' bins are sorted)."""
        j = np.searchsorted(edges, points, side="left")  # the bin of each point, as ReferenceBins.index
        values, first = self._values_of(j)
        # the sorted values of the flagged bins: those of earlier flagged bins are all below the point
        return np.concatenate([[0], np.cumsum(self.counts)])[j] + np.searchsorted(values, points, side="right") - first

    def _values_of(self, bins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sorted values of ``bins``, and for each entry of ``bins`` where its bin's values start there."""
        want = np.zeros(len(self.counts), dtype=bool)
        want[bins] = True
        flagged = np.flatnonzero(want)
        per_bin = self.counts[flagged]
        return self.sorted_in(want), (np.cumsum(per_bin) - per_bin)[np.searchsorted(flagged, bins)]

    def sorted_in(self, want: np.ndarray) -> np.ndarray:
        """The values of the bins flagged in ``want``, sorted (so grouped bin by bin)."""
        if self.k is None:  # grouped: gather the bins' slices
            lens = np.where(want, self.counts, 0)
            starts = np.cumsum(self.counts) - self.counts
            bins = np.flatnonzero(lens)
            lens, starts = lens[bins], starts[bins]
            return np.sort(self.x[np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(lens.sum())])
        if len(self.x) >= KERNEL_MIN and self.x.dtype == np.float64:  # one compiled pass, the same values
            from ._binning_kernels import gather

            out = np.empty(int(self.counts[want].sum()), dtype=np.float64)
            gather(self.x, self.k, want, out)
            return np.sort(out)
        # a cache-sized block at a time (numpy converts compact indices to intp to index with)
        step = 1 << 16
        return np.sort(np.concatenate([self.x[i:i + step][np.take(want, self.k[i:i + step])]
                                       for i in range(0, len(self.k), step)]))


@dataclass
class NumericReference:
    """What a numeric column's reference keeps: its finite values binned once, and moments."""

    bins: ReferenceBins
    own: BinnedWindow
    mean: float
    std: float
    min: float
    max: float
    #: per number of quantile bins: the reference's quantiles and its counts at or below them
    _quantiles: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def fit(cls, x: np.ndarray, bins: ReferenceBins | None = None, index: bool = True) -> NumericReference:
        """Fit on finite values ``x`` (on given ``bins``, e.g. loaded from a file).

        ``index`` keeps the values grouped by bin, which makes every later scoring faster
        (see :meth:`BinnedWindow.grouped`); a one-off comparison skips it.
        """
        bins = bins or ReferenceBins.fit(x)
        own = BinnedWindow.of(bins, x, keep=True)
        if index:
            own = own.grouped()
        mean = float(x.mean())
        # np.std's own steps (pairwise sums, no BLAS: its threads busy-wait and steal the
        # cores the other columns run on; a dot product also rounds differently per thread count)
        sq = x - mean
        with np.errstate(over="ignore"):
            np.multiply(sq, sq, out=sq)
        std = float(np.sqrt(np.add.reduce(sq) / len(x)))
        if np.isinf(std):  # the squares overflowed (values beyond ~1e154): scale them down first
            d = x - mean
            top = float(np.abs(d).max())
            std = top * float(np.sqrt(np.add.reduce((d / top) ** 2) / len(x)))
        return cls(bins, own, mean, std, own.min, own.max)

    @property
    def n(self) -> int:
        return self.own.m

    @property
    def tied(self) -> bool:
        """Many reference values sit on bin edges (discrete data): worth counting windows' too."""
        return bool((self.own.counts - self.own.inside).sum() > 2 * len(self.bins.edges))

    @property
    def values(self) -> np.ndarray:
        return self.own.x

    @property
    def cum(self) -> np.ndarray:
        return self.own.cum

    def quantiles(self, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
        """The distinct ``k/n_bins`` quantiles (k = 1..n_bins-1) and how many values lie at or below each.

        The ``k/n_bins`` quantile is the smallest value with at least that share of the values at
        or below it (the inverse of the empirical CDF): the value of rank ``ceil(k * n / n_bins)``.
        """
        if n_bins not in self._quantiles:
            ranks = -(-np.arange(1, n_bins, dtype=np.int64) * self.n // n_bins)
            q = np.unique(self.own.at_ranks(ranks))
            self._quantiles[n_bins] = q, self.own.count_le(self.bins.edges, q)
        return self._quantiles[n_bins]

    def quantile_edge_index(self, n_bins: int) -> np.ndarray:
        """Positions in ``bins.edges`` of the edges nearest the reference ``1/n_bins`` quantiles."""
        cum = self.cum
        targets = self.n * np.arange(1, n_bins) / n_bins
        return np.unique(np.clip(np.searchsorted(cum, targets, side="left"), 0, len(cum) - 1))


class _Cdfs:
    """Both CDFs at the reference edges and their ranges inside each bin."""

    def __init__(self, ref: NumericReference, w: BinnedWindow) -> None:
        n, m = ref.n, w.m
        self.n, self.m = n, m
        rcum, ccum = ref.cum, w.cum
        self.r_lo = np.concatenate([[0], rcum])
        self.r_hi = np.concatenate([rcum, [n]])
        self.c_lo = np.concatenate([[0], ccum])
        self.c_hi = np.concatenate([ccum, [m]])
        self.edge_gap = rcum / n - ccum / m
        # the range of F_ref - F_cur strictly inside each bin (a, b): only interior values move it
        self.gap_lo = self.r_lo / n - (self.c_lo + w.inside) / m
        self.gap_hi = (self.r_lo + ref.own.inside) / n - self.c_lo / m


def ks_statistic(ref: NumericReference, w: BinnedWindow, cdfs: _Cdfs | None = None) -> float:
    """Two-sample KS statistic D, equal to ``scipy.stats.ks_2samp(ref, cur).statistic``.

    The gap is exact at the edges. Inside a bin it can only beat the edges when both samples
    have values there and the bin's bound beats the largest edge gap; those bins are refined
    at once. ``F_ref - F_cur`` rises only at reference values and falls only at window values,
    so its maximum is taken at a reference value and its minimum at a window value: each
    sample's values are looked up in the other's, with integer counts divided as scipy divides.
    """
    c = cdfs or _Cdfs(ref, w)
    best = float(np.abs(c.edge_gap).max())
    bound = np.maximum(c.gap_hi, -c.gap_lo)
    need = (bound > best) & (w.counts > 0) & (ref.own.counts > 0)
    if not need.any():
        return best
    rs, cs = ref.own.sorted_in(need), w.sorted_in(need)
    flagged = np.flatnonzero(need)
    r_n, c_n = ref.own.counts[flagged], w.counts[flagged]
    # flagged values of earlier flagged bins, per flagged bin
    r_off, c_off = np.cumsum(r_n) - r_n, np.cumsum(c_n) - c_n
    rise = _counts_le(rs, rs, flagged, r_n, c.r_lo, r_off) / c.n - _counts_le(cs, rs, flagged, r_n, c.c_lo, c_off) / c.m
    fall = _counts_le(rs, cs, flagged, c_n, c.r_lo, r_off) / c.n - _counts_le(cs, cs, flagged, c_n, c.c_lo, c_off) / c.m
    return max(best, float(rise.max()), float(-fall.min()))


def _counts_le(
    sample: np.ndarray, at: np.ndarray, bins: np.ndarray, per_bin: np.ndarray, below: np.ndarray, offset: np.ndarray
) -> np.ndarray:
    """How many values of a sample are <= each point of ``at``, where ``at`` holds the sorted
    values of the flagged ``bins`` (``per_bin`` of them in each) and ``sample`` the sample's."""
    which = np.repeat(np.arange(len(bins)), per_bin)  # the flagged bin of each point
    return below[bins[which]] + np.searchsorted(sample, at, side="right") - offset[which]


def ks_pvalue(d: float, n: int, m: int) -> float:
    """scipy's asymptotic two-sided p-value for large samples (``method="auto"`` beyond 10,000)."""
    from .kolmogorov import kstwo_sf

    big, small = sorted([float(n), float(m)], reverse=True)
    en = big * small / (big + small)
    return float(np.clip(kstwo_sf(d, int(np.round(en))), 0, 1))


def ks_test(ref: NumericReference, w: BinnedWindow, cdfs: _Cdfs | None = None) -> tuple[float, float]:
    """(D, p-value) as ``scipy.stats.ks_2samp(method="auto")`` gives them."""
    if max(ref.n, w.m) <= KS_EXACT_MAX_N:
        from scipy.stats import ks_2samp

        res = ks_2samp(ref.values, w.x)
        return float(res.statistic), float(res.pvalue)
    d = ks_statistic(ref, w, cdfs)
    return d, ks_pvalue(d, ref.n, w.m)


@dataclass
class WassersteinEstimate:
    """W1 between reference and window (raw units), exact or within ``[lower, upper]``."""

    lower: float
    upper: float

    @property
    def value(self) -> float:
        return (self.lower + self.upper) / 2

    @property
    def exact(self) -> bool:
        return self.upper - self.lower <= 1e-12 * max(1.0, abs(self.upper))


def wasserstein(
    ref: NumericReference, w: BinnedWindow, exact: bool = False, cdfs: _Cdfs | None = None
) -> WassersteinEstimate:
    """W1 = integral of |F_ref - F_cur| (equal to ``scipy.stats.wasserstein_distance``).

    With ``exact=False`` the bins where the CDF gap changes sign are bounded, not refined.
    """
    c = cdfs or _Cdfs(ref, w)
    e, signed, unsure, upper = wasserstein_bins(ref, w, c)
    sure = float(np.abs(signed[~unsure]).sum())
    if not unsure.any():
        return WassersteinEstimate(sure, sure)
    s = signed[unsure]
    if not exact:
        return WassersteinEstimate(sure + float(np.abs(s).sum()), sure + float(np.maximum(upper, np.abs(s)).sum()))
    inside = _exact_inside(ref, w, c, unsure, e)
    return WassersteinEstimate(sure + inside, sure + inside)


def wasserstein_bins(
    ref: NumericReference, w: BinnedWindow, c: _Cdfs
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per bin: (bin bounds ``e``, signed integral of F_ref - F_cur, whether its sign may change
    inside the bin, and an upper bound on the integral of the absolute gap in each such bin).

    Bin j spans ``[e[j], e[j + 1]]``; the integral of ``|F_ref - F_cur|`` over it is
    ``|signed[j]|`` where ``unsure[j]`` is False, else between that and the bound.
    """
    n, m = c.n, c.m
    # bin j spans [e[j], e[j + 1]]: the outer bins end at the extreme values of both samples
    e = np.concatenate([[min(ref.min, w.min)], ref.bins.edges, [max(ref.max, w.max)]])
    a, b = e[:-1], e[1:]
    width = b - a
    b_rel = b - ref.bins.origin  # the sums are of x - origin
    # per bin, the sum of each sample's distances from its values to the bin's right edge (values
    # on that edge, where counted, add exactly 0 and are left out of the sums)
    r_right, c_right = ref.own.inside * b_rel - ref.own.sums, w.inside * b_rel - w.sums
    signed = (c.r_lo * width + r_right) / n - (c.c_lo * width + c_right) / m
    lo, hi = c.gap_lo, c.gap_hi
    unsure = (lo < 0) & (hi > 0)
    s, wd = signed[unsure], width[unsure]
    upper = np.minimum(s - 2 * wd * lo[unsure], -s + 2 * wd * hi[unsure])
    # |gap| <= |gap at one edge| + the mass between that edge and t; integrated over the bin
    # that is the edge gap times the width plus each sample's distances of its values to the edge
    r_right, c_right = r_right[unsure], c_right[unsure]
    r_left, c_left = ref.own.counts[unsure] * wd - r_right, w.counts[unsure] * wd - c_right
    at_a = np.abs(c.r_lo / n - c.c_lo / m)[unsure]
    at_b = np.abs((c.r_lo + ref.own.counts) / n - (c.c_lo + w.counts) / m)[unsure]
    upper = np.minimum(upper, np.minimum(at_a * wd + r_right / n + c_right / m, at_b * wd + r_left / n + c_left / m))
    return e, signed, unsure, upper


def _exact_inside(ref: NumericReference, w: BinnedWindow, c: _Cdfs, want: np.ndarray, e: np.ndarray) -> float:
    """The integral of |F_ref - F_cur| over the bins flagged in ``want``, from their values.

    The values of those bins, from both samples, are merged; the gap is constant from each
    value to the next (or to the bin's right edge), and from the bin's left edge to its first
    value it is the edge gap. All bins at once, with integer counts as scipy computes them.
    """
    bins = np.flatnonzero(want)
    rs, cs = ref.own.sorted_in(want), w.sorted_in(want)
    r_n, c_n = ref.own.counts[bins], w.counts[bins]
    per_bin = r_n + c_n
    pts = np.sort(np.concatenate([rs, cs]))  # grouped by bin, as both inputs are
    gap = (_counts_le(rs, pts, bins, per_bin, c.r_lo, np.cumsum(r_n) - r_n) / c.n
           - _counts_le(cs, pts, bins, per_bin, c.c_lo, np.cumsum(c_n) - c_n) / c.m)
    which = np.repeat(np.arange(len(bins)), per_bin)
    last = np.append(which[1:] != which[:-1], True)  # the last value of its bin
    after = float(np.abs(gap) @ (np.where(last, e[bins[which] + 1], np.append(pts[1:], 0.0)) - pts))
    first = pts[np.cumsum(per_bin) - per_bin]
    before = float(np.abs(c.r_lo[bins] / c.n - c.c_lo[bins] / c.m) @ (first - e[bins]))
    return before + after


def psi(ref: NumericReference, w: BinnedWindow, n_bins: int = PSI_BINS, eps: float = PSI_EPS) -> float:
    """Population stability index on the bins ``(-inf, q1], (q1, q2], ..., (q_last, inf)`` between the
    reference's ``k/n_bins`` quantiles (tied quantiles make one edge)."""
    q, r_le = ref.quantiles(n_bins)
    r_cum = np.concatenate([[0], r_le, [ref.n]])
    c_cum = np.concatenate([[0], w.count_le(ref.bins.edges, q), [w.m]])
    return psi_from_counts(np.diff(r_cum), np.diff(c_cum), eps)


def psi_from_counts(ref_counts: np.ndarray, cur_counts: np.ndarray, eps: float = PSI_EPS) -> float:
    """``sum((c - r) * ln(c / r))`` over bins, with both shares floored at ``eps``."""
    r = np.maximum(ref_counts / max(ref_counts.sum(), 1), eps)
    c = np.maximum(cur_counts / max(cur_counts.sum(), 1), eps)
    return float(((c - r) * np.log(c / r)).sum())
