"""``mlnb demo``: a small project with data versions and runs, opened in JupyterLab.

The main job of the README: one command shows the side panel populated, and running the example
notebooks there adds more. ``--no-lab`` stops after seeding (a headless demo).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from ._display import Record

DEFAULT_DIR = Path.home() / "mlnb-demo"

#: Written in ``.mlnb/`` of a demo project: ``{"state": "seeding" | "complete"}``. It is how a
#: second ``mlnb demo`` tells its own project (reopened as it is) from a user's (refused).
MARKER = "demo.json"

#: ``mlnb demo PATH`` makes the project in PATH/project and its DVC remote in PATH/remote: the
#: layout of the example notebooks' own throw-away folders, so the ``../remote`` they name in
#: ``%mlops init --remote ../remote`` is the demo's remote when they run in the demo project
PROJECT = "project"
REMOTE = "remote"


def seed(path: str | os.PathLike[str] | None = None) -> Record:
    """Create the demo in ``path`` (default ``~/mlnb-demo``): the project in ``path/project``, its
    DVC remote in ``path/remote``; or find the one made there before (also one an earlier mlnb
    made with the project in ``path`` itself).

    Only a new or empty folder becomes a demo project. A demo project made earlier is left as
    it is (the user may have worked in it) and reported again; one whose seeding was
    interrupted is completed without duplicating what was already made. Any other folder that
    is not empty, or that is or lies inside an mlnb project, is refused with :class:`UsageError`
    before anything is written: the demo would put its own ``customers`` dataset, runs and
    notebooks among the user's files.
    """
    folder = Path(path or DEFAULT_DIR).expanduser().resolve()
    if (folder / ".mlnb" / MARKER).is_file():  # a demo an earlier mlnb made, the project in the folder itself
        return _summary(folder, reopened=True)
    state = _state(folder)
    if state != "complete":
        _make(folder)
    return _summary(folder / PROJECT, reopened=state == "complete")


def in_demo_project(path: str | os.PathLike[str] | None = None) -> bool:
    """Whether ``path`` (default: the working directory) is in a project ``mlnb demo`` made.

    The example notebooks ask: in the demo project they work in it, so what they record fills its
    side panel; anywhere else they work in a throw-away folder and never touch your repository.

    >>> mlnb.in_demo_project()  # doctest: +SKIP
    False
    """
    here = Path(path or os.getcwd()).resolve()
    root = next((f for f in (here, *here.parents) if (f / ".mlnb").is_dir()), None)
    return root is not None and (root / ".mlnb" / MARKER).is_file()


def _state(root: Path) -> str:
    """``new``, ``seeding`` or ``complete``; raises :class:`UsageError` for a folder that is not the demo's."""
    from .errors import UsageError

    marker = root / PROJECT / ".mlnb" / MARKER
    if marker.is_file():
        try:
            return str(json.loads(marker.read_text()).get("state", "seeding"))
        except (ValueError, AttributeError):
            return "seeding"
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} is a file: give a new or empty folder for the demo (default ~/mlnb-demo)")
    enclosing = next((f for f in (root, *root.parents) if (f / ".mlnb").is_dir()), None)
    if enclosing is not None:
        where = "is" if enclosing == root else f"is inside the mlnb project at {enclosing}, which is"
        raise UsageError(f"{root} {where} not a demo project: the demo would add its own dataset, runs and notebooks "
                         "to it; give a new or empty folder (e.g. `mlnb demo ~/mlnb-demo`), or open this project "
                         "with `jupyter lab`")
    if root.is_dir() and any(root.iterdir()):
        raise UsageError(f"{root} is not empty: the demo makes a project of its own there; "
                         f"give a new or empty folder (e.g. `mlnb demo {root}-demo`)")
    return "new"


def _make(folder: Path) -> None:
    """Seed (or finish seeding) the demo project in ``folder``/project, its DVC remote in
    ``folder``/remote; each step is skipped when already done."""
    import numpy as np
    import pandas as pd

    import mlnb

    notebooks = example_notebooks()  # before anything is written: a broken install changes nothing
    _check_trainer()
    root = folder / PROJECT
    (root / ".mlnb").mkdir(parents=True, exist_ok=True)
    _mark(root, "seeding")  # first: a demo killed from here on is the demo's own, finished next time
    os.chdir(root)
    mlnb.init(remote=str(folder / REMOTE))
    rng = np.random.default_rng(7)
    n = 2_000
    frame = pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "tenure_months": rng.integers(0, 60, n),
        "monthly_spend": rng.lognormal(3.3, 0.4, n).round(2),
        "plan": rng.choice(["basic", "pro", "team"], n),
    })
    frame["churned"] = (rng.random(n) < 0.1 + 0.2 * (frame["tenure_months"] < 6)).astype(int)
    mlnb.data.save(frame, "customers", message="raw export")  # identical content: the same version
    mlnb.data.save(frame[frame["age"] < 75].reset_index(drop=True), "customers", message="drop the over-75s")
    _train(root)
    for nb in notebooks:
        if not (root / nb.name).exists():
            shutil.copyfile(nb, root / nb.name)
    _mark(root, "complete")


def _train(root: Path) -> None:
    """The demo's runs, made by its own ``train.py`` (copied into the project and run from there),
    so each run records that script as its code, a real training time and a loss curve. Runs
    finished by an interrupted demo are not made again."""
    import runpy

    import mlnb

    script = root / "train.py"
    if not script.exists():
        shutil.copyfile(Path(__file__).with_name("_demo_train.py"), script)
    trainer = runpy.run_path(str(script), run_name="mlnb_demo_train")
    done = {r["name"] for r in mlnb.runs.list(limit=1000).to_dict() if r["status"] == "finished"}
    for depth in trainer["DEPTHS"]:
        if f"tree-depth-{depth}" not in done:
            trainer["train"](depth)
    best = mlnb.runs.list(sort="-metrics.auc", limit=1).ids
    if best and not mlnb.runs.get(best[0]).note:
        mlnb.runs.note(best[0], "best validation AUC of the three depths")


def _check_trainer() -> None:
    """The demo's runs train scikit-learn models: without it, refuse before anything is written."""
    import importlib.util

    if importlib.util.find_spec("sklearn") is None:
        from .errors import UsageError

        raise UsageError('the demo trains scikit-learn models, which are not installed: pip install "mlnb[lab]"')


def _mark(root: Path, state: str) -> None:
    (root / ".mlnb" / MARKER).write_text(json.dumps({"state": state}) + "\n")


def _summary(root: Path, reopened: bool) -> Record:
    import mlnb

    os.chdir(root)
    title = "mlnb demo project (made earlier, reopened as it is)" if reopened else "mlnb demo project"
    return Record({"project": str(root), "datasets": len(mlnb.data.list()), "runs": len(mlnb.runs.list(limit=1000))},
                  title=title)


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
