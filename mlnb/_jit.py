"""Compiled kernels: the one way mlnb compiles a hot loop with numba.

A kernel is plain Python over NumPy arrays and scalars, compiled on its first call to machine code
that holds no GIL (so threads run kernels on every core) and is cached on disk (so a later process
loads it instead of compiling again). Import this module only where a kernel is used: numba itself
takes ~0.3 s to import, which the CLI's quick verbs must not pay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numba

F = TypeVar("F", bound=Callable)


def kernel(fn: F) -> F:
    """``fn`` compiled without the GIL, its machine code cached beside the module (or in
    ``NUMBA_CACHE_DIR``). Floating-point arithmetic keeps IEEE semantics (no fast-math), so a
    kernel gives the bits its NumPy equivalent gives."""
    return numba.njit(cache=True, nogil=True)(fn)
