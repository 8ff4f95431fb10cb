"""The NumPy binning that :meth:`mlnb.checks.stats.sketch.Sketch.add_values` replaced with a compiled
kernel, kept as the reference the kernel must equal bit for bit (counts, sums, minimum, maximum)."""

from __future__ import annotations

import numpy as np

from mlnb.checks.stats.sketch import _SHIFT, Sketch

_ABS = np.int64(0x7FFF_FFFF_FFFF_FFFF)


def keys(sketch: Sketch, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(signed bin key of each value, ``x - center``), as the package computed them with NumPy."""
    d = np.subtract(x, sketch.center, dtype=np.float64)
    bits = d.view(np.int64)
    sign = bits >> 63  # -1 where d < 0, else 0
    raw = (bits & _ABS) >> _SHIFT
    m = np.minimum(np.maximum(raw - (sketch.floor - 2), 1), raw)
    return (m ^ sign) - sign, d


def add(sketch: Sketch, x: np.ndarray) -> None:
    """Count finite float64 values ``x`` into ``sketch`` as the NumPy path did: one ``bincount`` of
    the batch's keys (weights: the distances), added into the sketch's arrays."""
    if not len(x):
        return
    k, d = keys(sketch, x)
    lo = int(k.min())
    k -= lo
    counts = np.bincount(k)
    sums = np.bincount(k, weights=d, minlength=len(counts))
    sketch._add(lo, counts, sums, float(x.min()), float(x.max()))
