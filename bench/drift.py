"""Benchmark: mlnb drift reports vs a plain scipy loop of the same tests vs Evidently 0.7.

    python bench/drift.py                        # 1,000,000 rows x 20 columns, every side on all of them
    python bench/drift.py --evidently-rows 100000  # Evidently on fewer rows (it is slow), mlnb timed on the same
    python bench/drift.py --quick                # CI smoke run: 20,000 rows, no Evidently
    python bench/drift.py --shape heavy          # numeric columns lognormal (sigma 2) instead

Data: reference and current frames, 15 numeric N(0,1) columns and 5 categorical columns of 8
string levels; current shifts num_0..num_2 by +0.5 sd, rescales num_3 by 1.3, shifts num_4 by a
tiny 0.01 sd (significant at 1e6 rows, but no real change) and re-weights cat_0. With
``--shape heavy`` every numeric column is then exponentiated (exp(2x): a lognormal with sigma 2,
a heavy right tail), which changes how mlnb bins them but none of the decisions.

mlnb's own targets (full report, scoring with a kept profile, notebook output) are timed
in-process, medians of ``--repeat``. The comparison with the anchors follows docs/benchmarks.md:
each side runs in a fresh child process that reads the same parquet files into pandas, warms up
on a small slice, then times one report; the sides take turns for ``--repeat`` rounds (mlnb,
scipy, Evidently, mlnb, ...) and medians are compared; memory is each child's peak RSS (and the
peak above what the loaded frames took), read from the kernel.

Anchors:
* the scipy loop: ``ks_2samp``, ``wasserstein_distance``/std, ``chi2_contingency``,
  ``jensenshannon(base=2)`` and Benjamini-Hochberg on the raw columns — mlnb's documented
  decision rule, computed the obvious way. Decisions must be identical.
* Evidently 0.7 ``DataDriftPreset`` in its own venv (bench/.venvs/evidently, ``pandas<3``, made here
  when missing). Its rule differs (no significance test above 1000 rows, JS in natural log), so
  its decisions are shown, not required to agree.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH = Path(__file__).resolve().parent
EVIDENTLY_VENV = BENCH / ".venvs" / "evidently"
WORK = BENCH / ".work"


def make_data(n: int, seed: int = 0, shape: str = "normal") -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    levels = np.array([f"level_{i}" for i in range(8)])
    p = np.array([0.3, 0.2, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05])

    def frame(current: bool) -> pd.DataFrame:
        cols = {}
        for i in range(15):
            x = rng.normal(size=n)
            if current:
                x = x + 0.5 if i < 3 else x * 1.3 if i == 3 else x + 0.01 if i == 4 else x
            cols[f"num_{i}"] = np.exp(2 * x) if shape == "heavy" else x
        for i in range(5):
            cols[f"cat_{i}"] = levels[rng.choice(8, size=n, p=p[::-1] if current and i == 0 else p)]
        return pd.DataFrame(cols)

    return frame(False), frame(True)


def scipy_loop(ref: pd.DataFrame, cur: pd.DataFrame) -> set[str]:
    """mlnb's default decision rule written as a plain loop over scipy calls."""
    import scipy.stats as st
    from scipy.spatial.distance import jensenshannon

    pvals, effects = {}, {}
    for c in ref.columns:
        a, b = ref[c].to_numpy(), cur[c].to_numpy()
        if a.dtype.kind == "f":
            pvals[c] = st.ks_2samp(a, b).pvalue
            effects[c] = st.wasserstein_distance(a, b) / np.std(a)
        else:
            ra, rb = ref[c].value_counts(), cur[c].value_counts()
            cats = ra.index.union(rb.index)
            r, k = ra.reindex(cats, fill_value=0).to_numpy(), rb.reindex(cats, fill_value=0).to_numpy()
            pvals[c] = st.chi2_contingency(np.vstack([r, k]), correction=False).pvalue
            effects[c] = jensenshannon(r / r.sum(), k / k.sum(), base=2)
    family = list(pvals.values()) + [1.0] * len(pvals)  # no missing values: missing-rate p = 1
    adj = dict(zip(pvals, st.false_discovery_control(family, method="bh")))
    return {c for c in pvals if adj[c] < 0.05 and effects[c] >= 0.1}


CPU: dict[int, float] = {}  # id(result) -> median process CPU time (all threads) of that call


def timed(fn, repeat: int) -> tuple[float, object]:
    """Median wall time; the median CPU time is kept in ``CPU`` (steadier on a shared machine)."""
    times, cpu, out = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    CPU[id(out)] = statistics.median(cpu)
    return statistics.median(times), out


def notebook_bytes(report) -> int:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display

    shell = InteractiveShell.instance()
    outputs: list = []
    shell.display_pub.publish = lambda data, metadata=None, **kw: outputs.append(data)
    try:
        display(report)
    finally:
        del shell.display_pub.publish
    return sum(len(json.dumps(o)) for o in outputs)


def ensure_evidently() -> Path:
    py = EVIDENTLY_VENV / "bin" / "python"
    if not py.exists():
        print(f"creating {EVIDENTLY_VENV} (evidently 0.7, pandas<3) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(EVIDENTLY_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "evidently>=0.7,<0.8", "pandas<3", "pyarrow"],
                       check=True)
    return py


#: The child each side runs: ``{setup}`` defines ``run(ref, cur) -> sorted drifted columns``.
CHILD = r"""
import json, sys, time
from pathlib import Path
import pandas as pd
{setup}
def status_kb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
ref, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
run(ref.head(2000), cur.head(2000))  # warm-up: imports and first-call costs out of the timing
Path("/proc/self/clear_refs").write_text("5")  # the peak from here on, above the loaded frames
loaded = status_kb("VmRSS")
t = time.perf_counter()
drifted = run(ref, cur)
took = time.perf_counter() - t
print(json.dumps({{"seconds": took, "drifted": drifted, "extra_rss": status_kb("VmHWM") - loaded,
                  "loaded_rss": loaded, "version": VERSION}}))
"""

MLNB_SETUP = """
import mlnb
VERSION = "mlnb"
def run(ref, cur):
    return sorted(mlnb.checks.drift(ref, cur).drifted)
"""

SCIPY_SETUP = """
sys.path.insert(0, {bench!r})
from drift import scipy_loop
import scipy
VERSION = "scipy " + scipy.__version__
def run(ref, cur):
    return sorted(scipy_loop(ref, cur))
"""

EVIDENTLY_SETUP = """
import evidently
from evidently import Report
from evidently.presets import DataDriftPreset
VERSION = "Evidently " + evidently.__version__
def run(ref, cur):
    snap = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
    drifted = []
    for m in snap.dict()["metrics"]:
        cfg = m.get("config", {})
        if cfg.get("type", "").endswith("ValueDrift"):
            method, thr, value = cfg.get("method", ""), cfg.get("threshold"), m.get("value")
            is_distance = "p_value" not in method.lower() and "test" not in method.lower()
            if (value >= thr) if is_distance else (value < thr):
                drifted.append(cfg["column"])
    return sorted(drifted)
"""




def child(python: Path, setup: str, files: tuple[Path, Path]) -> dict:
    """One timed report in a fresh process (see CHILD); its result, or an error message."""
    script = WORK / f"child_{abs(hash(setup))}.py"
    script.write_text(CHILD.format(setup=setup))
    env = {**os.environ, "PYTHONPATH": str(ROOT)} if python == Path(sys.executable) else \
        {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([str(python), str(script), *map(str, files)], capture_output=True, text=True, env=env)
    if proc.returncode:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare_sides(sides: dict[str, tuple[Path, str, tuple[Path, Path]]], repeat: int) -> dict[str, dict]:
    """Each side's median seconds, peak extra RSS and decisions over ``repeat`` alternated rounds."""
    runs: dict[str, list[dict]] = {name: [] for name in sides}
    for _ in range(repeat):
        for name, (python, setup, files) in sides.items():
            runs[name].append(child(python, setup, files))
    out = {}
    for name, results in runs.items():
        good = [r for r in results if "error" not in r]
        if not good:
            out[name] = results[0]
            continue
        out[name] = {"seconds": statistics.median(r["seconds"] for r in good),
                     "extra_rss": max(r["extra_rss"] for r in good), "loaded_rss": good[0]["loaded_rss"],
                     "drifted": good[0]["drifted"], "version": good[0]["version"], "runs": len(good)}
    return out


def write_inputs(ref: pd.DataFrame, cur: pd.DataFrame, rows: int) -> tuple[Path, Path]:
    WORK.mkdir(parents=True, exist_ok=True)
    files = WORK / f"ref-{rows}.parquet", WORK / f"cur-{rows}.parquet"
    ref.head(rows).to_parquet(files[0])
    cur.head(rows).to_parquet(files[1])
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--evidently-rows", type=int, default=0, help="rows per side given to Evidently (default: --rows)")
    ap.add_argument("--skip-evidently", action="store_true")
    ap.add_argument("--skip-scipy", action="store_true")
    ap.add_argument("--shape", choices=["normal", "heavy"], default="normal",
                    help="numeric columns N(0,1), or heavy-tailed exp(2 N(0,1)) (lognormal, sigma 2)")
    ap.add_argument("--quick", action="store_true", help="20,000 rows, one repeat, no Evidently (CI smoke)")
    args = ap.parse_args()
    if args.quick:
        args.rows, args.repeat, args.skip_evidently = 20_000, 1, True

    import mlnb

    ref, cur = make_data(args.rows, shape=args.shape)
    input_bytes = int(ref.memory_usage(deep=True).sum() + cur.memory_usage(deep=True).sum())
    warm_ref, warm_cur = make_data(5_000, seed=1)
    mlnb.checks.drift(warm_ref, warm_cur).chart().to_dict()  # imports (scipy, altair) out of the timings

    full_t, report = timed(lambda: mlnb.checks.drift(ref, cur), args.repeat)
    fit_t, prof = timed(lambda: mlnb.checks.profile(ref), args.repeat)  # indexed by bin: scored many times
    score_t, scored = timed(lambda: prof.drift(cur), args.repeat)
    out_bytes = notebook_bytes(report)
    ours = set(report.drifted)
    assert ours == set(scored.drifted)

    print(f"data: {args.rows:,} rows x 20 columns per side (15 {args.shape} numeric, 5 categorical); "
          f"input frames {input_bytes / 2**20:.0f} MiB; median of {args.repeat}")
    print(f"mlnb full report (fit + score)  {full_t:8.3f} s   target <= 0.5 s   (CPU {CPU[id(report)]:.3f} s)")
    print(f"mlnb profile fit, kept (indexed){fit_t:8.3f} s                     (CPU {CPU[id(prof)]:.3f} s)")
    print(f"mlnb score with fitted profile  {score_t:8.3f} s   target <= 0.15 s  (CPU {CPU[id(scored)]:.3f} s)")
    print(f"notebook output of the report   {out_bytes / 1024:8.1f} KB   target <= 300 KB (with its static SVG)")
    print(f"mlnb drifted: {sorted(ours)}")

    full = write_inputs(ref, cur, args.rows)
    sides = {"mlnb": (Path(sys.executable), MLNB_SETUP, full)}
    if not args.skip_scipy:
        sides["scipy loop"] = (Path(sys.executable), SCIPY_SETUP.format(bench=str(BENCH)), full)
    ev_rows = min(args.evidently_rows or args.rows, args.rows)
    if not args.skip_evidently:
        small = full if ev_rows == args.rows else write_inputs(ref, cur, ev_rows)
        sides["Evidently"] = (ensure_evidently(), EVIDENTLY_SETUP, small)
        if ev_rows < args.rows:
            sides[f"mlnb on {ev_rows:,} rows"] = (Path(sys.executable), MLNB_SETUP, small)
    res = compare_sides(sides, args.repeat)
    print(f"\neach side in a fresh process reading the same parquet files; medians of {args.repeat} alternated "
          f"rounds; memory: peak RSS above the loaded frames")
    base = {True: res["mlnb"].get("seconds"), False: res.get(f"mlnb on {ev_rows:,} rows", {}).get("seconds")}
    for name, r in res.items():
        if "error" in r:
            print(f"{name:<26} failed: {r['error']}")
            continue
        rows = ev_rows if name.startswith("Evidently") or name.startswith("mlnb on") else args.rows
        mine = base[rows == args.rows]
        ratio = f"{r['seconds'] / mine:7.1f}x mlnb" if mine and not name.startswith("mlnb") else ""
        print(f"{r['version'] + ' (' + name + ')':<40} {rows:>10,} rows {r['seconds']:8.3f} s  {ratio:>12}  "
              f"peak RSS +{r['extra_rss'] / 2**20:7.0f} MiB (frames {r['loaded_rss'] / 2**20:.0f} MiB)  "
              f"drifted {r['drifted']}")
    if "scipy loop" in res and "error" not in res["scipy loop"] and set(res["scipy loop"]["drifted"]) != ours:
        print(f"DIFFERENT decisions: scipy {res['scipy loop']['drifted']} vs mlnb {sorted(ours)}")
        sys.exit(1)
    print("Evidently's rule: W1/sd >= 0.1 or JS(ln) >= 0.1, no test; mlnb's and scipy's decisions must be identical")


if __name__ == "__main__":
    main()
