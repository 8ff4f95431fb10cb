"""Compiled kernel of a window's realized classification counts, in one pass over its labels.

For the common case — predicted and true labels (floats) holding at most two distinct values,
none of them NaN — :func:`binary_counts` finds the classes and counts the agreeing rows and the
positive class's true positives, false positives and false negatives, where
:func:`._performance.classification` would hash the labels for their classes and build a
boolean array per count. Counts are integers, so the metrics made from them are the same bits.
Anything else (NaN, more classes) is left to the plain path. Imported only where a window's
performance is computed (numba's import costs ~0.3 s).
"""

from __future__ import annotations

import numpy as np

from .._jit import kernel


@kernel
def _counts(y_pred, y_true, out):  # noqa: ANN001, ANN201 (numba infers the types)
    """``out`` = [classes, first class, second class, equal, tp, fp, fn] with the larger class
    positive; classes is 0 (NaN or a third class: nothing else filled), 1 or 2."""
    n = y_pred.shape[0]
    a = 0.0
    b = 0.0
    k = 0
    for arr in (y_pred, y_true):
        for i in range(n):
            v = arr[i]
            if v != v:
                out[0] = 0.0
                return
            if k == 0:
                a = v
                k = 1
            elif v != a:
                if k == 1:
                    b = v
                    k = 2
                elif v != b:
                    out[0] = 0.0
                    return
    pos = b if k == 2 and b > a else a
    equal = 0
    tp = 0
    fp = 0
    fn = 0
    for i in range(n):
        p = y_pred[i] == pos
        t = y_true[i] == pos
        if y_pred[i] == y_true[i]:
            equal += 1
        if p and t:
            tp += 1
        elif p:
            fp += 1
        elif t:
            fn += 1
    out[0] = k
    out[1] = a
    out[2] = b
    out[3] = equal
    out[4] = tp
    out[5] = fp
    out[6] = fn


def binary_counts(y_pred: np.ndarray, y_true: np.ndarray) -> tuple[float, float, float, float, float] | None:
    """``(agreeing rows, tp, fp, fn, positive)`` with the larger label positive, for float labels
    with at most two distinct values and no NaN among ``y_pred`` and ``y_true`` (same length, at
    least one row); None otherwise."""
    if y_pred.dtype != np.float64 or y_true.dtype != np.float64 or not len(y_true):
        return None
    out = np.zeros(7)
    _counts(np.ascontiguousarray(y_pred), np.ascontiguousarray(y_true), out)
    if out[0] == 0:
        return None
    positive = out[2] if out[0] == 2 and out[2] > out[1] else out[1]
    return float(out[3]), float(out[4]), float(out[5]), float(out[6]), positive
