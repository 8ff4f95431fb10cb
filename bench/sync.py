"""Sharing the registry through the DVC remote: push, then pull into a fresh `git clone`.

    python bench/sync.py            # full: 10,000 runs x 100 points (1,000,000 points)
    python bench/sync.py --quick    # CI smoke run: 500 runs x 100 points

A real git repository with a local-directory DVC remote; the runs are one real run copied in
bulk (3 params, 100 points and a latest value each). Timed, each as the `mlnb` command in a
fresh process, the way a user runs it: `mlnb push --no-data` from the first clone, then
`mlnb pull --no-data` in a fresh `git clone` (no registry yet), alternated with the floor (bare
sqlite3 inserting the same rows), medians of 3 rounds; then a second pull (nothing new) and a push
with nothing new. The clone's registry must then hold every run and point.

| what                                             | target   |
|--------------------------------------------------|----------|
| pull of 10,000 runs x 100 points, fresh clone    | <= 5 s   |
| push of the same                                 | reported |
| pull / push with nothing new                     | reported |
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _fair import alternated  # noqa: E402


def seed(n_runs: int, points: int) -> None:
    """``n_runs`` finished runs, each with 3 params and ``points`` points of "loss", in bulk."""
    import mlnb
    from mlnb._project import current_project
    from mlnb.store import registry
    from mlnb.store._schema import run_latest, run_metrics, run_params, runs

    with mlnb.start_run("template") as template:
        template.log_params({"lr": 0.1, "depth": 3, "model": "gbm"})
        template.log_metric("loss", 1.0)
    reg = registry(current_project())
    with reg.read() as conn:
        row = dict(conn.execute(runs.select().where(runs.c.id == template.id)).first()._mapping)
    cols = ("run_id", "key", "step", "value", "is_nan", "logged_at")
    for start in range(0, n_runs, 1_000):
        batch = [f"{n:032x}" for n in range(start, min(n_runs, start + 1_000))]
        with reg.write() as conn:
            conn.execute(runs.insert(), [{**row, "id": r, "name": f"seed-{r[-6:]}"} for r in batch])
            conn.execute(run_params.insert(), [{"run_id": r, "key": k, "value": json.dumps(v), "num": None}
                                               for r in batch for k, v in (("lr", 0.1), ("depth", 3), ("m", "g"))])
            conn.execute(run_latest.insert(), [{"run_id": r, "key": "loss", "value": 0.5, "is_nan": 0,
                                                "step": points - 1} for r in batch])
            conn.exec_driver_sql(f"INSERT INTO {run_metrics.name} ({', '.join(cols)}) VALUES (?, ?, ?, ?, ?, ?)",
                                 [(r, "loss", s, 1.0 / (s + 1), 0, row["started_at"] + s) for r in batch
                                  for s in range(points)])


def timed(*args: str, cwd: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    began = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mlnb", *args], cwd=cwd, capture_output=True, text=True, env=env)
    took = time.perf_counter() - began
    if proc.returncode:
        raise SystemExit(f"mlnb {' '.join(args)} failed: {proc.stderr}")
    return took


def count(root: Path) -> tuple[int, int]:
    import sqlite3

    with sqlite3.connect(root / ".mlnb" / "registry.db") as db:
        return (db.execute("SELECT count(*) FROM runs").fetchone()[0],
                db.execute("SELECT count(*) FROM run_metrics").fetchone()[0])


def insert_floor(origin: Path, scratch: Path) -> float:
    """Seconds to insert the origin's runs and points, as plain rows, into an empty copy of their
    tables and indexes (one executemany each, one transaction): what any pull must at least do."""
    import sqlite3

    src = sqlite3.connect(origin / ".mlnb" / "registry.db")
    ddl = [sql for (sql,) in src.execute("SELECT sql FROM sqlite_master WHERE tbl_name IN ('runs', 'run_metrics') "
                                         "AND sql IS NOT NULL ORDER BY type DESC")]
    runs = src.execute("SELECT * FROM runs").fetchall()
    points = src.execute("SELECT run_id, key, step, value, is_nan, logged_at FROM run_metrics").fetchall()
    dst = sqlite3.connect(scratch, isolation_level=None)
    dst.execute("PRAGMA journal_mode=WAL")
    dst.execute("PRAGMA synchronous=NORMAL")
    for sql in ddl:
        dst.execute(sql)
    began = time.perf_counter()
    dst.execute("BEGIN")
    dst.executemany(f"INSERT INTO runs VALUES ({', '.join('?' * len(runs[0]))})", runs)
    dst.executemany("INSERT INTO run_metrics (run_id, key, step, value, is_nan, logged_at) VALUES (?, ?, ?, ?, ?, ?)",
                    points)
    dst.execute("COMMIT")
    return time.perf_counter() - began


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="500 runs x 100 points (CI smoke)")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--points", type=int, default=100)
    ap.add_argument("--repeats", type=int, help="alternated rounds of pull and floor (default 3; quick 1)")
    args = ap.parse_args()
    n_runs = args.runs or (500 if args.quick else 10_000)
    with tempfile.TemporaryDirectory(prefix="mlnb-bench-sync-") as tmp:
        base = Path(tmp)
        a = base / "a"
        a.mkdir()
        os.chdir(a)
        import mlnb

        mlnb.init(remote=str(base / "remote"))
        seed(n_runs, args.points)
        for cmd in (["add", "-A"], ["commit", "-qm", "bench"]):
            subprocess.run(["git", *cmd], cwd=a, check=True, capture_output=True)
        subprocess.run(["git", "clone", "-q", str(a), str(base / "b")], check=True, capture_output=True)
        push = timed("push", "--no-data", cwd=a)

        def fresh_pull() -> float:  # the clone as `git clone` left it: no registry yet
            for f in (base / "b" / ".mlnb").glob("registry.db*"):
                f.unlink()
            return timed("pull", "--no-data", cwd=base / "b")

        def floor_once() -> float:
            (base / "floor.db").unlink(missing_ok=True)
            return insert_floor(a, base / "floor.db")

        medians = alternated({"pull": fresh_pull, "floor": floor_once}, args.repeats or (1 if args.quick else 3),
                             own_time=True)
        pull, floor = medians["pull"], medians["floor"]
        pull_again = timed("pull", "--no-data", cwd=base / "b")
        push_again = timed("push", "--no-data", cwd=a)
        startup = timed("--version", cwd=a)
        have, want = count(base / "b"), count(a)
        size = sum(p.stat().st_size for p in (base / "remote" / "mlnb" / "segments").iterdir())
        print(f"{n_runs:,} runs x {args.points} points ({want[1]:,} points), segment {size / 1e6:.1f} MB")
        print(f"push, as a command:              {push:6.2f} s")
        verdict = "" if args.quick else f"   target <= 5 s: {'OK' if pull <= 5 else 'OVER'}"
        print(f"pull into a fresh clone (median): {pull:5.2f} s{verdict}")
        print(f"  floor: the same rows inserted with bare sqlite3: {floor:.2f} s (pull = {pull / floor:.1f}x); "
              f"`mlnb --version` start-up: {startup:.2f} s")
        print(f"pull with nothing new:           {pull_again:6.2f} s")
        print(f"push with nothing new:           {push_again:6.2f} s")
        if have != want:
            raise SystemExit(f"the clone holds {have} (runs, points); the origin {want}")


if __name__ == "__main__":
    main()
