"""Compiled kernels of the outcome join (:mod:`._join`): id codes, the latest outcome per code in
an open-addressing hash table, lookups, and the byte-for-byte check of every match.

Strings are read straight from Arrow's buffers (``offsets``, ``data``); nothing becomes a Python
object. The kernels hold no GIL, so two windows are joined on two cores. Imported only where
outcomes are joined (numba's import costs ~0.3 s).
"""

from __future__ import annotations

import numpy as np

from .._jit import kernel

_MULT = np.uint64(0x9E3779B97F4A7C15)
_LEN = np.uint64(0xC2B2AE3D27D4EB4F)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@kernel
def id_codes(offsets, data, out):  # noqa: ANN001, ANN201 (numba infers the types)
    """The code of each string ``data[offsets[i]:offsets[i + 1]]``: ``sum((byte + 1) * MULT**k)``
    over its bytes, k counted from its end, plus its length times LEN, then SplitMix64's
    finaliser (all mod 2^64) — the codes :func:`._join.codes` documents."""
    for i in range(out.shape[0]):
        h = np.uint64(0)
        lo, hi = offsets[i], offsets[i + 1]
        for j in range(lo, hi):
            h = h * _MULT + (np.uint64(data[j]) + np.uint64(1))
        h += np.uint64(hi - lo) * _LEN
        h ^= h >> np.uint64(30)
        h *= _MIX1
        h ^= h >> np.uint64(27)
        h *= _MIX2
        h ^= h >> np.uint64(31)
        out[i] = h


@kernel
def latest_per_code(codes, times, table):  # noqa: ANN001, ANN201
    """Fill ``table`` (a power-of-two length, all -1) with, per distinct code, the row holding its
    latest time; a later row wins a tie, and a NaN time counts as the latest (as a stable sort
    by time puts it last). Returns how many distinct codes."""
    mask = np.uint64(table.shape[0] - 1)
    distinct = 0
    for r in range(codes.shape[0]):
        c = codes[r]
        s = np.intp(c & mask)
        while True:
            old = table[s]
            if old < 0:
                table[s] = r
                distinct += 1
                break
            if codes[old] == c:
                t_new, t_old = times[r], times[old]
                if t_new != t_new or (t_old == t_old and t_new >= t_old):
                    table[s] = r
                break
            s = np.intp((np.uint64(s) + np.uint64(1)) & mask)
    return distinct


@kernel
def mark_latest(table, latest):  # noqa: ANN001, ANN201
    """``latest[row] = True`` for every row ``table`` holds (the latest row of its code)."""
    for s in range(table.shape[0]):
        if table[s] >= 0:
            latest[table[s]] = True


@kernel
def find(codes, table, table_codes, latest, out):  # noqa: ANN001, ANN201
    """For each code, the row ``table`` holds for it (codes of rows in ``table_codes``), or -1.

    The row after the previous answer is tried first: where outcomes were logged in the order of
    the predictions they label, it is the answer, read without a random access into the table.
    It is taken only when it holds the code and is its code's row in the table (``latest``,
    :func:`mark_latest`), so the answer is the table's either way."""
    mask = np.uint64(table.shape[0] - 1)
    n_rows = table_codes.shape[0]
    guess = 0
    for i in range(codes.shape[0]):
        c = codes[i]
        if guess < n_rows and table_codes[guess] == c and latest[guess]:
            out[i] = guess
            guess += 1
            continue
        s = np.intp(c & mask)
        row = -1
        while True:
            old = table[s]
            if old < 0:
                break
            if table_codes[old] == c:
                row = old
                break
            s = np.intp((np.uint64(s) + np.uint64(1)) & mask)
        out[i] = row
        if row >= 0:
            guess = row + 1


@kernel
def same_strings(at, offsets, data, other_offsets, other_data):  # noqa: ANN001, ANN201
    """Whether every string i with ``at[i] >= 0`` equals the other array's string ``at[i]``."""
    for i in range(at.shape[0]):
        r = at[i]
        if r < 0:
            continue
        lo, hi = offsets[i], offsets[i + 1]
        olo, ohi = other_offsets[r], other_offsets[r + 1]
        if hi - lo != ohi - olo:
            return False
        for j in range(hi - lo):
            if data[lo + j] != other_data[olo + j]:
                return False
    return True
