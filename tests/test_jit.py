"""mlnb._jit: a kernel loads without numba's BLAS probe, and numba behaves as before for user code."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

CHILD = r"""
import json, sys
import numpy as np
from mlnb._jit import kernel

x = np.arange(10.0)

@kernel
def total(v):
    s = 0.0
    for a in v:
        s += a
    return s

first = total(x)
linalg_after_kernel = "scipy.linalg" in sys.modules
import numba
import numba.np.arraymath as am

@numba.njit
def dot(a, b):
    return np.dot(a, b)

@numba.njit
def cov(a):
    return np.cov(a)

print(json.dumps({"total": first, "linalg_after_kernel": linalg_after_kernel, "have_blas": am._HAVE_BLAS,
                  "dot": dot(x, x), "cov": float(cov(x)), "linalg_after_dot": "scipy.linalg" in sys.modules}))
"""


def test_kernel_loads_without_scipy_linalg_and_user_numba_keeps_blas(tmp_path) -> None:
    script = tmp_path / "child.py"  # a file: numba caches a kernel beside its module
    script.write_text(CHILD)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True,
                         env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")})
    got = json.loads(out.stdout)
    assert got["total"] == 45.0
    assert got["linalg_after_kernel"] is False  # the probe's import of scipy.linalg was skipped
    assert got["have_blas"] is True  # ... and its answer set as numba would have set it
    assert got["dot"] == float(sum(v * v for v in range(10)))
    assert got["cov"] == np.cov(np.arange(10.0)).item()
    assert got["linalg_after_dot"] is True  # a user's np.dot still goes through BLAS
