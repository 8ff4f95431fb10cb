"""Data versioning benchmarks, each against its anchor measured in the same run.

    python bench/data.py            # full: a 1 GB file re-added, 1,000 versions
    python bench/data.py --quick    # CI smoke run: 64 MB, 100 versions

| what                                                   | anchor                    | target          |
|--------------------------------------------------------|---------------------------|-----------------|
| re-add of an unchanged file, as commands               | `dvc add` command         | <= 0.3 s        |
| re-add of an unchanged file, in-process                | DVC's `Repo.add`          | <= 0.1 s        |
| `import mlnb` + `%load_ext mlnb`, fresh proc           | `import altair` alone     | <= 0.3 s        |
| `data list` / `data log` with 1,000 versions           | -                         | <= 50 ms        |

The first add of a large file is bench/add.py (commands: mlnb, `dvc add`, `md5sum` + `cp`).
Each pair of sides is measured the same way (docs/benchmarks.md): command beside command, or
in-process beside in-process, alternated, medians.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DVC = str(Path(sys.executable).with_name("dvc"))
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
sys.path.insert(0, str(ROOT / "bench"))
from _fair import alternated  # noqa: E402


def timed(fn, repeat: int = 1) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def sh(*args: str, cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, env=ENV)


def write_random(path: Path, size: int) -> None:
    step = 16 * 1024**2
    with open(path, "wb") as f:
        for done in range(0, size, step):
            f.write(os.urandom(min(step, size - done)))


def fresh_repo(base: Path, name: str) -> Path:
    root = base / name
    root.mkdir()
    sh("git", "init", "-q", cwd=root)
    sh(DVC, "init", "-q", cwd=root)
    return root


def row(what: str, ours: float, anchor: float | None, target: str) -> None:
    ratio = f"{ours / anchor:6.2f}x" if anchor else "   -   "
    anchor_s = f"{anchor:8.3f} s" if anchor is not None else "      -   "
    print(f"{what:<52} {ours:8.3f} s  {anchor_s}  {ratio}  target {target}")


def bench_readd(base: Path, size: int) -> None:
    """Re-adding an unchanged file, against DVC in the same mode: commands (fresh processes), then
    in-process (a session that already has the project open), alternated, medians of 5."""
    cli_root = fresh_repo(base, "cli")
    write_random(cli_root / "big.bin", size)
    sh(DVC, "add", "-q", "big.bin", cwd=cli_root)
    ours_root = base / "ours"
    ours_root.mkdir()
    sh(sys.executable, "-m", "mlnb", "init", cwd=ours_root)
    shutil.copyfile(cli_root / "big.bin", ours_root / "big.bin")
    sh(sys.executable, "-m", "mlnb", "data", "add", "big.bin", "--name", "big", cwd=ours_root)
    label = f"{size / 1024**3:.2f} GB" if size >= 1024**3 else f"{size / 1024**2:.0f} MB"

    commands = alternated({
        "mlnb": lambda: sh(sys.executable, "-m", "mlnb", "data", "add", "big.bin", "--name", "big", cwd=ours_root),
        "dvc": lambda: sh(DVC, "add", "-q", "big.bin", cwd=cli_root),
    }, 5)
    row(f"re-add of unchanged {label} file, commands (vs dvc add)", commands["mlnb"], commands["dvc"], "<= 0.3 s")

    from dvc.repo import Repo

    import mlnb

    os.chdir(ours_root)
    mlnb.data.list()  # open the project and registry, as a notebook session already has
    repo = Repo(str(cli_root))
    in_process = alternated({"mlnb": lambda: mlnb.data.add("big.bin", name="big"),
                             "dvc": lambda: repo.add(str(cli_root / "big.bin"))}, 5)
    repo.close()
    row(f"re-add of unchanged {label} file, in-process (vs Repo.add)", in_process["mlnb"], in_process["dvc"],
        "<= 0.1 s")


def bench_import() -> None:
    code = (
        "import time; t=time.perf_counter(); import mlnb; "
        "from IPython.core.interactiveshell import InteractiveShell; "
        "InteractiveShell.instance().run_line_magic('load_ext','mlnb'); print(time.perf_counter()-t)"
    )
    alt = "import time; t=time.perf_counter(); import altair; print(time.perf_counter()-t)"

    def measure(src: str) -> float:
        runs = [float(subprocess.run([sys.executable, "-c", src], capture_output=True, text=True, env=ENV,
                                     check=True).stdout) for _ in range(5)]
        return statistics.median(runs)

    row("import mlnb + %load_ext mlnb (vs import altair)", measure(code), measure(alt), "<= 0.3 s")


def bench_listing(base: Path, versions: int) -> None:
    """A registry holding ``versions`` versions: 10 saved for real, the rest inserted in bulk."""
    import pandas as pd
    from sqlalchemy import select

    import mlnb
    from mlnb._project import current_project
    from mlnb.store import registry
    from mlnb.store._schema import data_versions as dv

    root = base / "listing"
    root.mkdir()
    os.chdir(root)
    mlnb.init()
    for i in range(10):
        mlnb.data.save(pd.DataFrame({"x": range(i + 1)}), "train", message=f"v{i + 1}")
    reg = registry(current_project())
    with reg.write() as conn:
        template = dict(conn.execute(select(dv).where(dv.c.version == 10)).first()._mapping)
        template.pop("id")
        conn.execute(dv.insert(), [
            {**template, "version": v, "md5": f"{v:032x}", "message": f"v{v}"} for v in range(11, versions + 1)
        ])
    list_t = timed(lambda: str(mlnb.data.list()), repeat=7)
    log_t = timed(lambda: str(mlnb.data.log("train")), repeat=7)
    row(f"data list, {versions} versions (rendered)", list_t, None, "<= 0.05 s")
    row(f"data log, {versions} versions (rendered)", log_t, None, "<= 0.05 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes for a CI smoke run")
    args = parser.parse_args()
    size = 64 * 1024**2 if args.quick else 1024**3
    versions = 100 if args.quick else 1000
    print(f"{'what':<52} {'mlnb':>10}  {'anchor':>10}  {'ratio':>7}")
    with tempfile.TemporaryDirectory(prefix="mlnb-bench-") as tmp:
        base = Path(tmp)
        bench_import()
        bench_readd(base, size)
        bench_listing(base, versions)
        os.chdir(ROOT)


if __name__ == "__main__":
    main()
