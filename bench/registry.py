"""The registry under load: many writer processes logging metrics while the run list is read.

    python bench/registry.py            # full: 16 writers x 10^5 points on PostgreSQL, 8 on SQLite, 10^5 runs
    python bench/registry.py --quick    # CI smoke run: 3 writers x 3,000 points, 5,000 runs

Each writer is its own process with its own run; it logs its points in chunks of 1,000 and
flushes after each chunk (one transaction, the way ``mlnb`` writes a buffer), timing every flush:
that is the write latency. Meanwhile this process lists the runs with a filter and a sort, as the
panel and ``mlnb runs list`` do, timing every listing. At the end every point must be in the
registry (nothing lost) and every writer must have exited 0 (no error).

| what                                                    | target               |
|---------------------------------------------------------|----------------------|
| 16 writers x 10^5 points, PostgreSQL: write p50 / p99   | reported, no error   |
| listing 10^5 runs, filter + sort, during the writes     | p95 <= 100 ms        |
| the same with 8 writers on SQLite                       | the same             |
| the panel's change-feed poll during the writes          | no table counts      |
| points lost                                             | 0                    |
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHUNK = 1_000
FILTER, SORT = "metrics.accuracy > 0.5", "-metrics.accuracy"

WRITER = """
import json, sys, time
import mlnb
points = int(sys.argv[1])
latencies, cpu = [], []
with mlnb.start_run(sys.argv[2]) as run:
    print("ready", flush=True)
    sys.stdin.readline()
    for start in range(0, points, {chunk}):
        for step in range(start, min(points, start + {chunk})):
            run.log_metric("loss", 1.0 / (step + 1), step)
        t, c = time.perf_counter(), time.process_time()
        run.flush()
        latencies.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    print(json.dumps({{"id": run.id, "latencies": latencies, "cpu": cpu}}), flush=True)
""".format(chunk=CHUNK)


def seed(n_runs: int) -> None:
    """``n_runs`` finished runs with an ``accuracy`` each, written in bulk (one real run copied)."""
    import random

    import mlnb
    from mlnb._project import current_project
    from mlnb.store import registry
    from mlnb.store._schema import run_latest, runs

    with mlnb.start_run("template") as template:
        template.log_metric("accuracy", 0.5)
    reg = registry(current_project())
    with reg.read() as conn:
        row = dict(conn.execute(runs.select().where(runs.c.id == template.id)).first()._mapping)
    rng = random.Random(0)
    for start in range(0, n_runs, 10_000):
        batch = range(start, min(n_runs, start + 10_000))
        with reg.write() as conn:
            conn.execute(runs.insert(), [{**row, "id": f"{n:032x}", "name": f"seed-{n}",
                                          "started_at": row["started_at"] - n} for n in batch])
            conn.execute(run_latest.insert(), [{"run_id": f"{n:032x}", "key": "accuracy", "value": rng.random(),
                                                "is_nan": 0, "step": 0} for n in batch])
    if not reg.is_sqlite:  # what autovacuum does soon after a registry grows; a bulk load outruns it
        with reg.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()


def load(writers: int, points: int) -> dict[str, object]:
    """Start the writers, list runs until they finish; latencies and what the registry holds."""
    import mlnb

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(points), f"writer-{i}"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for i in range(writers)]
    for p in procs:
        line = p.stdout.readline().strip()
        if line != "ready":
            raise SystemExit(f"a writer did not start: {line!r} {p.stderr.read()}")
    from mlnb._project import current_project
    from mlnb.server._feed import registry_version

    listings: list[float] = []
    polls: list[float] = []
    project = current_project()
    full_path, floor = full_listing(project), round_trip(project)
    for _ in range(6):  # connections made, and psycopg's automatic server-side prepares (after 5 runs
        # of a statement) done, before the writes start, for both listings: as in a panel's server
        mlnb.runs.list(FILTER, sort=SORT, limit=50), full_path(), floor()
    started = time.perf_counter()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    full: list[float] = []
    floors: list[float] = []
    listing_cpu = 0.0
    while any(p.poll() is None for p in procs):
        t, c = time.perf_counter(), time.process_time()
        page = mlnb.runs.list(FILTER, sort=SORT, limit=50)
        listings.append(time.perf_counter() - t)
        listing_cpu += time.process_time() - c
        assert len(page) == 50
        t = time.perf_counter()
        assert full_path() == page.ids
        full.append(time.perf_counter() - t)
        t = time.perf_counter()
        floor()
        floors.append(time.perf_counter() - t)
        t = time.perf_counter()
        registry_version(project)  # what the panel's change feed reads on every poll
        polls.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    load_average = os.getloadavg()
    results, errors = [], []
    for p in procs:
        out, err = p.communicate()
        if p.returncode != 0:
            errors.append(err.strip().splitlines()[-1] if err.strip() else f"exit {p.returncode}")
        else:
            results.append(json.loads(out.strip().splitlines()[-1]))
    writes = sorted(x for r in results for x in r["latencies"])
    write_cpu = [x for r in results for x in r["cpu"]]
    lost = sum(points - len(mlnb.runs.get(r["id"]).history["loss"]["step"]) for r in results)
    return {"writes": writes, "listings": sorted(listings), "polls": sorted(polls), "errors": errors, "lost": lost,
            "points": writers * points, "elapsed": elapsed, "full": sorted(full), "floor": sorted(floors),
            "load": load_average, "listing_cpu": listing_cpu / max(1, len(listings)),
            "write_cpu": sum(write_cpu) / max(1, len(write_cpu))}


def full_listing(project: object) -> Callable[[], list[str]]:
    """The same listing by the path every backend has (reap, page, details: six round trips on
    PostgreSQL), timed beside the one-statement listing; returns the page's run ids."""
    from sqlalchemy import and_

    from mlnb.runs import _filter, _query

    condition = and_(_filter.compile_filter(FILTER), *_query.scope(None, "active"))
    spec = _query.parse_sort(SORT)
    return lambda: [r["id"] for r in _query._list_page(project, condition, spec, 50, 0)[0]]


def round_trip(project: object) -> Callable[[], object]:
    """The floor of any read: ``SELECT 1`` on the same kind of connection as the listing (one
    round trip on PostgreSQL; on SQLite, a read transaction in process)."""
    from sqlalchemy import literal, select

    from mlnb.store import registry

    reg = registry(project)
    if reg.is_sqlite:
        def floor() -> object:
            with reg.read() as conn:
                return conn.execute(select(literal(1))).all()
        return floor
    return lambda: reg.one_statement(select(literal(1)))


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def report(backend: str, writers: int, points: int, n_runs: int, r: dict) -> bool:
    w, ls = r["writes"], r["listings"]
    print(f"\n{backend}: {writers} writers x {points:,} points ({r['points'] / r['elapsed']:,.0f} points/s "
          f"overall), {n_runs:,} runs listed with '{FILTER}' sorted {SORT}")
    print(f"  write (flush of {CHUNK:,} points): p50 {pct(w, 0.5) * 1000:.1f} ms, p99 {pct(w, 0.99) * 1000:.1f} ms, "
          f"max {max(w, default=float('nan')) * 1000:.1f} ms over {len(w)} flushes; the writer's own CPU "
          f"{r['write_cpu'] * 1000:.1f} ms a flush")
    print(f"  listing during the writes: p50 {pct(ls, 0.5) * 1000:.1f} ms, p95 {pct(ls, 0.95) * 1000:.1f} ms "
          f"p99 {pct(ls, 0.99) * 1000:.1f} ms over {len(ls)} listings (target p95 <= 100 ms); the lister's own CPU "
          f"{r['listing_cpu'] * 1000:.2f} ms a listing")
    fl, fu = r["floor"], r["full"]
    print(f"  the same listing by the full path (alternated): p50 {pct(fu, 0.5) * 1000:.1f} ms, "
          f"p95 {pct(fu, 0.95) * 1000:.1f} ms")
    print(f"  floor, SELECT 1 (alternated): p50 {pct(fl, 0.5) * 1000:.1f} ms, p95 {pct(fl, 0.95) * 1000:.1f} ms; "
          f"listing / floor at p95 = {pct(ls, 0.95) / pct(fl, 0.95):.1f}, full path / floor = "
          f"{pct(fu, 0.95) / pct(fl, 0.95):.1f}; load average at the end {r['load'][0]:.1f}")
    print(f"  the panel's change-feed poll during the writes: p50 {pct(r['polls'], 0.5) * 1000:.1f} ms, "
          f"p95 {pct(r['polls'], 0.95) * 1000:.1f} ms (one primary-key read, whatever the table sizes)")
    print(f"  points lost: {r['lost']}; writer errors: {len(r['errors'])} {r['errors'][:1]}")
    return r["lost"] == 0 and not r["errors"]


@contextlib.contextmanager
def project(base: Path, url: str | None) -> Iterator[None]:
    import mlnb
    from mlnb._project import current_project

    root = base / "proj"
    root.mkdir()
    os.chdir(root)
    if url:
        os.environ["MLNB_REGISTRY_URL"] = url
    else:
        os.environ.pop("MLNB_REGISTRY_URL", None)
    mlnb.init()
    try:
        yield
    finally:
        current_project().close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--writers", type=int, help="writers on every backend (default 16 PostgreSQL, 8 SQLite)")
    parser.add_argument("--points", type=int, help="points per writer (default 10^5)")
    parser.add_argument("--runs", type=int, help="runs listed (default 10^5)")
    args = parser.parse_args()
    n_runs, points = (5_000, 3_000) if args.quick else (100_000, 100_000)
    n_runs, points = args.runs or n_runs, args.points or points
    plan = {"postgresql": 3 if args.quick else 16, "sqlite": 3 if args.quick else 8}
    if args.writers:
        plan = dict.fromkeys(plan, args.writers)
    ok = True
    for backend in (["postgresql", "sqlite"] if args.backend == "both" else [args.backend]):
        with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
            url = None
            if backend == "postgresql":
                from tests._postgres import cluster, create_database

                # PostgreSQL's own settings (fsync, synchronous_commit on), as a deployment runs it
                url = create_database(stack.enter_context(cluster(max_connections=200, durable=True)))
            stack.enter_context(project(Path(tmp), url))
            t = time.perf_counter()
            seed(n_runs)
            print(f"{backend}: seeded {n_runs:,} runs in {time.perf_counter() - t:.1f} s")
            ok &= report(backend, plan[backend], points, n_runs, load(plan[backend], points))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
