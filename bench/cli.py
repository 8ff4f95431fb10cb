"""CLI start-up: each command CI and pre-commit hooks run, as a command in a fresh process,
alternated with its anchor as a command too (`dvc add` / `dvc status` of the same project,
`jupyter nbconvert --to script` for export). Medians of the same number of repetitions for both
sides, printed against the 0.3 s target (0.5 s for export of 200 cells).

    python bench/cli.py            # 9 repetitions each
    python bench/cli.py --quick    # 5 repetitions (CI smoke)

Child processes get PYTHONDONTWRITEBYTECODE unset and one warm-up run, so both sides import
from compiled bytecode as an installed package does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPATH"] = str(ROOT)


def notebook(path: Path, cells: int) -> None:
    body = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
             "source": f"x{i} = {i} * 2\nprint(x{i})"} for i in range(cells)]
    path.write_text(json.dumps({"cells": body, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5 repetitions each (CI smoke)")
    ap.add_argument("--reps", type=int, default=None)
    args = ap.parse_args()
    reps = args.reps or (5 if args.quick else 9)
    mlnb = [sys.executable, "-m", "mlnb"]
    with tempfile.TemporaryDirectory() as tmp:
        proj = Path(tmp)
        subprocess.run([*mlnb, "init", "."], cwd=proj, env=ENV, check=True, capture_output=True)
        (proj / "small.csv").write_text("a,b\n" + "".join(f"{i},{i * 0.5}\n" for i in range(1000)))
        (proj / "other.csv").write_text((proj / "small.csv").read_text())
        subprocess.run([*mlnb, "data", "add", "small.csv"], cwd=proj, env=ENV, check=True, capture_output=True)
        subprocess.run([str(BIN / "dvc"), "add", "-q", "other.csv"], cwd=proj, env=ENV, check=True, capture_output=True)
        subprocess.run([*mlnb, "schema", "infer", "small.csv", "-o", "schema.yaml"], cwd=proj, env=ENV,
                       check=True, capture_output=True)
        notebook(proj / "nb.ipynb", 200)
        cases = [
            ("data add (unchanged)", [*mlnb, "data", "add", "small.csv"], [str(BIN / "dvc"), "add", "-q", "other.csv"], 0.3),
            ("data list", [*mlnb, "data", "list"], None, 0.3),
            ("data status", [*mlnb, "data", "status"], [str(BIN / "dvc"), "status", "-q"], 0.3),
            ("runs list", [*mlnb, "runs", "list"], None, 0.3),
            ("validate (1000 rows csv)", [*mlnb, "validate", "small.csv", "--schema", "schema.yaml"], None, 0.3),
            ("export (200 cells)", [*mlnb, "export", "nb.ipynb", "--out", "pipe"],
             [str(BIN / "jupyter"), "nbconvert", "--to", "script", "nb.ipynb", "--output", "nbscript"], 0.5),
        ]
        print(f"{'command':<26} {'mlnb s':>8} {'anchor s':>9} {'target':>7}  verdict   (medians of {reps}, fresh processes)")
        for label, cmd, anchor, target in cases:
            timed(cmd, proj)  # warm-up: bytecode written, page cache warm
            if anchor:
                timed(anchor, proj)
            ours, theirs = [], []
            for _ in range(reps):
                ours.append(timed(cmd, proj))
                if anchor:
                    theirs.append(timed(anchor, proj))
            m = statistics.median(ours)
            a = f"{statistics.median(theirs):9.3f}" if theirs else f"{'-':>9}"
            verdict = "ok" if m <= target else "OVER"
            print(f"{label:<26} {m:8.3f} {a} {target:7.1f}  {verdict}")
        # floors: the interpreter alone, with pandas (which imports numpy and pyarrow), and with
        # pyarrow's CSV reader alone: `validate` of a file that passes reads it with pyarrow, not
        # pandas (mlnb/checks/_validate_fast.py), so the third is its floor; a failing file pays
        # the second
        for label, code in (("(python -c pass)", "pass"), ("(python: import pandas)", "import pandas"),
                            ("(python: import pyarrow.csv)", "import pyarrow.csv")):
            floor = [timed([sys.executable, "-c", code], proj) for _ in range(reps)]
            print(f"{label:<26} {statistics.median(floor):8.3f}")


if __name__ == "__main__":
    main()
