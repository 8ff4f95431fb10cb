"""Compiled kernels: the one way mlnb compiles a hot loop with numba.

A kernel is plain Python over NumPy arrays and scalars, compiled on its first call to machine code
that holds no GIL (so threads run kernels on every core) and is cached on disk (so a later process
loads it instead of compiling again). Import this module only where a kernel is used: numba itself
takes ~0.3 s to import, which the CLI's quick verbs must not pay.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib.util import find_spec
from typing import TypeVar

import numba

F = TypeVar("F", bound=Callable)


def _skip_blas_probe() -> None:
    """Load numba's array library without its BLAS probe, which imports all of ``scipy.linalg``
    (~0.4 s, a third of a short command) to learn whether ``np.dot`` may call BLAS; no kernel here
    calls BLAS. The probe's answer is then set from where scipy.linalg would be found, as numba
    would have set it, so a user's own numba code in the same process is compiled as before (its
    ``np.dot`` imports scipy.linalg when it is compiled, as it always did)."""
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return
    sys.modules["scipy.linalg"] = None  # type: ignore[assignment]  # the probe's import fails at once
    try:
        import numba.np.arraymath as arraymath
    finally:
        if sys.modules.get("scipy.linalg", 0) is None:
            del sys.modules["scipy.linalg"]
    arraymath._HAVE_BLAS = find_spec("scipy") is not None and find_spec("scipy.linalg") is not None


_skip_blas_probe()


def kernel(fn: F) -> F:
    """``fn`` compiled without the GIL, its machine code cached beside the module (or in
    ``NUMBA_CACHE_DIR``). Floating-point arithmetic keeps IEEE semantics (no fast-math), so a
    kernel gives the bits its NumPy equivalent gives."""
    return numba.njit(cache=True, nogil=True)(fn)
