"""Trial: do notebooks written by other people export and reproduce as they are?

    python bench/export_trial.py /work/trial/notebooks   # every *.ipynb there, both modes
    python bench/export_trial.py DIR --mode plain        # only as written (no edits)
    python bench/export_trial.py DIR --no-check          # skip `mlnb export --check` (faster)
    python bench/export_trial.py --quick                 # CI smoke: one tiny generated notebook of our own

For each notebook, in a fresh mlnb project (``mlnb init`` with a local-folder DVC remote):

1. **run**: the notebook runs in a real kernel (nbclient), in the project root, with the kernel told
   its notebook path as Jupyter server does (``JPY_SESSION_NAME``); its outputs are saved;
2. **export**: ``mlnb export NOTEBOOK --out pipeline``;
3. **commit**: ``git add -A && git commit`` (what a user does next);
4. **repro**: ``dvc repro pipeline/dvc.yaml`` (the real DVC CLI, this Python's folder first on PATH,
   as with an activated virtual environment);
5. **check** (reported, not scored): ``mlnb export NOTEBOOK --out pipeline --check``.

A notebook passes when steps 1-4 succeed. Two modes:

- ``plain``: the notebook as it is;
- ``markers``: natural stage markers added the way docs/export.md says: a first cell
  ``%load_ext mlnb`` and ``%%mlops stage NAME`` on the cells named in ``<notebook stem>.markers.json``
  beside the notebook: ``{"3": "load", "7": "train"}``, keys are 0-based indices among the
  notebook's *code* cells, values what follows ``%%mlops stage`` (a name, and options if any).
  A notebook without that file is skipped in this mode.

Prints one row per notebook and mode (each step ok/FAIL, the first error line) and the scores.
Exit status: with ``--quick``, 1 if the smoke notebook fails a step; otherwise 0 (a measurement).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("run", "export", "commit", "repro")
NOTEBOOK_NAME = "notebook.ipynb"


@dataclass
class Outcome:
    """One notebook in one mode: which steps passed, and the first error line of the first failure."""

    notebook: str
    mode: str
    steps: dict[str, bool] = field(default_factory=dict)
    check: str = "-"
    error: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(self.steps.get(s) for s in STEPS)


def child_env(home: Path) -> dict[str, str]:
    """This checkout's mlnb, this Python's tools first on PATH, a private HOME and git identity."""
    env = {k: v for k, v in os.environ.items() if k != "MLNB_REGISTRY_URL"}
    env.update({
        "PYTHONPATH": os.pathsep.join(p for p in [str(ROOT), os.environ.get("PYTHONPATH")] if p),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home), "MPLBACKEND": "Agg",
        "GIT_AUTHOR_NAME": "trial", "GIT_AUTHOR_EMAIL": "trial@example.invalid",
        "GIT_COMMITTER_NAME": "trial", "GIT_COMMITTER_EMAIL": "trial@example.invalid",
    })
    return env


def first_error(text: str) -> str:
    """The line that says what went wrong: an exception's last line, mlnb's one line, or DVC's ERROR."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    patterns = (r"^mlnb: error:", r"^[\w.]*(Error|Exception|Exit)\b.*", r"^ERROR:")
    for pattern in patterns:
        found = [line for line in lines if re.match(pattern, line)]
        if found:
            return found[-1][:200] if pattern != r"^ERROR:" else found[0][:200]
    return (lines[-1] if lines else "(no output)")[:200]


def add_markers(nb_path: Path, markers: dict[str, str]) -> None:
    """Put ``%%mlops stage NAME`` on the given code cells and ``%load_ext mlnb`` in a new first cell."""
    import nbformat

    nb = nbformat.read(str(nb_path), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for index, stage in markers.items():
        cell = code[int(index)]
        cell.source = f"%%mlops stage {stage}\n{cell.source}"
    nb.cells.insert(0, nbformat.v4.new_code_cell("%load_ext mlnb"))
    nbformat.write(nb, str(nb_path))


def run_notebook(nb_path: Path, env: dict[str, str]) -> str:
    """Execute in a real kernel in the notebook's folder; '' when every cell ran, else the error."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    nb = nbformat.read(str(nb_path), as_version=4)
    kernel_env = {**env, "JPY_SESSION_NAME": str(nb_path.resolve())}
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(nb_path.parent)}})
    saved = dict(os.environ)
    os.environ.update(kernel_env)  # the kernel inherits this process's environment
    try:
        client.execute()
    except CellExecutionError as exc:
        return f"{exc.ename}: {first_error(str(exc.evalue)) if exc.evalue else ''}"[:200]
    except CellTimeoutError:
        return "a cell ran longer than 600 s"
    finally:
        os.environ.clear()
        os.environ.update(saved)
        nbformat.write(nb, str(nb_path))
    return ""


def step(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[bool, str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    return proc.returncode == 0, first_error(proc.stderr + "\n" + proc.stdout) if proc.returncode else proc.stdout


def check_summary(code: int, out: str) -> str:
    """The check's verdict in a few words: its exit code and its last meaningful line."""
    last = first_error(out) if code not in (0, 1) else (out.strip().splitlines() or ["(no output)"])[-1]
    return f"exit {code}: {last.strip()[:120]}"


def trial(nb_src: Path, mode: str, markers: dict[str, str] | None, work: Path, with_check: bool) -> Outcome:
    """Steps 1-4 (and 5) for one notebook in one mode, in a fresh project under ``work``."""
    outcome = Outcome(nb_src.name, mode)
    started = time.perf_counter()
    root, home = work / "proj", work / "home"
    root.mkdir(parents=True)
    home.mkdir()
    env = child_env(home)
    mlnb = [sys.executable, "-m", "mlnb"]
    ok, msg = step([*mlnb, "init", "--remote", str(work / "remote")], root, env)
    if not ok:
        outcome.error = f"init: {msg}"
        return outcome
    nb_path = root / NOTEBOOK_NAME
    shutil.copyfile(nb_src, nb_path)
    if markers is not None:
        add_markers(nb_path, markers)
    error = run_notebook(nb_path, env)
    outcome.steps["run"] = not error
    error = error and f"run: {error}"
    commands = {
        "export": [*mlnb, "export", NOTEBOOK_NAME, "--out", "pipeline"],
        "commit": ["sh", "-c", "git add -A && git commit -qm 'notebook and its pipeline'"],
        "repro": ["dvc", "repro", "pipeline/dvc.yaml"],
    }
    for name, cmd in commands.items():
        if error:
            break
        ok, msg = step(cmd, root, env)
        outcome.steps[name] = ok
        error = "" if ok else f"{name}: {msg}"
    outcome.error = error
    if outcome.passed and with_check:
        proc = subprocess.run([*mlnb, "export", NOTEBOOK_NAME, "--out", "pipeline", "--check"],
                              cwd=root, env=env, capture_output=True, text=True)
        outcome.check = check_summary(proc.returncode, proc.stdout + proc.stderr)
    outcome.seconds = time.perf_counter() - started
    return outcome


def markers_for(nb: Path) -> dict[str, str] | None:
    path = nb.with_name(f"{nb.stem}.markers.json")
    return json.loads(path.read_text()) if path.exists() else None


def print_table(outcomes: list[Outcome]) -> None:
    print(f"{'notebook':34} {'mode':8} " + " ".join(f"{s:6}" for s in STEPS) + "  time  first error / check")
    for o in outcomes:
        cells = " ".join(f"{('ok' if o.steps[s] else 'FAIL') if s in o.steps else '-':6}" for s in STEPS)
        note = o.error or f"check {o.check}"
        print(f"{o.notebook[:34]:34} {o.mode:8} {cells} {o.seconds:5.0f}s {note}")
    for mode in dict.fromkeys(o.mode for o in outcomes):
        rows = [o for o in outcomes if o.mode == mode]
        print(f"score {mode}: {sum(o.passed for o in rows)}/{len(rows)}")


def tiny_notebook(folder: Path) -> Path:
    """Our own three-stage notebook (data, fit, score) for the CI smoke run, with its markers file."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell(src) for src in (
        "import numpy as np\nfrom sklearn.linear_model import LogisticRegression",
        "rng = np.random.default_rng(0)\nX = rng.normal(size=(60, 3))\ny = (X[:, 0] + X[:, 1] > 0).astype(int)",
        "model = LogisticRegression()\nmodel.fit(X, y)",
        "print(round(model.score(X, y), 3))",
    )])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "tiny.ipynb"
    nbformat.write(nb, str(path))
    path.with_name("tiny.markers.json").write_text(json.dumps({"1": "load", "2": "train", "3": "evaluate"}))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", help="folder of .ipynb notebooks (with optional *.markers.json)")
    parser.add_argument("--mode", choices=("plain", "markers", "both"), default="both")
    parser.add_argument("--no-check", action="store_true", help="skip `mlnb export --check`")
    parser.add_argument("--only", action="append", default=[], help="run only notebooks whose name contains this")
    parser.add_argument("--json", help="also write the outcomes to this file")
    parser.add_argument("--keep", help="keep each trial's project under this folder (for inspection)")
    parser.add_argument("--quick", action="store_true", help="CI smoke: one tiny generated notebook, both modes")
    args = parser.parse_args()
    if not args.quick and not args.folder:
        parser.error("give a folder of notebooks, or --quick")
    modes = ("plain", "markers") if args.mode == "both" else (args.mode,)
    with tempfile.TemporaryDirectory(prefix="mlnb-export-trial-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        if args.quick:
            notebooks = [tiny_notebook(Path(tmp))]
        else:
            notebooks = sorted(p for p in Path(args.folder).glob("*.ipynb")
                               if not args.only or any(s in p.name for s in args.only))
        outcomes = []
        for nb in notebooks:
            for mode in modes:
                markers = markers_for(nb) if mode == "markers" else None
                if mode == "markers" and markers is None:
                    continue
                place = work / f"{nb.stem}-{mode}"
                shutil.rmtree(place, ignore_errors=True)
                outcomes.append(trial(nb, mode, markers, place, with_check=not args.no_check))
                last = outcomes[-1]
                print(f"{nb.name} ({mode}): {'pass' if last.passed else 'FAIL'} {last.error}", flush=True)
        print()
        print_table(outcomes)
        if args.json:
            Path(args.json).write_text(json.dumps([{**asdict(o), "passed": o.passed} for o in outcomes], indent=1))
    return 1 if args.quick and not all(o.passed for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
