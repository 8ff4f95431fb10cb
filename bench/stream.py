"""Streaming drift over parquet (the command `mlnb drift REF CUR`) vs the pyarrow read floor, each in its own process.

    python bench/stream.py                   # 10^7 rows x 20 columns, ref and cur each
    python bench/stream.py --rows 100000000  # 10^8: float32 columns (13 GB of files), 1 repetition
    python bench/stream.py --quick           # CI smoke: 200,000 rows (and the LocalCluster, if Dask is installed)
    python bench/stream.py --dask            # also a 2-worker distributed.LocalCluster

The files are generated row group by row group (10^6 rows each) in ``--tmp`` and deleted after.
Every measurement runs in a fresh child process, alternated (floor, mlnb, floor, mlnb ...):

* **wall** time, median of ``--repeat`` runs;
* **CPU** time (user + sys of the child and the processes it waited for): on a shared machine the
  load-independent figure, since wall time there depends on how many threads each side runs;
* **peak RSS of the whole process tree** (the child and its descendants, e.g. Dask's workers),
  sampled every 0.1 s with psutil, and the child's own ``ru_maxrss``; both count pyarrow's and
  numpy's allocations.

The floor is pyarrow reading both files, the same columns, without pre-buffering, with its own
threads: plainly (strings materialised), with the string columns read as dictionaries (as mlnb
reads them), and the same through a 1 MB read buffer per column chunk (as mlnb reads them; on this
machine no slower than reading whole column chunks); the smallest is the floor the ratios use. The sample check runs the exact
tests (scipy's ``ks_2samp`` and ``wasserstein_distance`` on every value) for a few columns and checks
that each streamed statistic lies within its reported error and that the decisions agree.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
N_NUM, N_CAT = 16, 4
GROUP = 1_000_000
CHECKED = ["num_0", "num_1"]  # the shifted column and an unshifted one

FLOOR = """
import sys, pyarrow.parquet as pq
dictionary = sys.argv[1] != "plain"
buffer = 1 << 20 if sys.argv[1] == "buffered" else 0
for f in sys.argv[2:]:
    names = pq.ParquetFile(f).schema_arrow.names
    pf = pq.ParquetFile(f, pre_buffer=False, buffer_size=buffer,
                        read_dictionary=[n for n in names if n.startswith("cat")] if dictionary else None)
    for b in pf.iter_batches(batch_size=262144):
        pass
"""
MLNB = """
import contextlib, io, json, sys
from mlnb.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):  # the command `mlnb drift REF CUR --json`, as a user runs it
    main(["drift", sys.argv[1], sys.argv[2], "--json"])
r = json.loads(out.getvalue())
rows = {row["column"]: row for row in r["columns"]}
print(json.dumps({"drifted": sorted(r["drifted"]), "rows": {c: {k: float(rows[c][k]) for k in
      ("statistic", "ks_error", "p_value", "score", "score_error", "threshold")} for c in sys.argv[3].split(",")}}))
"""
DASK = """
import sys, json, dask.dataframe as dd, mlnb.checks
from distributed import Client, LocalCluster
with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster):
    r = mlnb.checks.drift(dd.read_parquet(sys.argv[1]), dd.read_parquet(sys.argv[2]))
print(json.dumps({"drifted": sorted(r.drifted)}))
"""
EXACT = """
import sys, json, numpy as np, pyarrow.parquet as pq
from scipy import stats
out = {}
for c in sys.argv[3].split(","):
    a = pq.read_table(sys.argv[1], columns=[c]).column(0).to_numpy()
    b = pq.read_table(sys.argv[2], columns=[c]).column(0).to_numpy()
    ks = stats.ks_2samp(a, b)
    out[c] = {"statistic": float(ks.statistic), "p_value": float(ks.pvalue),
              "wasserstein": float(stats.wasserstein_distance(a, b) / np.std(a.astype(np.float64)))}
    del a, b
print(json.dumps(out))
"""


def write(path: Path, rows: int, seed: int, shift: float, dtype: str) -> None:
    """``rows`` rows in row groups of GROUP, generated one row group at a time: numbers normal,
    strings drawn from 4 values (dictionary-encoded in the file, read back as plain strings)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    letters = pa.array(["a", "b", "c", "d"])
    writer = None
    for start in range(0, rows, GROUP):
        n = min(GROUP, rows - start)
        cols = {f"num_{i}": rng.standard_normal(n, dtype=np.dtype(dtype)) + (shift if i == 0 else 0.0)
                for i in range(N_NUM)}
        cols.update({f"cat_{i}": letters.take(rng.integers(0, 4, n, dtype=np.int8)) for i in range(N_CAT)})
        table = pa.table(cols)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, use_dictionary=[f"cat_{i}" for i in range(N_CAT)])
        writer.write_table(table, row_group_size=GROUP)
    writer.close()


def _tree_rss(proc: object) -> int:
    """Bytes resident in ``proc`` and all its descendants now (0 once gone)."""
    import psutil

    total = 0
    try:
        for p in [proc, *proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
    except psutil.Error:
        return 0
    return total


def _queue_waits(pid: int, waits: dict[str, float]) -> None:
    """Record, per thread of ``pid``, the seconds it has spent runnable but waiting for a core
    (Linux's ``/proc/PID/task/TID/schedstat``; nothing elsewhere). Kept per thread, so a thread
    that ended after a sample still counts."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                waits[tid] = int(f.read().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            pass


def run(code: str, *args: str) -> dict[str, float | str]:
    """Wall and CPU seconds, peak RSS (MB; tree and own), stdout of a fresh Python process, and
    the seconds its threads waited for a core (the machine's other load: where they add up to
    about the wall time, the process got about one core whatever threads it runs)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, env=env)
    peak, done, waits = [0], threading.Event(), {}
    if importlib.util.find_spec("psutil"):
        import psutil

        watched = psutil.Process(proc.pid)

        def sample() -> None:
            while not done.is_set():  # not poll(): it would reap the child before wait4
                peak[0] = max(peak[0], _tree_rss(watched))
                _queue_waits(proc.pid, waits)
                time.sleep(0.1)

        threading.Thread(target=sample, daemon=True).start()
    out = proc.stdout.read().decode()
    done.set()
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"child failed ({proc.returncode}): {code.strip().splitlines()[-1]}")
    return {"wall": took, "cpu": usage.ru_utime + usage.ru_stime, "own_rss": usage.ru_maxrss / 1024,
            "tree_rss": peak[0] / 2**20, "queue_wait": sum(waits.values()), "out": out.strip()}


def sample_check(report: dict, exact: dict) -> list[str]:
    """Where the streamed statistics leave their bounds or the decisions differ (empty: none)."""
    bad = []
    for c, e in exact.items():
        s = report["rows"][c]
        if abs(s["statistic"] - e["statistic"]) > s["ks_error"] + 1e-12:
            bad.append(f"{c}: KS {s['statistic']:.6g} ± {s['ks_error']:.2g}, exact {e['statistic']:.6g}")
        if abs(s["score"] - e["wasserstein"]) > s["score_error"] + 1e-9:
            bad.append(f"{c}: W1 {s['score']:.6g} ± {s['score_error']:.2g}, exact {e['wasserstein']:.6g}")
        streamed = s["p_value"] < 0.05 and s["score"] >= s["threshold"]
        exact_decision = e["p_value"] < 0.05 and e["wasserstein"] >= s["threshold"]
        if streamed != exact_decision:
            bad.append(f"{c}: decision {streamed} streamed, {exact_decision} exact")
    return bad


def _report(name: str, runs: list[dict], floor: dict[str, float]) -> None:
    w, c = (statistics.median(r[m] for r in runs) for m in ("wall", "cpu"))
    tree, own = max(r["tree_rss"] for r in runs), max(r["own_rss"] for r in runs)
    wait = statistics.median(r.get("queue_wait", 0.0) for r in runs)
    print(f"{name:42s} wall {w:7.1f} s ({w / floor['wall']:4.2f}x)  CPU {c:7.1f} s ({c / floor['cpu']:4.2f}x)"
          f"  peak RSS {tree:6.0f} MB tree, {own:6.0f} MB own  threads waited {wait:4.1f} s for a core", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=None, help="default 3 (1 from 5*10^7 rows)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--dask", action="store_true")
    ap.add_argument("--float32", action="store_true", help="numeric columns as float32 (default from 5*10^7 rows)")
    ap.add_argument("--no-plain-floor", action="store_true", help="only the dictionary-strings floors (the faster ones)")
    ap.add_argument("--tmp", default=None, help="folder for the generated files (default: the system's)")
    args = ap.parse_args()
    rows = 200_000 if args.quick else args.rows
    repeat = args.repeat or (1 if args.quick or rows >= 50_000_000 else 3)
    dtype = "float32" if args.float32 or rows >= 50_000_000 else "float64"
    tmp = Path(tempfile.mkdtemp(prefix="mlnb-bench-stream-", dir=args.tmp))
    try:
        ref, cur = tmp / "ref.parquet", tmp / "cur.parquet"
        t = time.perf_counter()
        write(ref, rows, 1, 0.0, dtype)
        write(cur, rows, 2, 0.2, dtype)
        size = (ref.stat().st_size + cur.stat().st_size) / 2**30
        print(f"{rows:,} rows x {N_NUM} {dtype} + {N_CAT} string columns, ref and cur each "
              f"({size:,.1f} GB of parquet, written in {time.perf_counter() - t:.0f} s)", flush=True)
        files = (str(ref), str(cur))
        cases = {"pyarrow read floor (dictionary strings)": (FLOOR, "dict", *files),
                 "pyarrow read floor (dictionary, 1 MB buffer)": (FLOOR, "buffered", *files),
                 "mlnb drift (streamed, the command)": (MLNB, *files, ",".join(CHECKED))}
        if not args.no_plain_floor:
            cases = {"pyarrow read floor (plain)": (FLOOR, "plain", *files), **cases}
        results: dict[str, list[dict]] = {k: [] for k in cases}
        for _ in range(repeat):
            for name, (code, *argv) in cases.items():
                results[name].append(run(code, *argv))
                print(f"  {name}: {results[name][-1]['wall']:.1f} s", flush=True)
        floors = [k for k in cases if k.startswith("pyarrow")]
        med = {k: {m: statistics.median(r[m] for r in v) for m in ("wall", "cpu")} for k, v in results.items()}
        floor = {m: min(med[k][m] for k in floors) for m in ("wall", "cpu")}
        for name, v in results.items():
            _report(name, v, floor)
        print("targets: <= 2x the floor, <= 1024 MB", flush=True)
        mlnb_out = json.loads(results["mlnb drift (streamed, the command)"][-1]["out"])
        assert mlnb_out["drifted"] == ["num_0"], mlnb_out["drifted"]  # the shifted column, and only it
        exact = json.loads(run(EXACT, *files, ",".join(CHECKED))["out"])
        bad = sample_check(mlnb_out, exact)
        for c in CHECKED:
            s, e = mlnb_out["rows"][c], exact[c]
            print(f"sample check {c}: KS {s['statistic']:.5f} ± {s['ks_error']:.1e} (exact {e['statistic']:.5f}), "
                  f"W1/std {s['score']:.5f} ± {s['score_error']:.1e} (exact {e['wasserstein']:.5f})")
        print("sample check: decisions equal the exact tests" if not bad else "sample check FAILED: " + "; ".join(bad),
              flush=True)
        if args.dask or (args.quick and importlib.util.find_spec("distributed")):
            name = "mlnb drift on LocalCluster (2 workers)"
            dask = run(DASK, *files)
            _report(name, [dask], floor)
            single = med["mlnb drift (streamed, the command)"]
            print(f"LocalCluster / single-process streaming: {dask['wall'] / single['wall']:.2f}x wall, "
                  f"{dask['cpu'] / single['cpu']:.2f}x CPU (run after the others, not alternated: under a "
                  "changing load trust the CPU ratio)", flush=True)
            assert json.loads(dask["out"])["drifted"] == ["num_0"], dask["out"]
        if bad:
            raise SystemExit(1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
