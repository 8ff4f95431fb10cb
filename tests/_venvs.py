"""Venvs for the tools mlnb talks to (MLflow, W&B, BentoML), built once and cached.

They live in MLNB_TEST_VENVS (default ~/.cache/mlnb-test-venvs), one per set of pins, so a new
pin builds a new venv and the old one stays usable by older branches.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: read at import, before the test fixtures point HOME at an empty folder
VENVS = Path(os.environ.get("MLNB_TEST_VENVS", Path.home() / ".cache" / "mlnb-test-venvs"))


def venv_python(name: str, pins: list[str]) -> Path:
    """The python of a venv holding ``pins``, made once (other builders wait on a lock and reuse it);
    the test is skipped when pip cannot install them."""
    root = VENVS
    venv = root / (f"{name}-" + hashlib.sha256(" ".join(pins).encode()).hexdigest()[:12])
    python = venv / "bin" / "python"
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / "ready").exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
            pip = subprocess.run([str(python), "-m", "pip", "install", "-q", *pins], capture_output=True, text=True)
            if pip.returncode:
                pytest.skip(f"pip could not install {name} into a test venv: {pip.stderr.strip()[-300:]}")
            (venv / "ready").touch()
    return python


def mlflow_python() -> Path:
    """MLflow (the bench's pinned version) with this process's scikit-learn, so a pickle loads on both sides."""
    import sklearn

    return venv_python("mlflow", ["mlflow==3.17.2", "mlflow-skinny==3.17.2", f"scikit-learn=={sklearn.__version__}"])


def wandb_python() -> Path:
    """The W&B client, for writing offline run folders."""
    return venv_python("wandb", ["wandb"])
