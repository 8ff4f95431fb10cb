"""Compiled loops of the fine histogram (:mod:`.sketch`): a batch's raw buffer binned in one pass.

:func:`bin_batch` reads each value once (any integer or floating type; nulls skipped by Arrow's
validity bitmap; NaN and ±inf counted, not binned) and does in one loop what the NumPy path does
in several: the bin key from the bits of ``d = x - center``, the count and the sum of ``d`` per
bin (into scratch arrays indexed by key, summed from zero in the order of the values, as
``np.bincount`` sums its weights), the minimum, the maximum and the sum of ``d``; a second pass
over the batch (still in the CPU cache) sums the squared deviations from the batch's mean.
:func:`fold` adds the scratch bins into a sketch's arrays and zeroes them again. No kernel holds
the GIL, so a thread bins while others read or bin.

Import this module only where a batch is binned: numba's import costs ~0.3 s.
"""

from __future__ import annotations

import numpy as np

from ..._jit import kernel

#: keys of finite values lie in ``-KEYS .. KEYS`` (11 exponent and 10 mantissa bits of ``|x - c|``)
KEYS = 1 << 21
_ABS = 0x7FFF_FFFF_FFFF_FFFF
#: squared deviations summed apart before they join the total (bounds the rounding error)
_BLOCK = 4096


@kernel
def key_of(d, offset, shift):  # noqa: ANN001, ANN201
    """The signed bin key of a distance ``d`` from the centre (0: the centre's own bin)."""
    one = np.empty(1, np.float64)
    one[0] = d
    b = one.view(np.int64)[0]
    sign = b >> 63  # -1 where d < 0, else 0
    raw = (b & _ABS) >> shift  # |d|'s magnitude key; 0 only at the centre
    m = min(max(raw - offset, 1), raw)  # near the centre: bin 1; the centre itself stays 0
    return (m ^ sign) - sign  # negated where d < 0 (two's complement)


@kernel
def bin_batch(x, validity, bit_offset, center, offset, shift, counts, sums, scratch):  # noqa: ANN001, ANN201
    """Bin the valid finite values of ``x`` into ``counts`` and ``sums`` (indexed by ``key + KEYS``).

    ``validity``: Arrow's validity bitmap (empty: every value is valid), the first value's bit at
    ``bit_offset``; ``offset`` is the grid's ``floor - 2``; ``shift`` is 52 minus the mantissa bits
    kept; ``scratch``: room for ``len(x)`` float64 values. Returns (lowest key, highest key, finite
    values, NaN, ±inf, min, max, mean, sum of squared deviations from the mean); nothing was
    binned when there is no finite value. The mean is NumPy's (``x[finite].mean()``, the same
    pairwise sum), the squared deviations are summed in another order than NumPy's.
    """
    n = x.shape[0]
    masked = validity.shape[0] > 0
    one = np.empty(1, np.float64)
    bits = one.view(np.int64)
    finite, other = 0, 0
    mn, mx = np.inf, -np.inf
    for i in range(n):
        if masked:
            j = i + bit_offset
            if not (validity[j >> 3] >> (j & 7)) & 1:
                continue
        v = np.float64(x[i])
        if v - v != 0.0:  # NaN or ±inf
            other += 1
            continue
        d = v - center
        one[0] = d
        b = bits[0]
        sign = b >> 63
        raw = (b & _ABS) >> shift
        m = min(max(raw - offset, 1), raw)
        key = (m ^ sign) - sign + KEYS
        counts[key] += 1
        sums[key] += d
        if v < mn:
            mn = v
        if v > mx:
            mx = v
        finite += 1
    if finite == 0:
        nan = _compact(x, validity, bit_offset, scratch)[1]
        return 1, 0, 0, nan, other - nan, mn, mx, 0.0, 0.0
    nan = 0
    if masked or other:  # the finite values side by side, as NumPy's mean sees them
        nan = _compact(x, validity, bit_offset, scratch)[1]
        values = scratch[:finite]
        mean = _pairwise_sum(values, 0, finite) / finite
        m2 = _squared_deviations(values, mean)
    else:
        mean = _pairwise_sum(x, 0, n) / n
        m2 = _squared_deviations(x, mean)
    return (key_of(mn - center, offset, shift), key_of(mx - center, offset, shift), finite, nan, other - nan,
            mn, mx, mean, m2)


@kernel
def _compact(x, validity, bit_offset, into):  # noqa: ANN001, ANN201
    """Copy the valid finite values of ``x`` (as float64) to the start of ``into``; returns how
    many, and how many valid values were NaN."""
    masked = validity.shape[0] > 0
    k, nan = 0, 0
    for i in range(x.shape[0]):
        if masked:
            j = i + bit_offset
            if not (validity[j >> 3] >> (j & 7)) & 1:
                continue
        v = np.float64(x[i])
        if v - v == 0.0:
            into[k] = v
            k += 1
        elif v != v:
            nan += 1
    return k, nan


@kernel
def _pairwise_sum(a, lo, n):  # noqa: ANN001, ANN201
    """``a[lo:lo + n]`` summed as NumPy sums a contiguous float64 array (same order, same bits):
    halves summed apart and added, down to blocks of at most 128 values (:func:`_block_sum`).
    The recursion runs on an explicit stack (numba cannot cache a recursive function)."""
    los, ns, stages = np.empty(64, np.int64), np.empty(64, np.int64), np.empty(64, np.int64)
    sums = np.empty(64)
    top, done = 0, 0
    los[0], ns[0], stages[0] = lo, n, 0
    while top >= 0:
        here, size = los[top], ns[top]
        half = size // 2
        half -= half % 8
        if size <= 128:
            sums[done] = _block_sum(a, here, size)
            done += 1
            top -= 1
        elif stages[top] < 2:  # sum the left half, then the right one
            stages[top] += 1
            first = stages[top] == 1
            top += 1
            los[top], ns[top], stages[top] = (here, half, 0) if first else (here + half, size - half, 0)
        else:
            done -= 1
            sums[done - 1] += sums[done]
            top -= 1
    return sums[0]


@kernel
def _block_sum(a, lo, n):  # noqa: ANN001, ANN201
    """NumPy's sum of at most 128 values: one by one below 8, else eight interleaved sums."""
    if n < 8:
        total = 0.0
        for i in range(lo, lo + n):
            total += np.float64(a[i])
        return total
    r0, r1, r2, r3 = np.float64(a[lo]), np.float64(a[lo + 1]), np.float64(a[lo + 2]), np.float64(a[lo + 3])
    r4, r5, r6, r7 = np.float64(a[lo + 4]), np.float64(a[lo + 5]), np.float64(a[lo + 6]), np.float64(a[lo + 7])
    i = 8
    while i < n - n % 8:  # eight sums in registers, as NumPy keeps them
        j = lo + i
        r0 += np.float64(a[j])
        r1 += np.float64(a[j + 1])
        r2 += np.float64(a[j + 2])
        r3 += np.float64(a[j + 3])
        r4 += np.float64(a[j + 4])
        r5 += np.float64(a[j + 5])
        r6 += np.float64(a[j + 6])
        r7 += np.float64(a[j + 7])
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += np.float64(a[lo + i])
        i += 1
    return total


@kernel
def _squared_deviations(x, mean):  # noqa: ANN001, ANN201
    """The sum of ``(x - mean) ** 2``: eight interleaved sums, added every ``_BLOCK`` values."""
    n = x.shape[0]
    stop = n - n % 8
    total = 0.0
    for start in range(0, stop, _BLOCK):
        s = np.zeros(8)
        for i in range(start, min(start + _BLOCK, stop), 8):
            for k in range(8):
                e = np.float64(x[i + k]) - mean
                s[k] += e * e
        total += ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
    for i in range(stop, n):
        e = np.float64(x[i]) - mean
        total += e * e
    return total


@kernel
def fold(counts, sums, lo, hi, into_counts, into_sums, at):  # noqa: ANN001, ANN201
    """Add the scratch bins of keys ``lo .. hi`` into ``into_*`` from index ``at``, and zero them."""
    for key in range(lo + KEYS, hi + KEYS + 1):
        c = counts[key]
        if c:
            into_counts[at] += c
            into_sums[at] += sums[key]
            counts[key] = 0
            sums[key] = 0.0
        at += 1


@kernel
def _lower(mag, shift, bits, value):  # noqa: ANN001, ANN201
    """The smallest non-negative float of a magnitude key (``bits``/``value``: one int64 and its
    float64 view, so that no call allocates)."""
    bits[0] = max(mag, 0) << shift
    return value[0]


@kernel
def _near(mag, floor, shift, bits, value):  # noqa: ANN001, ANN201
    """The distance from the centre where the values of magnitude bin ``mag`` start."""
    return _lower(mag + floor - 2, shift, bits, value) if mag >= 2 else 0.0


@kernel
def _min(a, b):  # noqa: ANN001, ANN201
    """``np.minimum``: NaN if either is NaN."""
    return a if a != a or a < b else (b if b != b or b < a else a)


@kernel
def _max(a, b):  # noqa: ANN001, ANN201
    """``np.maximum``: NaN if either is NaN."""
    return a if a != a or a > b else (b if b != b or b > a else a)


@kernel
def compare_bins(r, rs, c, cs, first, center, floor, shift, low, high):  # noqa: ANN001, ANN201
    """KS and Wasserstein bounds of two histograms aligned on the keys ``first ..`` (counts ``r``,
    ``c``; sums ``rs``, ``cs``), every value computed as the NumPy expressions of
    ``tests/checks/_sketch_numpy.compare`` compute it (same operations, same order: the same bits),
    in one pass and without temporaries. ``low``/``high``: the smallest and largest value of both.
    Returns (D lower, D upper, W1 lower, W1 upper, cumulative counts of ``r``, of ``c``)."""
    size = r.shape[0]
    n, m = 0, 0
    for i in range(size):
        n += r[i]
        m += c[i]
    cum_r, cum_c = np.empty(size, np.int64), np.empty(size, np.int64)
    sure, loose, upper = np.empty(size), np.empty(size), np.empty(size)
    n_sure, n_loose = 0, 0
    acc_r, acc_c = 0, 0
    d_lo, d_in = 0.0, -np.inf
    any_both = False
    edge = low
    bits = np.empty(1, np.int64)
    value = bits.view(np.float64)
    for i in range(size):
        key = first + i
        acc_r += r[i]
        acc_c += c[i]
        cum_r[i], cum_c[i] = acc_r, acc_c
        R, C = acc_r / n, acc_c / m
        R0, C0 = R - r[i] / n, C - c[i] / m
        lo, hi = R0 - C, R - C0
        d_lo = _max(d_lo, abs(R - C)) if i else abs(R - C)
        near = _near(abs(key), floor, shift, bits, value)
        signed_near = near if key >= 0 else -near
        at_point = rs[i] == r[i] * signed_near and cs[i] == c[i] * signed_near
        if r[i] > 0 and c[i] > 0 and not at_point:
            d_in = _max(d_in, _max(hi, -lo)) if any_both else _max(hi, -lo)
            any_both = True
        if i < size - 1:  # the bin's right edge: the start of the next bin away from the centre
            far = _lower(key + floor - 1, shift, bits, value) if key >= 1 else 0.0
            back = _near(-key, floor, shift, bits, value)
            nxt = center + (far if key >= 0 else -back)
        else:
            nxt = high
        w = nxt - edge
        b_rel = nxt - center
        signed = R0 * w + (r[i] * b_rel - rs[i]) / n - (C0 * w + (c[i] * b_rel - cs[i]) / m)
        if lo < 0 and hi > 0 and w > 0 and not at_point:
            up = _min(signed - 2 * w * lo, -signed + 2 * w * hi)
            up = _max(_min(up, w * _max(hi, -lo)), abs(signed))
            loose[n_loose], upper[n_loose] = abs(signed), up
            n_loose += 1
        else:
            sure[n_sure] = abs(signed)
            n_sure += 1
        edge = nxt
    d_hi = _max(d_lo, d_in) if any_both else d_lo
    total_sure = _pairwise_sum(sure, 0, n_sure)
    return (d_lo, d_hi, total_sure + _pairwise_sum(loose, 0, n_loose), total_sure + _pairwise_sum(upper, 0, n_loose),
            cum_r, cum_c)


@kernel
def count_codes(codes, validity, bit_offset, tally):  # noqa: ANN001, ANN201
    """Add how often each dictionary code occurs in ``codes`` to ``tally`` (null entries, per
    Arrow's ``validity`` bitmap from ``bit_offset``, to its last element): ``np.bincount`` of a
    string column's dictionary indices, without converting them to int64 and without the GIL.
    Returns the number of codes outside the dictionary (none were counted)."""
    masked = validity.shape[0] > 0
    nulls = tally.shape[0] - 1
    bad = 0
    for i in range(codes.shape[0]):
        if masked:
            j = i + bit_offset
            if not (validity[j >> 3] >> (j & 7)) & 1:
                tally[nulls] += 1
                continue
        code = codes[i]
        if 0 <= code < nulls:
            tally[code] += 1
        else:
            bad += 1
    return bad
