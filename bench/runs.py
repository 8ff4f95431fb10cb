"""Run-tracking benchmarks against MLflow 3.x (local SQLite store), measured in the same run.

    python bench/runs.py              # full: 100,000 runs in the listing benchmark
    python bench/runs.py --quick      # CI smoke: smaller counts, finishes in seconds
    python bench/runs.py --no-anchor  # mlnb only (no MLflow venv)

MLflow runs in its own venv, bench/.venvs/mlflow (under ``$MLNB_BENCH_VENVS`` instead when set: CI
keeps it in ~/.cache so that a fresh clone does not build it again), created here when missing or
made for other requirements (``MLFLOW_REQUIREMENTS``, shared with bench/models.py). Both tools write to a fresh SQLite file; timings are medians of repeats.

| what                                               | MLflow (issue)  | target   |
|----------------------------------------------------|-----------------|----------|
| 1,000 metric points logged one call at a time      | 4.1 s           | <= 10 ms |
| 100 params                                         | 0.37 s          | <= 5 ms  |
| 50 small runs (2 params, 2 metrics each)           | 0.86 s          | <= 0.1 s |
| list 100,000 runs, filter + sort + top 50          | -               | <= 50 ms |
| overhead of `%%mlops run` over the bare cell       | -               | <= 20 ms |
| 10,000 points in a loop with the live chart shown  | -               | <= 2x    |

For the listing, both registries hold the same 100,000 runs, seeded with bulk SQL inserts into
each tool's own schema (logging 100,000 runs through MLflow's API would take about half an hour);
the timed part is each tool's own query. MLflow compares params as strings, so the shared filter
compares a text param; mlnb's numeric-param filter is timed as an extra row.

The live chart (mlnb/runs/_live.py) is timed in an IPython shell whose displays are captured, as a
kernel would send them: the same loop with the chart attached and without, alternated; the run's
end (the final drawing with its static SVG, once per run) is printed apart.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from data import timed as median_time  # noqa: E402 - the median-of-repeats helper all benchmarks share
VENV = Path(os.environ.get("MLNB_BENCH_VENVS") or ROOT / "bench" / ".venvs") / "mlflow"
#: the newest MLflow whose matching mlflow-skinny is on the index (mlflow 3.18.0 needs a
#: mlflow-skinny 3.18.0 that was never published); the venv also gets this venv's scikit-learn,
#: so a model pickled on one side loads on the other
MLFLOW_REQUIREMENTS = ("mlflow==3.17.2", "mlflow-skinny==3.17.2")
FILTER_SHARED = ("metrics.accuracy > 0.8 and params.opt = 'adam'", "-metrics.accuracy")
FILTER_NUMERIC = ("metrics.accuracy > 0.8 and params.lr < 0.5", "-metrics.accuracy")


def seed_rows(n: int, seed: int = 7):
    """The same synthetic runs for both tools: (id, name, started, lr, opt, accuracy, loss, churn)."""
    rnd = random.Random(seed)
    start = time.time() - n
    for i in range(n):
        yield (f"{i:012x}", f"run-{i}", start + i, rnd.choice([0.001, 0.01, 0.1, 0.3, 0.5, 1.0]),
               rnd.choice(["adam", "sgd", "rmsprop"]), rnd.random(), rnd.random() * 2, i % 3 == 0)


# -- mlnb -------------------------------------------------------------------------------------


def mlnb_setup(work: Path) -> None:
    os.chdir(work)
    import mlnb

    mlnb.init()
    run = mlnb.start_run("warm-up")
    run.log_metric("x", 1)
    run.end()


def mlnb_round(args: argparse.Namespace) -> dict[str, float]:
    """One repetition of every logging measurement (the listing and the live chart: mlnb_once)."""
    import mlnb

    def inside_a_run(log) -> float:  # noqa: ANN001 - time the logging (and its flush), not the run's start
        with mlnb.start_run("timed") as run:
            t = time.perf_counter()
            log(run)
            run.flush()
            return time.perf_counter() - t

    def small_runs() -> None:
        for i in range(args.runs):
            with mlnb.start_run(f"small-{i}", params={"lr": 0.1, "depth": i}) as run:
                run.log_metric("accuracy", 0.9)
                run.log_metric("loss", 0.1)

    return {"points": inside_a_run(lambda run: [run.log_metric("loss", 1.0 / (i + 1)) for i in range(args.points)]),
            "params": inside_a_run(lambda run: [run.log_param(f"p{i}", i * 0.5) for i in range(args.params)]),
            "runs": median_time(small_runs, 1),
            "overhead": cell_overhead(10)}


def mlnb_once(args: argparse.Namespace) -> dict[str, float]:
    """The measurements that alternate within themselves: the live chart (shown / not shown) and the listing."""
    import mlnb

    out: dict[str, float] = live_chart(args.live_points, args.repeat * 3)
    seed_mlnb(args.list)
    for label, (expr, sort) in (("list", FILTER_SHARED), ("list_numeric", FILTER_NUMERIC),
                                ("list_default", (None, None)), ("list_tag", ("tags.churn and name ~ 'run-9'", "-started_at"))):
        page = mlnb.runs.list(expr, sort=sort, limit=50)  # warm the page cache
        assert len(page) == min(50, len(page)) and page.rows, (label, len(page))
        out[label] = median_time(lambda: mlnb.runs.list(expr, sort=sort, limit=50), args.repeat * 2)
    return out


def cell_overhead(repeat: int) -> float:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext mlnb", store_history=False)
    body = "total = sum(range(100))\n"
    shell.run_cell("%%mlops run warm\n" + body)
    bare = median_time(lambda: shell.run_cell(body), repeat)
    magic = median_time(lambda: shell.run_cell("%%mlops run overhead\n" + body), repeat)
    return magic - bare


def live_chart(points: int, repeat: int) -> dict[str, float]:
    """Medians of the loop without and with the live chart (alternated), and of the run's end with it."""
    import mlnb
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from mlnb.runs import _live

    InteractiveShell.instance()
    bare, live, end = [], [], []
    for i in range(repeat + 1):  # the first round warms up (vl-convert's first drawing is slow)
        for shown in (False, True):
            with capture_output() as shown_out:
                run = mlnb.start_run("live")
                run._live = _live.attach(run.name, force=True) if shown else None
                t = time.perf_counter()
                for step in range(points):
                    run.log_metric("loss", 1.0 / (step + 1))
                t1 = time.perf_counter()
                run.end()
                t2 = time.perf_counter()
            if shown:
                assert shown_out.outputs, "the live chart drew nothing"
            if i:
                (live if shown else bare).append(t1 - t)
                if shown:
                    end.append(t2 - t1)
    return {"live_bare": statistics.median(bare), "live": statistics.median(live), "live_end": statistics.median(end)}


def seed_mlnb(n: int) -> None:
    from mlnb._project import current_project
    from mlnb.store import registry
    from mlnb.store._schema import run_latest, run_params, run_tags, runs

    reg = registry(current_project())
    batch = 20_000
    rows = list(seed_rows(n))
    for lo in range(0, n, batch):
        chunk = rows[lo:lo + batch]
        with reg.write() as conn:
            conn.execute(runs.insert(), [
                {"id": r[0], "name": r[1], "status": "finished", "started_at": r[2], "ended_at": r[2] + 1,
                 "heartbeat_at": r[2] + 1} for r in chunk])
            conn.execute(run_params.insert(), [
                p for r in chunk for p in ({"run_id": r[0], "key": "lr", "value": json.dumps(r[3]), "num": r[3]},
                                           {"run_id": r[0], "key": "opt", "value": json.dumps(r[4]), "num": None})])
            conn.execute(run_latest.insert(), [
                m for r in chunk for m in ({"run_id": r[0], "key": "accuracy", "value": r[5], "is_nan": 0, "step": 0},
                                           {"run_id": r[0], "key": "loss", "value": r[6], "is_nan": 0, "step": 0})])
            conn.execute(run_tags.insert(), [{"run_id": r[0], "tag": "churn"} for r in chunk if r[7]])
    with reg.write() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")


# -- MLflow (in its own venv) -------------------------------------------------------------------

MLFLOW_SCRIPT = r'''
import json, os, statistics, sys, time, uuid
args = json.loads(sys.argv[1])
os.environ["MLFLOW_TRACKING_URI"] = "sqlite:///" + os.path.join(args["work"], "mlflow.db")
import logging
logging.getLogger("mlflow").setLevel(logging.ERROR)
logging.getLogger("alembic").setLevel(logging.ERROR)
import mlflow
from mlflow.tracking import MlflowClient
mlflow.set_experiment("bench")
client = MlflowClient()
def med(fn, n):
    ts = []
    for _ in range(n):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)
out = {}
from mlflow.entities import Metric, Param
with mlflow.start_run(run_name="warm"):
    mlflow.log_metric("x", 1)
def timed_in_run(name, log):
    with mlflow.start_run(run_name=name) as run:
        t = time.perf_counter(); log(run.info.run_id); return time.perf_counter() - t
def async_points(run_id):
    for i in range(args["points"]):
        mlflow.log_metric("loss", 1.0 / (i + 1), synchronous=False)
    mlflow.flush_async_logging()
def batch_points(run_id):
    now = int(time.time() * 1000)
    points = [Metric("loss", 1.0 / (i + 1), now, i) for i in range(args["points"])]
    for lo in range(0, len(points), 1000):  # log_batch takes up to 1,000 metrics a call
        client.log_batch(run_id, metrics=points[lo:lo + 1000], synchronous=True)
out["points"] = timed_in_run("points", lambda r: [mlflow.log_metric("loss", 1.0 / (i + 1)) for i in range(args["points"])])
out["points_async"] = timed_in_run("points-async", async_points)
out["points_batch"] = timed_in_run("points-batch", batch_points)
out["params"] = timed_in_run("params", lambda r: [mlflow.log_param(f"p{i}", i * 0.5) for i in range(args["params"])])
out["params_batch"] = timed_in_run("params-batch", lambda r: mlflow.log_params({f"p{i}": i * 0.5 for i in range(args["params"])}))
def small_runs():
    for i in range(args["runs"]):
        with mlflow.start_run(run_name=f"small-{i}"):
            mlflow.log_param("lr", 0.1)
            mlflow.log_param("depth", i)
            mlflow.log_metric("accuracy", 0.9)
            mlflow.log_metric("loss", 0.1)
def small_runs_batch():
    for i in range(args["runs"]):
        with mlflow.start_run(run_name=f"small-{i}"):
            mlflow.log_params({"lr": 0.1, "depth": i})
            mlflow.log_metrics({"accuracy": 0.9, "loss": 0.1})
out["runs"] = med(small_runs, 1)
out["runs_batch"] = med(small_runs_batch, 1)
def overhead():
    with mlflow.start_run(run_name="overhead"):
        total = sum(range(100))
out["overhead"] = med(overhead, 10)
out["version"] = mlflow.__version__
if not args["rows"]:
    print(json.dumps(out))
    sys.exit(0)
# the listing: seed the same runs into MLflow's own tables, then time its search
import sqlite3
exp = mlflow.create_experiment("listing")
db = sqlite3.connect(os.path.join(args["work"], "mlflow.db"))
rows = [json.loads(line) for line in open(args["rows"])]
db.executemany(
    "insert into runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, "
    "end_time, source_version, lifecycle_stage, artifact_uri, experiment_id) values (?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [(r[0].rjust(32, "0"), r[1], "LOCAL", "", "", "bench", "FINISHED", int(r[2] * 1000), int(r[2] * 1000) + 1000,
      "", "active", "", int(exp)) for r in rows])
db.executemany("insert into params (key, value, run_uuid) values (?,?,?)",
               [p for r in rows for p in (("lr", str(r[3]), r[0].rjust(32, "0")), ("opt", r[4], r[0].rjust(32, "0")))])
db.executemany("insert into latest_metrics (key, value, timestamp, step, is_nan, run_uuid) values (?,?,?,?,?,?)",
               [m for r in rows for m in (("accuracy", r[5], 0, 0, 0, r[0].rjust(32, "0")),
                                          ("loss", r[6], 0, 0, 0, r[0].rjust(32, "0")))])
db.executemany("insert into metrics (key, value, timestamp, step, is_nan, run_uuid) values (?,?,?,?,?,?)",
               [m for r in rows for m in (("accuracy", r[5], 0, 0, 0, r[0].rjust(32, "0")),
                                          ("loss", r[6], 0, 0, 0, r[0].rjust(32, "0")))])
db.executemany("insert into tags (key, value, run_uuid) values (?,?,?)",
               [("churn", "1", r[0].rjust(32, "0")) for r in rows if r[7]])
db.commit()
db.execute("ANALYZE")
db.close()
search = lambda: client.search_runs([exp], filter_string="metrics.accuracy > 0.8 and params.opt = 'adam'",
                                    order_by=["metrics.accuracy DESC"], max_results=50)
assert len(search()) == 50
out = {"list": med(search, args["repeat"] * 2), "version": mlflow.__version__}
print(json.dumps(out))
'''


def ensure_venv(venv: Path, wanted: list[str], what: str, also_ok: tuple[list[str], ...] = ()) -> Path | None:
    """The python of a benchmark's venv holding ``wanted``, made once; a venv whose install did not
    finish, or that was made for other requirements (than ``wanted`` or ``also_ok``), is made again.
    None (and a note) when it cannot be made: the anchor's columns stay empty."""
    python, ready = venv / "bin" / "python", venv / ".installed"
    if ready.exists() and ready.read_text().split() in (wanted, *also_ok):
        return python
    print(f"creating {venv} with {what} (one time; takes a few minutes) ...", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *wanted], check=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"could not set up {what} ({exc}): no anchor", file=sys.stderr)
        return None
    ready.write_text(" ".join(wanted) + "\n")
    return python


def ensure_mlflow() -> Path | None:
    """The MLflow venv's python, made once (for this scikit-learn, so models load on both sides)."""
    from importlib.metadata import version

    wanted = [*MLFLOW_REQUIREMENTS, f"scikit-learn=={version('scikit-learn')}"]
    return ensure_venv(VENV, wanted, "mlflow", also_ok=(list(MLFLOW_REQUIREMENTS),))


def mlflow_call(python: Path, args: argparse.Namespace, work: Path, listing: bool) -> dict[str, float] | None:
    """One MLflow child: a round of the logging measurements, or (``listing``) the listing alone."""
    rows_file = work / "rows.jsonl"
    if listing:
        with open(rows_file, "w") as f:
            for r in seed_rows(args.list):
                f.write(json.dumps(r) + "\n")
    payload = json.dumps({"work": str(work), "rows": str(rows_file) if listing else "", "points": args.points,
                          "params": args.params, "runs": args.runs, "repeat": args.repeat})
    proc = subprocess.run([str(python), "-c", MLFLOW_SCRIPT, payload], capture_output=True, text=True, cwd=work,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    if proc.returncode:
        print(f"MLflow benchmark failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def medians(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in rounds) for k in rounds[0] if k != "version"} | \
        {k: rounds[0][k] for k in rounds[0] if k == "version"}


def report(args: argparse.Namespace, ours: dict[str, float], anchor: dict[str, float] | None) -> None:
    anchor = anchor or {}
    print(f"mlnb vs MLflow {anchor.get('version', '(not run)')}, medians of {args.repeat} alternated rounds; "
          f"{args.list:,} runs in the listing")
    print(f"{'what':<58} {'mlnb':>10} {'MLflow':>10} {'ratio':>8}  target")
    lines = [
        (f"{args.points:,} metric points, one call each (+ flush)", "points", "<= 10 ms" if args.points == 1000 else ""),
        (f"{args.params} params (+ flush)", "params", "<= 5 ms" if args.params == 100 else ""),
        (f"{args.runs} small runs (2 params, 2 metrics each)", "runs", "<= 100 ms" if args.runs == 50 else ""),
        (f"list {args.list:,} runs: {FILTER_SHARED[0]}, sort, top 50", "list", "<= 50 ms"),
        (f"list {args.list:,} runs: {FILTER_NUMERIC[0]}", "list_numeric", "<= 50 ms"),
        (f"list {args.list:,} runs: newest 50, no filter", "list_default", "<= 50 ms"),
        (f"list {args.list:,} runs: tags.churn and name ~ 'run-9'", "list_tag", "<= 50 ms"),
        ("overhead of %%mlops run over the bare cell (MLflow: empty with start_run)", "overhead", "<= 20 ms"),
    ]
    lines += [
        (f"{args.live_points:,} points in a loop, no chart shown", "live_bare", ""),
        (f"{args.live_points:,} points in a loop, live chart shown", "live", ""),
        ("  the run's end with the live chart (final drawing + SVG)", "live_end", ""),
    ]
    fastest = [  # MLflow's fastest idiomatic path for the same work, against the same mlnb figure
        (f"{args.points:,} metric points, MLflow async log_metric (+ flush)", "points", "points_async"),
        (f"{args.points:,} metric points, MLflow log_batch", "points", "points_batch"),
        (f"{args.params} params, MLflow log_params(dict)", "params", "params_batch"),
        (f"{args.runs} small runs, MLflow log_params/log_metrics(dict)", "runs", "runs_batch"),
    ]
    rows = [(what, key, key, target) for what, key, target in lines] + [(w, k, a, "") for w, k, a in fastest]
    for what, key, theirs_key, target in rows:
        mine, theirs = ours[key], anchor.get(theirs_key)
        ratio = f"{mine / theirs:7.3f}x" if theirs else "      -"
        theirs_s = f"{theirs * 1000:8.1f}ms" if theirs is not None else "        - "
        print(f"{what:<58} {mine * 1000:8.1f}ms {theirs_s} {ratio}  {target}")
    print("mlnb buffers points and params and writes one transaction per flush; MLflow's synchronous calls "
          "commit each call, its async logging queues them (flushed before the clock stops).")
    print(f"live chart shown / not shown over the loop: {ours['live'] / ours['live_bare']:.2f}x (target <= 2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts for a CI smoke run")
    parser.add_argument("--no-anchor", action="store_true", help="skip MLflow")
    args = parser.parse_args()
    if args.quick:
        args.points, args.params, args.runs, args.list, args.repeat = 200, 20, 10, 5_000, 1
        args.live_points = 10_000  # the target is about this size; the loop takes ~0.1 s
    else:
        args.points, args.params, args.runs, args.list, args.repeat = 1000, 100, 50, 100_000, 5
        args.live_points = 10_000
    with tempfile.TemporaryDirectory(prefix="mlnb-bench-runs-") as tmp:
        base = Path(tmp)
        (base / "mlnb").mkdir()
        (base / "mlflow").mkdir()
        python = None if args.no_anchor else ensure_mlflow()
        ours_rounds, theirs_rounds = [], []
        try:
            mlnb_setup(base / "mlnb")
            for _ in range(args.repeat):  # rounds: MLflow, mlnb, MLflow, mlnb, ...
                theirs = mlflow_call(python, args, base / "mlflow", listing=False) if python else None
                if theirs:
                    theirs_rounds.append(theirs)
                ours_rounds.append(mlnb_round(args))
            ours = medians(ours_rounds) | mlnb_once(args)
        finally:
            os.chdir(ROOT)  # leave the folder before it is removed
        anchor = None
        if theirs_rounds:
            listing = mlflow_call(python, args, base / "mlflow", listing=True)
            anchor = medians(theirs_rounds) | (listing or {})
        report(args, ours, anchor)


if __name__ == "__main__":
    main()
