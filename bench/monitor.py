"""Benchmark: mlnb.monitor.report over a large prediction log, against NannyML in the same run.

    python bench/monitor.py                 # 10^7 predictions with outcomes, 20 features, 30 days
    python bench/monitor.py --quick         # small sizes, mlnb only, a few seconds (CI smoke)
    python bench/monitor.py --no-anchor     # mlnb only
    python bench/monitor.py --log-dir DIR   # simulate the log into DIR once, reuse it on later runs

What is timed:

* **full report**: ``mlnb.monitor.report(model, window="1D", reference="training")`` over the whole
  log — realized performance (outcomes joined by id), estimated performance (CBPE), prediction
  drift, 20 features' drift and missing rate against the kept training profile, schema checks,
  thresholds — from parquet on disk to the frame (the log's reading is part of it).
* **one window**: one new window of 10^6 rows scored against the kept reference (20 features'
  drift and missing rate), per 10^6 rows.
* **anchor**: NannyML 0.13 (its own venv, ``bench/.venvs/nannyml``, made here once) doing
  realized performance (accuracy, roc_auc, f1) + univariate drift of the 20 features over the same
  daily windows, on the same rows, already in memory (its reading is not timed). NannyML is
  run at ``--anchor-rows`` (10^6 by default: at 10^7 rows it needs tens of GB and many minutes),
  and mlnb is timed on those same rows too, so the ratio compares equal work.
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VENV = Path(os.environ.get("MLNB_BENCH_VENVS") or ROOT / "bench" / ".venvs") / "nannyml"
#: nannyml 0.13.1 imports statsmodels without declaring it
NANNYML = ["nannyml==0.13.1", "statsmodels"]
DAY0 = 1_790_000_000.0 - 1_790_000_000.0 % 86_400  # a UTC midnight


def simulate(folder: Path, rows: int, features: int, days: int, seed: int = 0) -> dict:
    """A project whose model ``bench`` (registered with its training data) logged ``rows``
    predictions with outcomes over ``days`` days; from the middle day on, two features shift."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import mlnb
    from mlnb.monitor._log import outcomes_dir, write_partitioned

    os.chdir(folder)
    mlnb.init(str(folder))
    rng = np.random.default_rng(seed)
    names = [f"f{i}" for i in range(features)]
    weights = rng.normal(0, 1, features)

    def inputs(n: int, shifted: bool) -> pd.DataFrame:
        X = rng.normal(0, 1, (n, features))
        if shifted:
            X[:, :2] = X[:, :2] * 0.4 + 0.5
        return pd.DataFrame(X, columns=names)

    train = inputs(100_000, False)
    y_train = rng.random(len(train)) < 1 / (1 + np.exp(-(train.to_numpy() @ weights)))
    model = LogisticRegression(max_iter=200).fit(train, y_train)
    mlnb.models.register("bench", model, data=train)
    per_day = rows // days
    from mlnb._project import current_project

    project = current_project()
    for d in range(days):
        X = inputs(per_day, d >= days // 2)
        logit = X.to_numpy() @ weights
        proba = model.predict_proba(X)[:, 1]
        y = (rng.random(per_day) < 1 / (1 + np.exp(-logit))).astype(int)
        ids = np.char.add(f"{d}-", np.arange(per_day).astype(str))
        times = DAY0 + d * 86_400 + np.sort(rng.uniform(0, 86_399, per_day))
        mlnb.monitor.log_predictions("bench", X, (proba > 0.5).astype(int), ids=ids, proba=proba, time=times,
                                     version=1)
        # the outcome log's own format, written directly (log_outcomes also counts matches: an O(log) scan per call)
        write_partitioned(outcomes_dir(project, "bench"),
                          pd.DataFrame({"id": ids, "outcome": y, "time": times + 3600.0}))
    return {"names": names, "train": train}


def simulated(folder: Path, rows: int, features: int, days: int) -> dict:
    """:func:`simulate` into ``folder``, or the project a former run left there with the same sizes
    (its rules and monitor cache removed, its log restored to what the simulation wrote)."""
    import pickle
    import shutil

    sizes = [rows, features, days]
    saved = folder / "bench-sim.pickle"
    if saved.is_file():
        kept = pickle.loads(saved.read_bytes())
        if kept["sizes"] == sizes:
            os.chdir(folder)
            for extra in (folder / ".mlnb" / "predictions" / "bench").glob("date=*/part-*.parquet"):
                if str(extra.relative_to(folder)) not in kept["files"]:  # a former run's new batch
                    extra.unlink()
            shutil.rmtree(folder / ".mlnb" / "monitor-cache", ignore_errors=True)
            (folder / "monitoring.yaml").unlink(missing_ok=True)
            return kept["sim"]
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    sim = simulate(folder, rows, features, days)
    files = [str(f.relative_to(folder)) for f in (folder / ".mlnb" / "predictions" / "bench").glob("date=*/part-*.parquet")]
    saved.write_bytes(pickle.dumps({"sizes": sizes, "sim": sim, "files": files}))
    return sim


#: the 20 rules `mlnb monitor check` evaluates
RULES = ["accuracy < 0.5", "precision < 0.5", "recall < 0.5", "f1 < 0.5", "roc_auc < 0.5", "accuracy outside band",
         "estimated.accuracy < 0.5", "estimated.roc_auc < 0.5", "estimated.f1 < 0.5", "drift.share > 0.5",
         "prediction.drift > 0.5", "missing.f0 > 0.1", *(f"drift.f{i} > 0.5" for i in range(8))]


def time_report() -> float:
    import mlnb

    t = time.perf_counter()
    mlnb.monitor.report("bench", window="1D", reference="training")
    return time.perf_counter() - t


def time_mlnb(rows: int, full: bool = True) -> dict[str, float]:
    import mlnb

    out: dict[str, float] = {}
    t, cpu = time.perf_counter(), time.process_time()
    report = mlnb.monitor.report("bench", window="1D", reference="training")
    out["report_s"], out["report_cpu_s"] = time.perf_counter() - t, time.process_time() - cpu
    if full:  # the first report of a process also imports scipy.stats and numba (~2 s): once more
        t, cpu = time.perf_counter(), time.process_time()
        mlnb.monitor.report("bench", window="1D", reference="training")
        out["report_warm_s"], out["report_warm_cpu_s"] = time.perf_counter() - t, time.process_time() - cpu
    frame = report.to_frame()
    out["windows"] = float(frame["window"].nunique())
    out["rows"] = float(sum(w.n for w in report.windows))
    out["alerting_windows"] = float(frame.loc[frame["alert"], "window"].nunique())
    if full:
        out.update(time_read_floor())
        out.update(time_window(len(report.windows)))
        out.update(time_check())
    out["load_average"] = os.getloadavg()[0]
    return out


def time_read_floor() -> dict[str, float]:
    """What only reading costs: the columns a report reads, straight from the files with pyarrow
    (``raw_read_s``: every prediction file's columns and the outcome log's); then the same as the
    report reads them (window by window, and the outcome log into its id index)."""
    import pyarrow.parquet as pq

    from mlnb._project import current_project
    from mlnb.monitor._join import OutcomeIndex
    from mlnb.monitor._windows import LogReader, parse_window

    root = current_project().mlnb_dir
    reader = LogReader(root / "predictions" / "bench")
    cols = ["id", "prediction", "proba", "latency_ms", *(c for c in reader.names if c.startswith("feature."))]
    t, cpu = time.perf_counter(), time.process_time()
    for f in reader.files:
        pq.read_table(f, columns=["time", *cols])
    for f in sorted((root / "outcomes" / "bench").glob("date=*/*.parquet")):
        pq.read_table(f, columns=["id", "outcome", "time"])
    raw, raw_cpu = time.perf_counter() - t, time.process_time() - cpu
    t = time.perf_counter()
    for w in reader.plan(parse_window("1D")):
        reader.read(w, cols, False)
    windows = time.perf_counter() - t
    t = time.perf_counter()
    OutcomeIndex.read(root / "outcomes" / "bench")
    return {"raw_read_s": raw, "raw_read_cpu_s": raw_cpu, "read_windows_s": windows, "read_outcomes_s": time.perf_counter() - t}


def time_window(n_windows: int) -> dict[str, float]:
    """One new window of 10^6 rows (or the latest days' rows if fewer) scored against the kept profile:
    mlnb.checks' drift of the 20 features, and the monitor's whole window (every metric, read included)."""
    from types import SimpleNamespace

    import mlnb
    from mlnb._project import current_project
    from mlnb.checks._drift import score
    from mlnb.models import _files
    from mlnb.monitor import _report
    from mlnb.monitor._windows import LogReader, parse_window

    version = _report._version("bench")
    profile = mlnb.checks.load_profile(_files.local_path(current_project(), SimpleNamespace(
        md5=version.profile_md5, ref="bench profile", is_dir=False)))
    reader = LogReader(current_project().mlnb_dir / "predictions" / "bench")
    cols = [c for c in reader.names if c.startswith("feature.")]
    window = reader.table(cols, DAY0 + (n_windows - 1) * 86_400 - 2 * 86_400).to_pandas()
    window = window.iloc[-min(len(window), 1_000_000):]
    window.columns = [c[len("feature."):] for c in window.columns]
    score(profile, window.iloc[:5000])  # the compiled kernels loaded from their cache first
    t, cpu = time.perf_counter(), time.process_time()
    score(profile, window)
    out = {"window_s_per_1e6": (time.perf_counter() - t) / len(window) * 1e6, "window_rows": float(len(window)),
           "window_cpu_s_per_1e6": (time.process_time() - cpu) / len(window) * 1e6}
    rows = parse_window(len(window))
    last = reader.plan(rows)[-1]
    setup = _report._setup("bench", "bench", reader, rows, [last], "training", None, 30, frozenset(_report.GROUPS))
    _report._fit_from_baseline(setup, reader, reader.plan(rows), {0})
    t = time.perf_counter()
    _report._score_window(setup, reader, last)
    out["monitor_window_s_per_1e6"] = (time.perf_counter() - t) / last.n * 1e6
    return out


def time_check() -> dict[str, float]:
    """`mlnb monitor check bench` with 20 rules, the monitor's caches on (the report timings above
    run with them off): computed (nothing kept), then on the unchanged log (in the process, and as
    the command, a new Python), then after a new batch of 1,000 predictions in the latest window
    (in the process, and after another batch as the command); and the full report after a new
    batch when its windows were kept (only the latest window is scored again)."""
    import resource
    import shutil

    import mlnb
    from mlnb._project import current_project

    os.environ["MLNB_MONITOR_CACHE"] = "1"
    for rule in RULES:
        mlnb.monitor.add_rule(rule, model="bench")
    project = current_project()
    shutil.rmtree(project.mlnb_dir / "monitor-cache", ignore_errors=True)
    t = time.perf_counter()
    mlnb.monitor.check("bench", send=False)
    cold = time.perf_counter() - t
    t = time.perf_counter()
    mlnb.monitor.check("bench", send=False)
    inproc = time.perf_counter() - t

    def command() -> tuple[float, float]:
        """Wall and CPU seconds of `mlnb monitor check bench` in a new Python."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "mlnb", "monitor", "check", "bench", "--no-send"],
                              cwd=project.root, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode not in (0, 1):
            print(f"mlnb monitor check failed: {proc.stderr[-1000:]}", file=sys.stderr)
        return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    command()  # the first run of a changed mlnb writes its bytecode
    cli, cli_cpu = command()
    t = time.perf_counter()
    mlnb.monitor.report("bench", window="1D", reference="training")  # its windows kept
    report_kept = time.perf_counter() - t
    import pandas as pd

    from mlnb.monitor._windows import LogReader

    reader = LogReader(project.mlnb_dir / "predictions" / "bench")
    last = float(reader.table(["time"]).column("time").to_numpy().max())
    features = [c[len("feature."):] for c in reader.names if c.startswith("feature.")]

    def batch(seed: int) -> None:
        rng = np.random.default_rng(seed)
        X = pd.DataFrame(rng.normal(0, 1, (1000, len(features))), columns=features)
        proba = rng.random(1000)
        mlnb.monitor.log_predictions("bench", X, (proba > 0.5).astype(int), ids=[f"new{seed}-{i}" for i in range(1000)],
                                     proba=proba, time=np.full(1000, last), version=1)

    batch(1)
    t = time.perf_counter()
    mlnb.monitor.check("bench", send=False)
    fresh = time.perf_counter() - t
    batch(2)
    fresh_cli, fresh_cli_cpu = command()
    batch(3)
    t = time.perf_counter()
    mlnb.monitor.report("bench", window="1D", reference="training")
    report_new = time.perf_counter() - t
    os.environ["MLNB_MONITOR_CACHE"] = "0"
    return {"check_cold_s": cold, "check_s": inproc, "check_cli_s": cli, "check_cli_cpu_s": cli_cpu,
            "check_new_batch_s": fresh, "check_new_batch_cli_s": fresh_cli, "check_new_batch_cli_cpu_s": fresh_cli_cpu,
            "report_keeping_windows_s": report_kept, "report_new_batch_s": report_new, "check_rules": float(len(RULES))}


NANNYML_SCRIPT = r'''
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd, nannyml as nml
args = json.loads(sys.argv[1])
log = pd.read_parquet(args["log"])
ref = pd.read_parquet(args["reference"])
names = args["names"]
t = time.perf_counter()
drift = nml.UnivariateDriftCalculator(column_names=names, timestamp_column_name="timestamp", chunk_period="D",
                                      continuous_methods=["kolmogorov_smirnov", "wasserstein"])
drift.fit(ref)
d = drift.calculate(log)
perf = nml.PerformanceCalculator(y_pred_proba="proba", y_pred="prediction", y_true="outcome", timestamp_column_name="timestamp",
                                 problem_type="classification_binary", metrics=["accuracy", "roc_auc", "f1"], chunk_period="D")
perf.fit(log[log["timestamp"] < log["timestamp"].min() + pd.Timedelta(days=7)])
p = perf.calculate(log)
print(json.dumps({"seconds": time.perf_counter() - t, "version": nml.__version__, "chunks": len(p.filter(period="analysis").to_df())}))
'''


def ensure_nannyml() -> Path | None:
    from runs import ensure_venv  # bench/runs.py: the venv helper every anchor's venv shares

    return ensure_venv(VENV, NANNYML, NANNYML[0])


def time_nannyml(python: Path, work: Path, names: list[str], train) -> dict | None:  # noqa: ANN001
    import pandas as pd

    import mlnb

    log = mlnb.monitor.read_log("bench", ["prediction", "proba", *("feature." + n for n in names)])
    log.columns = [c.removeprefix("feature.") for c in log.columns]
    log["timestamp"] = pd.to_datetime(log["time"], unit="s")
    log.to_parquet(work / "log.parquet")
    train.assign(timestamp=pd.Timestamp(DAY0 - 86_400, unit="s")).to_parquet(work / "reference.parquet")
    proc = subprocess.run([str(python), "-c", NANNYML_SCRIPT, json.dumps(
        {"log": str(work / "log.parquet"), "reference": str(work / "reference.parquet"), "names": names})],
        capture_output=True, text=True, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    if proc.returncode:
        print(f"NannyML failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--anchor-rows", type=int, default=1_000_000)
    ap.add_argument("--no-anchor", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="alternated runs of mlnb and the anchor (medians)")
    ap.add_argument("--quick", action="store_true", help="small sizes, mlnb only (CI smoke)")
    ap.add_argument("--log-dir", type=Path, metavar="DIR",
                    help="keep the simulated project in DIR and reuse it when DIR already holds one of the same "
                         "size (the simulation takes most of a full run); its monitor cache is cleared first")
    args = ap.parse_args()
    os.environ["MLNB_MONITOR_CACHE"] = "0"  # reports timed as computed; time_check turns the caches on
    if args.quick:
        args.rows, args.features, args.days, args.no_anchor = 30_000, 5, 6, True
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        sim = simulated(args.log_dir or Path(tmp) / "big", args.rows, args.features, args.days)
        print(f"simulated {args.rows:,} predictions in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        results["mlnb"] = time_mlnb(args.rows)
        python = None if args.no_anchor else ensure_nannyml()
        if python is not None:
            if args.anchor_rows != args.rows:
                small = Path(tmp) / "small"
                small.mkdir()
                sim = simulate(small, args.anchor_rows, args.features, args.days)
            # alternated repetitions, medians: both sides see the same load
            ours, theirs = [], []
            for _ in range(args.repeat):
                ours.append(time_report())
                anchor = time_nannyml(python, Path(os.getcwd()), sim["names"], sim["train"]) or {}
                if anchor:
                    theirs.append(anchor["seconds"])
            results["mlnb_at_anchor_size"] = {"report_s": float(np.median(ours)), "runs": ours}
            if theirs:
                results["nannyml"] = {**anchor, "seconds": float(np.median(theirs)), "runs": theirs}
    ours = results["mlnb"]
    print(f"full report: {ours['rows']:,.0f} predictions, {args.features} features, {ours['windows']:.0f} windows: "
          f"{ours['report_s']:.2f} s, {ours['report_cpu_s']:.2f} s of CPU (target <= 2 s); load average "
          f"{ours['load_average']:.1f} on {os.cpu_count()} cores")
    if "report_warm_s" in ours:
        print(f"the same report again in the process (imports done): {ours['report_warm_s']:.2f} s, "
              f"{ours['report_warm_cpu_s']:.2f} s of CPU")
    print(f"reading alone: the report's columns straight from the files {ours['raw_read_s']:.2f} s, "
          f"{ours['raw_read_cpu_s']:.2f} s of CPU (the report, again in the process: "
          f"{ours.get('report_warm_s', ours['report_s']) / ours['raw_read_s']:.1f}x that in time, "
          f"{ours.get('report_warm_cpu_s', ours['report_cpu_s']) / ours['raw_read_cpu_s']:.1f}x in CPU); window by "
          f"window {ours['read_windows_s']:.2f} s; the outcome log into its id index {ours['read_outcomes_s']:.2f} s")
    print(f"one window scored against the kept reference: {ours['window_s_per_1e6']:.3f} s per 10^6 rows "
          f"({ours['window_cpu_s_per_1e6']:.3f} s of CPU; {ours['window_rows']:,.0f} rows, every feature's drift; "
          f"target <= 0.1 s); every metric of the window, read included: {ours['monitor_window_s_per_1e6']:.3f} s "
          "per 10^6 rows")
    print(f"mlnb monitor check with {ours['check_rules']:.0f} rules (target <= 0.5 s): unchanged log "
          f"{ours['check_s']:.2f} s in the process, {ours['check_cli_s']:.2f} s as the command "
          f"({ours['check_cli_cpu_s']:.2f} s of CPU); computed {ours['check_cold_s']:.2f} s; after a new batch in "
          f"the latest window {ours['check_new_batch_s']:.2f} s in the process, {ours['check_new_batch_cli_s']:.2f} s "
          f"as the command ({ours['check_new_batch_cli_cpu_s']:.2f} s of CPU)")
    print(f"full report with its windows kept, after a new batch in the latest window: {ours['report_new_batch_s']:.2f} s "
          f"(keeping them the first time: {ours['report_keeping_windows_s']:.2f} s)")
    anchor = results.get("nannyml")
    if anchor:
        same = results["mlnb_at_anchor_size"]["report_s"]
        print(f"at {args.anchor_rows:,} rows (medians of {args.repeat} alternated runs): mlnb {same:.2f} s, NannyML "
              f"{anchor['version']} {anchor['seconds']:.2f} s (realized performance + univariate drift only): "
              f"{anchor['seconds'] / same:.1f}x")
    print(json.dumps(results, default=str))


if __name__ == "__main__":
    main()
