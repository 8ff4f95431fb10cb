"""Streaming drift over parquet vs the pyarrow read floor, each in its own process (peak RSS).

    python bench/stream.py              # 10^7 rows x 20 columns, ref and cur each
    python bench/stream.py --rows 30000000
    python bench/stream.py --quick      # CI smoke: 200,000 rows (and the LocalCluster, if Dask is installed)
    python bench/stream.py --dask       # also a 2-worker distributed.LocalCluster

Every measurement runs in a fresh child process; its peak RSS is the child's ``ru_maxrss``
(``os.wait4``), which counts pyarrow's and numpy's allocations alike. Times are medians of
``--repeat`` runs, alternated (floor, mlnb, floor, mlnb ...). The files are written in
``tmp`` and deleted after.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
N_NUM, N_CAT = 16, 4

FLOOR = """
import sys, pyarrow.parquet as pq
for f in sys.argv[1:]:
    pf = pq.ParquetFile(f, pre_buffer=False)
    for b in pf.iter_batches(batch_size=262144):
        pass
"""
MLNB = """
import sys, mlnb.checks
r = mlnb.checks.drift(sys.argv[1], sys.argv[2])
print(sorted(r.drifted))
"""
DASK = """
import sys, dask.dataframe as dd, mlnb.checks
from distributed import Client, LocalCluster
with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster):
    r = mlnb.checks.drift(dd.read_parquet(sys.argv[1]), dd.read_parquet(sys.argv[2]))
print(sorted(r.drifted))
"""


def write(path: Path, rows: int, seed: int, shift: float) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    chunk = 1_000_000
    writer = None
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        cols = {f"num_{i}": rng.normal(shift if i == 0 else 0.0, 1.0, n) for i in range(N_NUM)}
        cols.update({f"cat_{i}": pa.array(rng.choice(["a", "b", "c", "d"], n)).dictionary_encode().cast(pa.string())
                     for i in range(N_CAT)})
        table = pa.table(cols)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=chunk)
    writer.close()


def run(code: str, *args: str) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, stdout) of a fresh Python process running ``code``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, env=env)
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"child failed ({proc.returncode}): {code.strip().splitlines()[-1]}")
    return took, usage.ru_maxrss / 1024, out.strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--dask", action="store_true")
    args = ap.parse_args()
    rows, repeat = (200_000, 1) if args.quick else (args.rows, args.repeat)
    tmp = Path(tempfile.mkdtemp(prefix="mlnb-bench-stream-"))
    try:
        ref, cur = tmp / "ref.parquet", tmp / "cur.parquet"
        write(ref, rows, 1, 0.0)
        write(cur, rows, 2, 0.2)
        size = (ref.stat().st_size + cur.stat().st_size) / 2**20
        print(f"{rows:,} rows x {N_NUM + N_CAT} columns, ref and cur each ({size:,.0f} MB of parquet)")
        cases = {"pyarrow read floor": (FLOOR, str(ref), str(cur)), "mlnb drift (streamed)": (MLNB, str(ref), str(cur))}
        if args.dask or (args.quick and importlib.util.find_spec("distributed")):
            cases["mlnb drift on LocalCluster (2 workers)"] = (DASK, str(ref), str(cur))
        times: dict[str, list[float]] = {k: [] for k in cases}
        rss: dict[str, float] = {k: 0.0 for k in cases}
        for _ in range(repeat):
            for name, (code, *files) in cases.items():
                took, peak, out = run(code, *files)
                times[name].append(took)
                rss[name] = max(rss[name], peak)
                if out:
                    assert out == "['num_0']", out  # the shifted column, and only it
        floor = statistics.median(times["pyarrow read floor"])
        for name in cases:
            t = statistics.median(times[name])
            print(f"{name:40s} {t:7.2f} s  ({t / floor:4.2f}x floor)  peak RSS {rss[name]:7.0f} MB")
        print("targets: <= 2x the floor, <= 1024 MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
