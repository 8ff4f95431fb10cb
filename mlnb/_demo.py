"""``mlnb demo``: a small project with data versions and runs, opened in JupyterLab.

The main job of the README: one command shows the side panel populated, and running the example
notebooks there adds more. ``--no-lab`` stops after seeding (a headless demo).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from ._display import Record

DEFAULT_DIR = Path.home() / "mlnb-demo"


def seed(path: str | os.PathLike[str] | None = None) -> Record:
    """Create (or top up) the demo project at ``path``; safe to run twice."""
    import numpy as np
    import pandas as pd

    import mlnb

    notebooks = example_notebooks()  # before anything is written: a broken install changes nothing
    root = Path(path or DEFAULT_DIR).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    os.chdir(root)
    mlnb.init(remote=str(root.parent / f"{root.name}-remote"))
    rng = np.random.default_rng(7)
    n = 2_000
    frame = pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "tenure_months": rng.integers(0, 60, n),
        "monthly_spend": rng.lognormal(3.3, 0.4, n).round(2),
        "plan": rng.choice(["basic", "pro", "team"], n),
    })
    frame["churned"] = (rng.random(n) < 0.1 + 0.2 * (frame["tenure_months"] < 6)).astype(int)
    mlnb.data.save(frame, "customers", message="raw export")
    mlnb.data.save(frame[frame["age"] < 75].reset_index(drop=True), "customers", message="drop the over-75s")
    for depth in (2, 4, 8):
        with mlnb.start_run(f"tree-depth-{depth}", params={"max_depth": depth}, tags=["demo"]) as run:
            data = mlnb.data.load("customers")
            rate = float(data["churned"].mean())
            for step in range(5):
                run.log_metric("loss", (1 - rate) / (depth * (step + 1)), step=step)
            run.log_metric("accuracy", round(1 - rate / depth, 4))
    for nb in notebooks:
        shutil.copyfile(nb, root / nb.name)
    return Record({"project": str(root), "datasets": len(mlnb.data.list()), "runs": len(mlnb.runs.list())},
                  title="mlnb demo project")


def example_notebooks() -> list[Path]:
    """The example notebooks: shipped in the package (``mlnb/_notebooks`` in a wheel), or a
    source checkout's ``notebooks/``; an error when neither holds any."""
    here = Path(__file__).resolve().parent
    places = [here / "_notebooks", here.parent / "notebooks"]
    for place in places:
        found = sorted(place.glob("*.ipynb"))
        if found:
            return found
    from .errors import NotFound

    raise NotFound(f"the example notebooks are missing (looked in {' and '.join(map(str, places))}): "
                   "this mlnb install is incomplete; reinstall it (pip install --force-reinstall mlnb)")


def open_lab(root: str) -> None:
    """Replace this process with JupyterLab serving ``root``."""
    args = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        from .errors import UsageError

        raise UsageError('JupyterLab is not installed: pip install "mlnb[lab]" (or run `mlnb demo --no-lab`)') from None
    sys.stdout.flush()
    os.execv(sys.executable, args)
