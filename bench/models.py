"""Model registry benchmarks, each against its anchors measured in the same run.

    python bench/models.py              # full: a ~100 MB forest, 10,000 versions, 10^6-row holdout
    python bench/models.py --quick      # CI smoke: a few-MB forest, 500 versions, 20,000 rows
    python bench/models.py --no-anchor  # mlnb, joblib and skops only (no MLflow venv)

| what                                                 | anchor                                    | target             |
|------------------------------------------------------|-------------------------------------------|--------------------|
| register + load a ~100 MB scikit-learn model          | joblib dump + load (floor); MLflow        | <= 1.5x joblib; >= 3x faster than MLflow |
| alias move with two metric gates                      | MLflow set_registered_model_alias         | <= 20 ms           |
| models log with 10,000 versions / REST listing        | MLflow search_model_versions              | <= 50 ms / <= 100 ms p95 |
| evaluate + paired regression test, 10^6-row holdout   | scikit-learn metrics alone                | <= 1.5x            |

MLflow (``MLFLOW_REQUIREMENTS`` of bench/runs.py, in the venv bench/runs.py makes and keeps in
bench/.venvs/mlflow) runs in a worker process that answers one command at a time, so each
repetition alternates between the tools; every tool times itself in its own process, with a local
SQLite store. skops' own dumps + load is shown as a row of its own: it is the floor of any
registry that saves scikit-learn models without pickle. Peak memory is each tool's peak RSS above
the loaded model, each in a fresh process. Row 3 seeds the versions with bulk SQL inserts into
each tool's own schema, copying one real version (registering 10,000 versions one by one would
time the setup, not the listing). Row 4 excludes ``predict`` on both sides: both get the same
precomputed labels and probabilities.
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from _fair import rss_peak, rss_peak_reset  # noqa: E402
from runs import ensure_mlflow  # noqa: E402 - the one MLflow venv all benchmarks share

GATES = ["auc >= 0.8", "auc >= champion.auc - 0.01"]


START = time.perf_counter()


def phase(what: str) -> None:
    """Progress on stderr (CI hides it), so a slow phase is easy to spot."""
    print(f"[{time.perf_counter() - START:6.1f}s] {what}", file=sys.stderr, flush=True)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def make_model(rows: int, trees: int, path: Path) -> Path:
    """An ExtraTrees forest grown to full depth on noisy labels (about 5.5 MB a tree at 50,000
    rows), dumped with joblib once so every process starts from the same object."""
    import joblib
    import numpy as np
    from sklearn.ensemble import ExtraTreesClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 20))
    y = (X[:, 0] + rng.normal(size=rows) > 0).astype(int)
    model = ExtraTreesClassifier(n_estimators=trees, max_features=1, random_state=0, n_jobs=1).fit(X, y)
    joblib.dump(model, path)
    return path


# -- the tools' register + load, one repetition each -------------------------------------------


def joblib_round(model: Any, work: Path) -> tuple[float, float]:
    import joblib

    path = work / "model.joblib"
    t = time.perf_counter()
    joblib.dump(model, path)
    saved = time.perf_counter()
    joblib.load(path)
    return saved - t, time.perf_counter() - saved


def skops_round(model: Any, work: Path) -> tuple[float, float]:
    """skops alone, as its docs show: dump, list the untrusted types, load trusting them."""
    import skops.io as sio

    path = work / "model.skops"
    t = time.perf_counter()
    sio.dump(model, path)
    saved = time.perf_counter()
    sio.load(path, trusted=sio.get_untrusted_types(file=path))
    return saved - t, time.perf_counter() - saved


def mlnb_round(model: Any, rep: int) -> tuple[float, float]:
    """A fresh version each time: one parameter differs, so the bytes (and the hash) are new."""
    import mlnb

    model.set_params(random_state=1000 + rep)
    t = time.perf_counter()
    version = mlnb.models.register("big", model)
    saved = time.perf_counter()
    mlnb.models.load(version.ref)
    return saved - t, time.perf_counter() - saved


def memory_child(kind: str, model_path: str, work: str) -> None:
    """Run in its own process: the peak RSS of one save + load above the loaded model."""
    import joblib

    os.chdir(work)
    model = joblib.load(model_path)
    if kind == "mlnb":
        import mlnb

        mlnb.init()
        mlnb.models.register("warm", _tiny_model(0))  # imports and DVC's repo out of the peak
    base = rss_peak_reset()
    {"joblib": lambda: joblib_round(model, Path(work)), "skops": lambda: skops_round(model, Path(work)),
     "mlnb": lambda: mlnb_round(model, 0)}[kind]()
    print(json.dumps({"extra": rss_peak() - base, "base": base}))


def memory(kind: str, model_path: Path, work: Path) -> subprocess.Popen[str]:
    """Start the memory child of ``kind``; :func:`peak_of` reads its answer. The children run
    side by side: each one's peak is its own, and the run stays short."""
    folder = work / f"memory-{kind}"
    folder.mkdir()
    if kind == "mlnb":
        subprocess.run(["git", "init", "-q"], cwd=folder, check=True)
    return subprocess.Popen([sys.executable, __file__, "--memory-child", kind, str(model_path), str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def peak_of(child: subprocess.Popen[str]) -> dict[str, int]:
    out, err = child.communicate()
    if child.returncode:
        raise RuntimeError(f"a memory child failed:\n{err[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def _tiny_model(seed: int) -> Any:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(200, 4))
    return LogisticRegression(C=1.0 + seed).fit(X, (X[:, 0] > 0).astype(int))


# -- alias moves and the listing ------------------------------------------------------------------


def mlnb_alias_setup() -> None:
    import mlnb

    mlnb.models.register("gated", _tiny_model(1), metrics={"auc": 0.90})
    mlnb.models.register("gated", _tiny_model(2), metrics={"auc": 0.905})
    mlnb.models.promote("gated@1", to="champion", gates=GATES).raise_for_failures()  # warm-up


def mlnb_alias_move(rep: int) -> float:
    import mlnb

    t = time.perf_counter()
    done = mlnb.models.promote(f"gated@{1 + rep % 2}", to="champion", gates=GATES)
    took = time.perf_counter() - t
    assert done.moved and len(done.rows) == 2, done
    return took


def mlnb_seed_versions(n: int) -> None:
    """``n`` versions of model ``listing``: one registered for real (with a signature from a
    10-column frame, metrics, a run), then copied with bulk inserts; ``champion`` on one."""
    import numpy as np
    import pandas as pd
    from sqlalchemy import select

    import mlnb
    from mlnb._project import current_project
    from mlnb.store import registry
    from mlnb.store._schema import model_versions as mv

    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(100, 10)), columns=[f"x{i}" for i in range(10)])
    with mlnb.start_run("seed"):
        first = mlnb.models.register("listing", _tiny_model(3), data=frame, metrics={"auc": 0.9, "f1": 0.8})
    with registry(current_project()).write() as conn:
        row = dict(conn.execute(select(mv).where(mv.c.id == first.id)).first()._mapping)
        row.pop("id")
        conn.execute(mv.insert(), [{**row, "version": i, "md5": f"{i:032x}", "created_at": row["created_at"] + i,
                                    "metrics": json.dumps({"auc": 0.8 + (i % 100) / 1000, "f1": 0.8})}
                                   for i in range(2, n + 1)])
    mlnb.models.set_alias(f"listing@{n // 2}", "champion")


def mlnb_listing(repeat: int, n: int, limit: int | None = None) -> list[float]:
    """``mlnb.models.log``: the whole table, or the first page of ``limit`` (what the REST route reads)."""
    import mlnb

    times = []
    for _ in range(repeat + 1):
        t = time.perf_counter()
        table = mlnb.models.log("listing", limit=limit)
        times.append(time.perf_counter() - t)
        assert len(table) == (limit or n), len(table)
    return times[1:]  # the first warmed the caches


def rest_listing(root: Path, work: Path, repeat: int) -> list[float] | str:
    """``GET /mlnb/api/models/listing?limit=50`` against a real JupyterLab, when this checkout has
    the route; otherwise the reason it was skipped."""
    from mlnb.server._routes import ROUTES

    if not any("/models/([^/]+)" in str(route[0]) for route in ROUTES):
        return "no /mlnb/api/models/<name> route in this checkout (it comes with the panel's REST routes)"
    from lab import time_requests  # bench/lab.py: the same request timing as the runs endpoint's
    from tests.lab._lab import child_env, start_lab

    (work / "home").mkdir(exist_ok=True)
    (work / "lab").mkdir()
    lab = start_lab(root, work / "lab", child_env(work / "home"))
    try:
        path = "mlnb/api/models/listing?limit=50"
        status, body = lab.api(path)
        assert status == 200 and len(body["versions"]) == 50, (status, str(body)[:300])
        return time_requests(lab, path, repeat)
    finally:
        lab.stop()


# -- evaluate + the paired test ------------------------------------------------------------------


def holdout(rows: int) -> tuple[Any, Any, Any, Any, Any]:
    """Labels and two classifiers' probabilities/labels on the same rows (a challenger a bit better)."""
    import numpy as np

    rng = np.random.default_rng(0)
    signal = rng.normal(size=rows)
    y = (signal + rng.normal(size=rows) > 0).astype(np.int64)
    proba_a = 1 / (1 + np.exp(-(1.2 * signal + 0.6 * rng.normal(size=rows))))
    proba_b = 1 / (1 + np.exp(-(1.1 * signal + 0.7 * rng.normal(size=rows))))
    return y, proba_a, (proba_a >= 0.5).astype(np.int64), proba_b, (proba_b >= 0.5).astype(np.int64)


def sklearn_metrics(y: Any, pred: Any, proba: Any) -> dict[str, float]:
    """The six metrics with scikit-learn alone, on precomputed predictions."""
    import inspect

    from sklearn import metrics as skm

    renamed = "y_proba" in inspect.signature(skm.log_loss).parameters  # y_pred before scikit-learn 1.9
    return {"accuracy": skm.accuracy_score(y, pred), "precision": skm.precision_score(y, pred),
            "recall": skm.recall_score(y, pred), "f1": skm.f1_score(y, pred),
            "roc_auc": skm.roc_auc_score(y, proba),
            "log_loss": skm.log_loss(y, y_proba=proba) if renamed else skm.log_loss(y, proba)}


def mlnb_evaluate(y: Any, pred_a: Any, proba_a: Any, pred_b: Any) -> tuple[dict[str, float], dict[str, Any]]:
    """What ``evaluate`` and the ``not worse than`` gate compute once the models have predicted:
    the metrics, the chart data (confusion matrix, ROC points) and the paired test."""
    import numpy as np

    from mlnb.models._metrics import scored
    from mlnb.models._stats import paired_test

    _, values, _ = scored(y, pred_a, np.column_stack([1 - proba_a, proba_a]), np.array([0, 1]))
    return values, paired_test(y, pred_a, pred_b, True, None)


# -- MLflow, in its own venv, one command at a time -------------------------------------------


MLFLOW_WORKER = r'''
import json, logging, os, resource, sqlite3, sys, time, warnings
warnings.filterwarnings("ignore")
work = sys.argv[1]
os.chdir(work)
os.environ["MLFLOW_TRACKING_URI"] = "sqlite:///" + os.path.join(work, "mlflow.db")
for name in ("mlflow", "alembic"):
    logging.getLogger(name).setLevel(logging.ERROR)
import joblib, mlflow, mlflow.sklearn
from mlflow.tracking import MlflowClient
client = MlflowClient()
mlflow.set_experiment("bench")
state = {}

def reset_peak():
    open("/proc/self/clear_refs", "w").write("5")
    return status_kb("VmRSS") * 1024

def status_kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])

def register_load(rep, fmt="skops"):
    # pip_requirements given: no inference of the environment (MLflow's documented fast path);
    # skops (MLflow's default format) needs the tree type named, as its error message says
    model = state["model"]
    trust = {"skops_trusted_types": ["sklearn.tree._tree.Tree"]} if fmt == "skops" else {}
    t = time.perf_counter()
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"],
                                        serialization_format=fmt, **trust)
    logged = time.perf_counter()
    version = mlflow.register_model(info.model_uri, "big")
    saved = time.perf_counter()
    mlflow.sklearn.load_model(f"models:/big/{version.version}")
    done = time.perf_counter()
    return {"save": saved - t, "load": done - saved, "log_model": logged - t, "register": saved - logged}

def setup(cmd):
    state["model"] = joblib.load(cmd["model"])
    client.create_registered_model("gated")
    for i in (1, 2):
        client.create_model_version("gated", source=os.path.join(work, f"gated-{i}"))
    client.set_registered_model_alias("gated", "champion", "1")  # warm-up
    return {"version": mlflow.__version__}

def alias(cmd):
    t = time.perf_counter()
    client.set_registered_model_alias("gated", "champion", str(1 + cmd["rep"] % 2))
    return {"t": time.perf_counter() - t}

def seed(cmd):
    client.create_registered_model("listing")
    client.create_model_version("listing", source=os.path.join(work, "listing-1"))
    db = sqlite3.connect(os.path.join(work, "mlflow.db"))
    cur = db.execute("select * from model_versions where name = 'listing'")
    names = [d[0] for d in cur.description]
    row = dict(zip(names, cur.fetchone()))
    rows = []
    for i in range(2, cmd["n"] + 1):
        rows.append(tuple({**row, "version": i, "creation_time": row["creation_time"] + i,
                           "source": os.path.join(work, f"listing-{i}")}[n] for n in names))
    db.executemany(f"insert into model_versions ({', '.join(names)}) values ({', '.join('?' * len(names))})", rows)
    db.commit()
    db.close()
    client.set_registered_model_alias("listing", "champion", str(cmd["n"] // 2))
    return {}

def listing(cmd):
    times = []
    for _ in range(cmd["repeat"] + 1):
        t = time.perf_counter()
        found = client.search_model_versions("name = 'listing'")
        times.append(time.perf_counter() - t)
        assert len(found) == cmd["n"], len(found)
    return {"times": times[1:]}

def memory(cmd):
    state["model"] = joblib.load(cmd["model"])
    register_load(0, "skops") if cmd.get("warm") else None
    base = reset_peak()
    register_load(1, "skops")
    return {"extra": status_kb("VmHWM") * 1024 - base, "base": base}

ops = {"setup": setup, "register_load": lambda c: register_load(c["rep"], c["format"]), "alias": alias, "seed": seed,
       "listing": listing, "memory": memory}
for line in sys.stdin:
    cmd = json.loads(line)
    print(json.dumps(ops[cmd["op"]](cmd)), flush=True)
'''


class MLflow:
    """The MLflow worker: ``ask(op, ...)`` sends one command and returns its answer."""

    def __init__(self, python: Path, work: Path) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([str(python), "-c", MLFLOW_WORKER, str(work)], cwd=work, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})

    def ask(self, op: str, **kw: Any) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"op": op, **kw}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the MLflow worker died during {op}:\n{self.proc.stderr.read()[-3000:]}")  # type: ignore[union-attr]
        return json.loads(line)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(60)


# -- the run -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a CI smoke run")
    parser.add_argument("--no-anchor", action="store_true", help="skip MLflow")
    parser.add_argument("--memory-child", nargs=3, metavar=("KIND", "MODEL", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child)
        return
    if args.quick:
        args.rows, args.trees, args.versions, args.holdout, args.repeat, args.fast_repeat = 5_000, 3, 500, 20_000, 1, 5
        args.model_repeat = 1
    else:
        args.rows, args.trees, args.versions, args.holdout, args.repeat, args.fast_repeat = 50_000, 18, 10_000, 10**6, 5, 50
        args.model_repeat = 3  # a repetition moves about 1 GB through five tools
    python = None if args.no_anchor else ensure_mlflow()
    with tempfile.TemporaryDirectory(prefix="mlnb-bench-models-") as tmp:
        base = Path(tmp)
        try:
            run(args, base, python)
        finally:
            os.chdir(ROOT)  # leave the folder before it is removed


def run(args: argparse.Namespace, base: Path, python: Path | None) -> None:
    import joblib
    import skops

    import mlnb

    flow = MLflow(python, base / "mlflow") if python else None  # its imports overlap the training
    model_path = make_model(args.rows, args.trees, base / "model.joblib")
    model = joblib.load(model_path)
    size = model_path.stat().st_size
    project = base / "project"
    project.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    os.chdir(project)
    mlnb.init()
    mlnb.models.register("warm", _tiny_model(0))
    mlnb.models.load("warm")
    flow_version = flow.ask("setup", model=str(model_path))["version"] if flow else None

    phase("register + load")
    # 1. register + load, alternated
    times: dict[str, list[tuple[float, float]]] = {"joblib": [], "skops": [], "mlnb": [], "mlflow": [],
                                                   "mlflow-pickle": []}
    scratch = base / "scratch"
    scratch.mkdir()
    for rep in range(args.model_repeat):
        times["joblib"].append(joblib_round(model, scratch))
        times["skops"].append(skops_round(model, scratch))
        times["mlnb"].append(mlnb_round(model, rep))
        if flow:
            for kind, fmt in (("mlflow", "skops"), ("mlflow-pickle", "cloudpickle")):
                answer = flow.ask("register_load", rep=rep, format=fmt)
                times[kind].append((answer["save"], answer["load"]))
    phase("memory, one process each")
    children = {kind: memory(kind, model_path, base) for kind in ("joblib", "skops", "mlnb")}
    worker = MLflow(python, base / "mlflow-memory") if python else None
    mem = {"mlflow": worker.ask("memory", model=str(model_path), warm=True)} if worker else {}
    mem.update({kind: peak_of(child) for kind, child in children.items()})
    if worker:
        worker.close()

    phase("alias moves")
    # 2. alias moves with two metric gates
    mlnb_alias_setup()
    moves: dict[str, list[float]] = {"mlnb": [], "mlflow": []}
    for rep in range(args.fast_repeat):
        moves["mlnb"].append(mlnb_alias_move(rep + 1))
        if flow:
            moves["mlflow"].append(flow.ask("alias", rep=rep + 1)["t"])

    phase("listing")
    # 3. the listing
    mlnb_seed_versions(args.versions)
    if flow:
        flow.ask("seed", n=args.versions)
    listing: dict[str, list[float]] = {"mlnb": [], "mlflow": [], "page": []}
    for _ in range(max(1, args.fast_repeat // 5)):
        listing["mlnb"] += mlnb_listing(5, args.versions)
        listing["page"] += mlnb_listing(5, args.versions, limit=50)
        if flow:
            listing["mlflow"] += flow.ask("listing", n=args.versions, repeat=5)["times"]
    rest = rest_listing(project, base, args.fast_repeat)
    if flow:
        flow.close()

    phase("evaluate")
    # 4. evaluate + the paired test
    y, proba_a, pred_a, proba_b, pred_b = holdout(args.holdout)
    theirs = sklearn_metrics(y, pred_a, proba_a)
    ours, test = mlnb_evaluate(y, pred_a, proba_a, pred_b)
    worst = max(abs(ours[k] - theirs[k]) for k in theirs)
    assert worst <= 1e-12, (ours, theirs)
    evaluation: dict[str, list[float]] = {"mlnb": [], "sklearn": []}
    for _ in range(max(args.repeat, 3)):
        t = time.perf_counter()
        mlnb_evaluate(y, pred_a, proba_a, pred_b)
        evaluation["mlnb"].append(time.perf_counter() - t)
        t = time.perf_counter()
        sklearn_metrics(y, pred_a, proba_a)
        evaluation["sklearn"].append(time.perf_counter() - t)

    # the report
    print(f"mlnb vs joblib {joblib.__version__}, skops {skops.__version__}, MLflow {flow_version or '(not run)'}; "
          f"{'quick' if args.quick else 'full'} mode")
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    print(f"machine: {os.cpu_count()} cores ({cpu}); load average at the end "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (a shared machine: compare the ratios)")
    med = {k: (statistics.median(a + b for a, b in v), statistics.median(a for a, _ in v),
               statistics.median(b for _, b in v)) for k, v in times.items() if v}
    print(f"\n1. register + load: ExtraTrees, {args.trees} trees, joblib file {size / 2**20:.0f} MiB; "
          f"medians of {args.model_repeat} alternated repetitions")
    print(f"   {'':<44} {'total':>8} {'save':>8} {'load':>8}  {'peak RSS above model':>20}")
    label = {"joblib": "joblib.dump + load (floor)", "skops": "skops dump + load (trusted types), alone",
             "mlnb": "mlnb register + load (skops, DVC cache)", "mlflow": "MLflow log_model + register + load",
             "mlflow-pickle": "  the same, serialization_format=cloudpickle"}
    for kind, (total, save, load) in med.items():
        extra = mem.get(kind, {}).get("extra")
        extra_s = f"{extra / 2**20:8.0f} MiB" if extra is not None else "-"
        print(f"   {label[kind]:<44} {total:7.2f}s {save:7.2f}s {load:7.2f}s  {extra_s:>20}")
    ratio = med["mlnb"][0] / med["joblib"][0]
    print(f"   mlnb / joblib  {ratio:5.2f}x   target <= 1.5x  {'ok' if ratio <= 1.5 else 'MISSED'}")
    print(f"   mlnb / skops alone {med['mlnb'][0] / med['skops'][0]:5.2f}x;  skops alone / joblib "
          f"{med['skops'][0] / med['joblib'][0]:5.2f}x (the floor a pickle-free format sets)")
    if "mlflow" in med:
        for kind, how in (("mlflow", "its default skops format"), ("mlflow-pickle", "cloudpickle")):
            speed = med[kind][0] / med["mlnb"][0]
            print(f"   MLflow ({how}) / mlnb  {speed:5.2f}x   target >= 3x  {'ok' if speed >= 3 else 'MISSED'}")

    def line(what: str, ours: list[float], theirs: list[float], target: float, stat=p95) -> None:  # noqa: ANN001
        mine = stat(ours)
        other = f"{stat(theirs) * 1e3:8.1f} ms" if theirs else "        -  "
        ratio = f"{mine / stat(theirs):6.2f}x" if theirs else "     -"
        verdict = "ok" if mine <= target else "MISSED"
        print(f"   {what:<44} p50 {statistics.median(ours) * 1e3:7.1f} ms  p95 {mine * 1e3:7.1f} ms | "
              f"anchor p95 {other}  ratio {ratio}  target <= {target * 1e3:.0f} ms {verdict}")

    print(f"\n2. alias move with two metric gates ({' ; '.join(GATES)}), {args.fast_repeat} moves each, "
          "anchor: MLflow set_registered_model_alias")
    line("mlnb promote (gates read, compare-and-set, event)", moves["mlnb"], moves["mlflow"], 0.020)
    print(f"\n3. listing {args.versions:,} versions of one model; anchor: MLflow search_model_versions (all)")
    line("mlnb.models.log(name): the whole table", listing["mlnb"], listing["mlflow"], 0.050)
    line("mlnb.models.log(name, limit=50): one page", listing["page"], [], 0.050)
    if isinstance(rest, str):
        print(f"   REST GET /mlnb/api/models/<name>: skipped: {rest}")
    else:
        line("REST GET /mlnb/api/models/<name>?limit=50", rest, [], 0.100)
    print(f"\n4. evaluate + paired test, {args.holdout:,} rows, binary; predictions precomputed (predict "
          f"excluded on both sides); medians of {len(evaluation['mlnb'])}")
    ours_t, theirs_t = statistics.median(evaluation["mlnb"]), statistics.median(evaluation["sklearn"])
    print(f"   mlnb metrics + charts + McNemar  {ours_t * 1e3:8.1f} ms | scikit-learn 6 metrics alone "
          f"{theirs_t * 1e3:8.1f} ms | ratio {ours_t / theirs_t:5.2f}x  target <= 1.5x "
          f"{'ok' if ours_t <= 1.5 * theirs_t else 'MISSED'}")
    print(f"   largest difference from scikit-learn: {worst:.1e} (<= 1e-12); McNemar p = {test['p_value']:.3g}, "
          f"accuracy difference {test['difference']:+.4f} [{test['ci_low']:+.4f}, {test['ci_high']:+.4f}]")


if __name__ == "__main__":
    main()
