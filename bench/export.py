"""Benchmark: notebook → pipeline export, and the overhead of ``--check``.

    python bench/export.py            # full: 200-cell notebook, 5 repeats; --check on a 3-stage pipeline, 3 repeats
    python bench/export.py --quick    # CI smoke: fewer repeats, a 1-stage pipeline

Targets: export of a 200-cell notebook <= 1 s in-process (issue 5) and <= 0.5 s as a command
(issue 16); ``--check`` overhead beyond the pipeline's own run <= 3 s. Anchors, in the same run:

- nbconvert's script export of the same notebook (the usual notebook → script tool, which does no
  analysis at all), timed the same way as mlnb each time: ``jupyter nbconvert --to script`` beside
  ``mlnb export`` as commands (fresh processes), and ``nbconvert.ScriptExporter`` beside
  ``mlnb.export.export`` in-process; repetitions alternate (ours, theirs, ours, ...) and the
  medians are compared;
- ``dvc repro --force`` of the exported pipeline alone, in place: the pipeline's own run time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _fair import alternated  # noqa: E402
from tests.export.shapes import write_notebook  # noqa: E402


def big_notebook(n_cells: int = 200, stages: int = 10) -> list:
    """Setup (imports, helpers), a parameters cell, then ``stages`` stages sharing the other cells."""
    cells: list = [
        "import json\nimport math\nimport numpy as np\nimport pandas as pd",
        ("rate = 0.5\nsize = 100\nlabel = 'bench'", ["parameters"]),
        "def scale(v, k=2):\n    return [x * k for x in v]\n\nclass Box:\n    def __init__(self, v):\n        self.v = v",
    ]
    per_stage = (n_cells - len(cells)) // stages
    for s in range(stages):
        body = [f"%%mlops stage s{s}\nframe{s} = pd.DataFrame({{'a': np.arange(size) * rate}})"]
        for i in range(1, per_stage):
            prev = f"frame{s - 1}" if (i == 1 and s) else f"frame{s}"
            body.append(
                f"v{s}_{i} = [math.sqrt(abs(x)) for x in {prev}['a'].head(5)]\n"
                f"frame{s}['c{i}'] = scale(list({prev}['a']), k={i})[: len(frame{s})]\n"
                f"if v{s}_{i}:\n    note{s}_{i} = json.dumps({{'n': len(v{s}_{i}), 'l': label}})\n"
                f"box{s}_{i} = Box(v{s}_{i})"
            )
        body[-1] += f"\nframe{s}.to_csv('out_{s}.csv', index=False)"
        cells += body
    while len(cells) < n_cells:
        cells.append(f"pad{len(cells)} = {len(cells)}")
    return cells


def command(*args: str) -> Callable[[], object]:
    return lambda: subprocess.run(args, check=True, capture_output=True)


def time_exports(nb: Path, work: Path, repeats: int) -> dict[str, float]:
    """mlnb's export and nbconvert's script export, in-process and as commands."""
    from nbconvert import ScriptExporter

    from mlnb.export import export

    exporter = ScriptExporter()
    in_process = {"mlnb": lambda: export(nb, work / "pipeline"),
                  "nbconvert": lambda: exporter.from_filename(str(nb))}
    for fn in in_process.values():  # the first call of each imports its libraries
        fn()
    commands = {
        "mlnb": command(sys.executable, "-m", "mlnb", "export", str(nb), "--out", str(work / "pipeline-cmd")),
        "nbconvert": command(sys.executable, "-m", "nbconvert", "--to", "script", "--log-level", "ERROR",
                             "--output-dir", str(work / "nbconvert"), str(nb)),
    }
    inproc = alternated(in_process, repeats)
    cmds = alternated(commands, repeats)
    return {"in-process": inproc["mlnb"], "in-process anchor": inproc["nbconvert"],
            "command": cmds["mlnb"], "command anchor": cmds["nbconvert"]}


CHECK_NOTEBOOK = [
    "%load_ext mlnb\nimport mlnb\nimport numpy as np\nimport pandas as pd\nfrom sklearn.linear_model import Ridge",
    ("alpha = 0.5", ["parameters"]),
    "%%mlops stage prepare\nrng = np.random.default_rng(0)\ndf = pd.DataFrame({'x': rng.normal(size=200)})\n"
    "df['y'] = 3 * df.x + rng.normal(size=200)",
    "%%mlops stage train\nmodel = Ridge(alpha=alpha)\nmodel.fit(df[['x']], df.y)\n"
    "mlnb.log_metric('coef', float(model.coef_[0]))",
    "%%mlops stage evaluate\nmlnb.log_metric('r2', float(model.score(df[['x']], df.y)))",
]


def check_overhead(work: Path, repeats: int, cells: list) -> tuple[float, float, float]:
    """(dvc repro alone, check total, check's own repro) in seconds, medians."""
    import mlnb
    from mlnb._project import current_project
    from tests.export.shapes import dvc

    root = work / "proj"
    root.mkdir()
    os.chdir(root)
    mlnb.init()
    nb = write_notebook(root / "analysis.ipynb", cells)
    mlnb.export.export(nb, "pipeline")
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, capture_output=True)
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "bench"], cwd=root,
                   check=True, capture_output=True)
    alone, totals, inner = [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = dvc(root, "repro", "--force", "--no-run-cache", "pipeline/dvc.yaml")
        alone.append(time.perf_counter() - t0)
        if proc.returncode:
            raise SystemExit(proc.stderr)
        result = mlnb.export.export(nb, "pipeline", check=True)
        totals.append(result.total_seconds)
        inner.append(result.repro_seconds)
    current_project().close()
    return statistics.median(alone), statistics.median(totals), statistics.median(inner)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats and a 1-stage pipeline (CI smoke run)")
    args = parser.parse_args()
    repeats = 1 if args.quick else 5
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT), os.environ.get("PYTHONPATH")] if p)
    with tempfile.TemporaryDirectory(prefix="mlnb-bench-export-") as tmp:
        work = Path(tmp)
        nb = write_notebook(work / "big.ipynb", big_notebook(), markdown_every=10)
        t = time_exports(nb, work, max(repeats, 3))
        print(f"export of a 200-cell notebook (10 stages), medians of {max(repeats, 3)} alternated repetitions")
        for mode, target in (("in-process", 1.0), ("command", 0.5)):
            ours, anchor = t[mode], t[f"{mode} anchor"]
            print(f"  {mode:<11} mlnb {ours:.3f} s (target <= {target} s: {'OK' if ours <= target else 'OVER'}); "
                  f"nbconvert --to script {anchor:.3f} s -> ratio {ours / anchor:.2f}x")
        cells = CHECK_NOTEBOOK[:3] if args.quick else CHECK_NOTEBOOK
        alone, total, inner = check_overhead(work, 1 if args.quick else 3, cells)
        overhead = total - alone
        print(f"--check, {len(cells) - 2}-stage pipeline: {total:.2f} s; anchor `dvc repro` alone: {alone:.2f} s "
              f"-> overhead {overhead:.2f} s (target <= 3 s) {'OK' if overhead <= 3 else 'OVER'}; "
              f"ratio {total / alone:.2f}x")
        print(f"  (dvc repro inside the check's clean copy: {inner:.2f} s; copy + git + checkout + compare: "
              f"{total - inner:.2f} s)")


if __name__ == "__main__":
    main()
