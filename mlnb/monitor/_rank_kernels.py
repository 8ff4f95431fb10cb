"""Compiled kernels of performance metrics: ordering scores and calibrating probabilities.

Each gives exactly what the NumPy / SciPy call it replaces gives (the tests compare bit for bit):

* :func:`argsort_desc` is ``np.argsort(-score, kind="stable")`` for finite scores: a
  least-significant-digit radix sort of the scores' bits (8 passes of a byte, a pass skipped
  where every key has the same byte), ~10x less than a comparison sort of a window's scores;
* :func:`mann_whitney_auc` is ROC AUC from ``scipy.stats.rankdata`` (ties counted half): the
  numerator ``sum of the positives' ranks - n1 (n1 + 1) / 2`` counted in integers from that order,
  which is the same number (both are sums of halves, exact in float64);
* :func:`interp` is ``np.interp`` on increasing ``xp`` (NumPy's formula, step by step), its
  interval found from a lookup table instead of a binary search.

Imported only where a window's performance is computed (numba's import costs ~0.3 s).
"""

from __future__ import annotations

import numpy as np

from .._jit import kernel


@kernel
def _desc_keys(bits, keys):  # noqa: ANN001, ANN201 (numba infers the types)
    """Unsigned keys whose ascending order is the descending order of the floats whose ``bits``
    are given (their IEEE bits as uint64)."""
    sign = np.uint64(1) << np.uint64(63)
    for i in range(bits.shape[0]):
        u = bits[i]
        up = ~u if u & sign else u | sign  # ascending order of the floats
        keys[i] = ~up


@kernel
def _radix(keys, order, tmp_keys, tmp_order):  # noqa: ANN001, ANN201
    """Stable LSD radix sort of ``keys`` by bytes, carrying ``order``; returns where the result is
    (0: in ``keys``/``order``, 1: in the tmp arrays)."""
    n = keys.shape[0]
    counts = np.zeros((8, 256), dtype=np.int64)
    for i in range(n):
        k = keys[i]
        for d in range(8):
            counts[d, (k >> np.uint64(8 * d)) & np.uint64(255)] += 1
    src_k, src_o, dst_k, dst_o = keys, order, tmp_keys, tmp_order
    where = 0
    for d in range(8):
        if counts[d].max() == n:  # every key has this byte: the pass would move nothing
            continue
        start = np.empty(256, dtype=np.int64)
        total = 0
        for b in range(256):
            start[b] = total
            total += counts[d, b]
        shift = np.uint64(8 * d)
        for i in range(n):
            k = src_k[i]
            b = (k >> shift) & np.uint64(255)
            p = start[b]
            dst_k[p] = k
            dst_o[p] = src_o[i]
            start[b] = p + 1
        src_k, src_o, dst_k, dst_o = dst_k, dst_o, src_k, src_o
        where = 1 - where
    return where


def subset_order(order: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``argsort_desc(score[keep])`` from ``order = argsort_desc(score)``: a stable order keeps
    its ties in index order, so the kept entries of ``order``, renumbered, are that order."""
    if keep.all():
        return order
    renumber = np.cumsum(keep, dtype=np.int64) - 1
    return renumber[order[keep[order]]]


def argsort_desc(score: np.ndarray) -> np.ndarray:
    """``np.argsort(-score, kind="stable")`` (NaN scores: NumPy itself is called)."""
    score = np.ascontiguousarray(score, dtype=np.float64)
    if len(score) < 2 or np.isnan(score).any():
        return np.argsort(-score, kind="stable")
    keys = np.empty(len(score), dtype=np.uint64)
    _desc_keys((score + 0.0).view(np.uint64), keys)  # -0.0 + 0.0 is 0.0: equal scores, equal keys
    order = np.arange(len(score), dtype=np.int64)
    tmp_keys, tmp_order = np.empty_like(keys), np.empty_like(order)
    return tmp_order if _radix(keys, order, tmp_keys, tmp_order) else order


@kernel
def _twice_u(y, score, order):  # noqa: ANN001, ANN201
    """2 x the Mann-Whitney U of the positives: per positive, twice the negatives scored below it
    plus the negatives tied with it (``order`` sorts ``score`` descending)."""
    n = order.shape[0]
    neg_total = 0
    for i in range(n):
        if not y[i]:
            neg_total += 1
    twice = np.int64(0)
    seen_neg = 0  # negatives scored above the current group
    i = 0
    while i < n:
        j = i
        pos = 0
        neg = 0
        s = score[order[i]]
        while j < n and score[order[j]] == s:
            if y[order[j]]:
                pos += 1
            else:
                neg += 1
            j += 1
        below = neg_total - seen_neg - neg
        twice += pos * (2 * below + neg)
        seen_neg += neg
        i = j
    return twice


def mann_whitney_auc(y: np.ndarray, score: np.ndarray, order: np.ndarray | None = None) -> float:
    """ROC AUC of binary ``y`` against finite ``score`` exactly as ``_performance.roc_auc``
    computes it from ``rankdata`` (NaN without both classes); ``order`` is
    ``argsort_desc(score)`` when already known."""
    y = np.ascontiguousarray(y, dtype=np.bool_)
    score = np.ascontiguousarray(score, dtype=np.float64)
    n1 = int(y.sum())
    n0 = len(y) - n1
    if not n1 or not n0:
        return float("nan")
    u = np.float64(_twice_u(y, score, argsort_desc(score) if order is None else order)) / 2.0
    return float(u / (n1 * n0))


@kernel
def _interp(x, xp, fp, lut, lo, scale, out):  # noqa: ANN001, ANN201
    last = xp.shape[0] - 1
    cells = lut.shape[0]
    for i in range(x.shape[0]):
        v = x[i]
        if v != v:
            out[i] = v
        elif v < xp[0]:
            out[i] = fp[0]
        elif v > xp[last]:
            out[i] = fp[last]
        else:
            c = (v - lo) * scale
            if c < 0.0:
                c = 0.0
            if c > cells - 1:
                c = cells - 1.0
            j = lut[np.intp(c)]
            while j < last and xp[j + 1] <= v:
                j += 1
            while j > 0 and xp[j] > v:
                j -= 1
            if j == last or xp[j] == v:
                out[i] = fp[j]
            else:
                slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
                r = slope * (v - xp[j]) + fp[j]
                if r != r:
                    r = slope * (v - xp[j + 1]) + fp[j + 1]
                    if r != r and fp[j] == fp[j + 1]:
                        r = fp[j]
                out[i] = r


def interp(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """``np.interp(x, xp, fp)`` for strictly increasing finite ``xp`` (at least two points)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    xp = np.ascontiguousarray(xp, dtype=np.float64)
    fp = np.ascontiguousarray(fp, dtype=np.float64)
    if len(xp) < 2 or not np.isfinite(xp[-1] - xp[0]) or not xp[-1] > xp[0]:
        return np.interp(x, xp, fp)
    cells = 4 * len(xp)
    lo, scale = float(xp[0]), cells / float(xp[-1] - xp[0])
    # the first point of each cell's interval, a guess the kernel corrects by exact comparisons
    starts = lo + np.arange(cells) / scale
    lut = np.clip(np.searchsorted(xp, starts, side="right") - 1, 0, len(xp) - 1).astype(np.int64)
    out = np.empty(len(x), dtype=np.float64)
    _interp(x, xp, fp, lut, lo, scale, out)
    return out
