"""`mlnb serve` against its anchors, measured in the same run: a bare Starlette endpoint calling
``model.predict`` under the same uvicorn settings (the floor) and ``mlflow models serve`` of the same
model (MLflow's own venv, bench/.venvs/mlflow, made by bench/runs.py; ``--env-manager local``).

    python bench/serve.py              # full: 3 alternated repetitions of 5 s per load and side
    python bench/serve.py --quick      # CI smoke: one short repetition, no MLflow (its start alone takes longer)
    python bench/serve.py --no-anchor  # mlnb and the floor only

| work (scikit-learn model, 20 features)                       | target                                  |
|--------------------------------------------------------------|-----------------------------------------|
| throughput, 16 concurrent clients, one row each, logging on  | >= 0.8x the floor; >= 3x mlflow models serve |
| p99 latency at the same load                                 | <= 2x the floor's p99                   |
| throughput, 64 concurrent clients, adaptive batching on      | >= 2x the floor (unbatched)             |
| routing change -> served by the new arm                      | <= 1 s, zero failed requests            |

The load comes from a separate process (aiohttp, one connection per client, each client sending
its next request when the last is answered); throughput counts the answers received within the
load's seconds (a request still open at the end neither counts nor stretches the window). Every side gets the same number of repetitions, in
turn (floor, mlnb, MLflow, floor, ...); the medians are compared. mlnb serves as shipped: the
prediction log on, adaptive batching on (defaults). ``--model forest`` serves a random forest
instead of a logistic regression (predict dominates; batching gains most).

Every side runs uvicorn with its "auto" loop and HTTP parser; the bench installs uvloop and
httptools into MLflow's venv as mlnb's serve extra installs them into ours, so all three get the
same ones (the report's first line names them). MLflow runs its default single worker
(``--mlflow-workers`` changes it: 2 were no faster on this 2-core machine, where the load shares the cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
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
from runs import ensure_mlflow  # noqa: E402 - the one MLflow venv all benchmarks share

COLUMNS = [f"f{i}" for i in range(20)]
HTTP_STACK = ("uvloop>=0.19", "httptools>=0.6")  # as mlnb's serve extra installs them
START = time.perf_counter()

FLOOR = r'''
import json, sys
import joblib, pandas as pd, uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
model, columns, port = joblib.load(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
async def predict(request: Request) -> JSONResponse:
    rows = (await request.json())["instances"]
    return JSONResponse({"predictions": model.predict(pd.DataFrame(rows, columns=columns)).tolist()})
app = Starlette(routes=[Route("/predict", predict, methods=["POST"])])
print("floor ready", flush=True)
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
'''

MLFLOW_LOG = r'''
import json, os, sys, logging
logging.getLogger("mlflow").setLevel(logging.ERROR)
import joblib, mlflow, mlflow.sklearn
mlflow.set_tracking_uri(sys.argv[2])
with mlflow.start_run() as run:
    info = mlflow.sklearn.log_model(joblib.load(sys.argv[1]), name="model")
print(info.model_uri)
'''


def phase(what: str) -> None:
    print(f"[{time.perf_counter() - START:6.1f}s] {what}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the load: a separate process ---------------------------------------------------------------

async def _load(url: str, body: bytes, clients: int, seconds: float, trace: bool) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    in_window = 0  # answers received before the load's end: a server that stalls past it is not paid for the stall
    marks: list[tuple[float, float, str]] = []  # sent, received, arm (trace only)
    failed = 0
    stop = time.perf_counter() + seconds
    headers = {"content-type": "application/json"}

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal failed, in_window
        while time.perf_counter() < stop:
            sent, wall = time.perf_counter(), time.time()
            try:
                async with session.post(url, data=body, headers=headers) as r:
                    await r.read()
                    if r.status != 200:
                        failed += 1
                        continue
                    if trace:
                        marks.append((wall, time.time(), r.headers.get("x-mlnb-arm", "")))
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError):  # a dropped connection is a failure too
                failed += 1
                continue
            now = time.perf_counter()
            latencies.append(now - sent)
            in_window += now <= stop

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as session:
        began = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(clients)))
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else float("nan")
    return {"rps": in_window / (stop - began), "p99": p99, "n": len(latencies), "failed": failed, "marks": marks}


def load(url: str, body: dict[str, Any], clients: int, seconds: float, trace: bool = False) -> dict[str, Any]:
    """Run the load from a separate process; its summary."""
    args = json.dumps({"url": url, "body": body, "clients": clients, "seconds": seconds, "trace": trace})
    proc = subprocess.run([sys.executable, __file__, "--load", args], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"the load on {url} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


# -- the servers --------------------------------------------------------------------------------

def setup(work: Path, kind: str) -> tuple[Path, Any]:
    """A project with `bench` @1 (alias blue, deployed) and @2 (alias green); @1 also as a joblib file."""
    import joblib
    import numpy as np
    import pandas as pd

    import mlnb

    os.chdir(work)
    mlnb.init()
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(5000, 20)), columns=COLUMNS)
    y = (X.f0 + X.f1 * X.f2 + rng.normal(size=len(X)) > 0).astype(int)
    models = []
    for seed in (0, 1):
        if kind == "forest":
            from sklearn.ensemble import RandomForestClassifier

            model = RandomForestClassifier(n_estimators=50, max_depth=10, random_state=seed, n_jobs=1).fit(X, y)
        else:
            from sklearn.linear_model import LogisticRegression

            model = LogisticRegression(C=1.0 / (seed + 1)).fit(X, y)
        mlnb.models.register("bench", model, data=X)
        models.append(model)
    mlnb.models.set_alias("bench@1", "blue")
    mlnb.models.set_alias("bench@2", "green")
    mlnb.models.deploy("bench", to="blue")
    path = work / "model.joblib"
    joblib.dump(models[0], path)
    return path, X.iloc[:1].to_numpy().tolist()[0]


def wait_ready(proc: subprocess.Popen, port: int, what: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} ended before it answered:\n{LOGS[proc.pid].read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not answer within {timeout:g} s")


LOGS: dict[int, Path] = {}  # server pid -> its output file


def spawn(cmd: list[str], log: Path, **kwargs: Any) -> subprocess.Popen:
    """A server process whose output goes to a file: a pipe nobody reads fills up and blocks a
    server that logs every request (MLflow's uvicorn did, after ~1,000 requests, for good)."""
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True, **kwargs)
    LOGS[proc.pid] = log
    return proc


def start_servers(args: argparse.Namespace, work: Path, model_file: Path, sides: dict[str, tuple[Any, str]]) -> None:
    """Every side's process and prediction URL, into ``sides`` (whoever calls stops them)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    port = free_port()
    proc = spawn([sys.executable, "-c", FLOOR, str(model_file), json.dumps(COLUMNS), str(port)], work / "floor.log",
                 env=env)
    wait_ready(proc, port, "the floor")
    sides["floor"] = (proc, f"http://127.0.0.1:{port}/predict")
    port = free_port()
    proc = spawn([sys.executable, "-m", "mlnb", "serve", "bench", "--port", str(port)], work / "mlnb.log", cwd=work,
                 env=env)
    wait_ready(proc, port, "mlnb serve")
    sides["mlnb"] = (proc, f"http://127.0.0.1:{port}/v1/models/bench:predict")
    if not args.no_anchor:
        python = ensure_mlflow()
        if python is not None:
            fast_http(python)
            clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            tracking = f"sqlite:///{work / 'mlflow.db'}"
            uri = subprocess.run([str(python), "-c", MLFLOW_LOG, str(model_file), tracking], check=True,
                                 capture_output=True, text=True, cwd=work, env=clean).stdout.strip().splitlines()[-1]
            port = free_port()
            proc = spawn([str(python.parent / "mlflow"), "models", "serve", "-m", uri, "--env-manager", "local", "-w",
                          str(args.mlflow_workers), "-p", str(port), "-h", "127.0.0.1"], work / "mlflow.log", cwd=work,
                         env={**clean, "MLFLOW_TRACKING_URI": tracking,  # its uvicorn is found on PATH
                              "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
                              # uvicorn's own settings as on the other sides: warnings only, no access log
                              "UVICORN_LOG_LEVEL": "warning", "UVICORN_ACCESS_LOG": "false"})
            wait_ready(proc, port, "mlflow models serve")
            sides["mlflow"] = (proc, f"http://127.0.0.1:{port}/invocations")


def fast_http(python: Path) -> None:
    """uvicorn's compiled event loop and HTTP parser (uvloop, httptools) in MLflow's venv as in ours:
    uvicorn picks them wherever they are installed, so every side runs under the same settings."""
    if subprocess.run([str(python), "-c", "import uvloop, httptools"], capture_output=True).returncode:
        phase("uvloop and httptools into MLflow's venv")
        subprocess.run([str(python), "-m", "pip", "install", "-q", *HTTP_STACK], check=True, capture_output=True)


def uvicorn_stack(python: str) -> str:
    """The loop and HTTP parser uvicorn's "auto" picks under ``python``."""
    code = ("import importlib.util as u; print(('uvloop' if u.find_spec('uvloop') else 'asyncio') + '+' + "
            "('httptools' if u.find_spec('httptools') else 'h11'))")
    return subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.strip() or "?"


def bodies(row: list[float]) -> dict[str, dict[str, Any]]:
    return {"floor": {"instances": [row]}, "mlnb": {"instances": [row]},
            "mlflow": {"dataframe_split": {"columns": COLUMNS, "data": [row]}}}


# -- the measurements ---------------------------------------------------------------------------

def switch_time(url: str, body: dict[str, Any], seconds: float, to: str) -> dict[str, float]:
    """Deploy ``to`` under a 16-client load; seconds from the routing event to the first and to the
    last-needed answer by it, and failed requests."""
    import threading

    import mlnb

    result: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: result.update(load(url, body, 16, seconds, trace=True)))
    runner.start()
    time.sleep(seconds / 3)
    mlnb.models.deploy("bench", to=to)
    runner.join()
    at = mlnb.models.routing("bench").routing.created_at
    new = [got for sent, got, arm in result["marks"] if arm == to]
    old_after = [got for sent, got, arm in result["marks"] if arm != to and got > at]
    return {"first": min(new) - at if new else float("inf"),
            "all": max([min(new), *old_after]) - at if new else float("inf"), "failed": result["failed"]}


def cpu_seconds(proc: subprocess.Popen) -> float:
    """User + system CPU time of a server process and its children so far (mlflow models serve runs
    uvicorn as a child); its cost per request does not depend on what else the machine runs."""
    total, todo = 0.0, [proc.pid]
    while todo:
        pid = todo.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:  # it ended meanwhile
            continue
    return total


def measure(args: argparse.Namespace, sides: dict[str, tuple[Any, str]], row: list[float]) -> dict[str, Any]:
    body = bodies(row)
    out: dict[str, list] = {}
    for rep in range(args.repeat):
        phase(f"repetition {rep + 1} of {args.repeat}")
        for side, (proc, url) in sides.items():  # alternated: every side once per repetition
            cpu = cpu_seconds(proc)
            r = load(url, body[side], 16, args.seconds)
            out.setdefault(f"{side}_cpu", []).append((cpu_seconds(proc) - cpu) / max(r["n"], 1))
            out.setdefault(f"{side}_rps16", []).append(r["rps"])
            out.setdefault(f"{side}_p99", []).append(r["p99"])
            out.setdefault(f"{side}_failed", []).append(r["failed"])
        for side in ("floor", "mlnb"):
            r = load(sides[side][1], body[side], 64, args.seconds)
            out.setdefault(f"{side}_rps64", []).append(r["rps"])
            out.setdefault(f"{side}_failed", []).append(r["failed"])
        s = switch_time(sides["mlnb"][1], body["mlnb"], max(1.5, args.seconds), "green" if rep % 2 == 0 else "blue")
        out.setdefault("switch_first", []).append(s["first"])
        out.setdefault("switch_all", []).append(s["all"])
        out.setdefault("switch_failed", []).append(s["failed"])
    return {k: (sum(v) if k.endswith("failed") else statistics.median(v)) for k, v in out.items()}


def report(args: argparse.Namespace, m: dict[str, Any]) -> None:
    def ratio(a: str, b: str) -> str:
        return f"{m[a] / m[b]:6.2f}x" if b in m and a in m else "     -"

    mlflow = "mlflow_rps16" in m
    print(f"mlnb serve vs a bare Starlette endpoint (floor){' and mlflow models serve' if mlflow else ''}; "
          f"{args.model} model, 20 features; medians of {args.repeat} alternated repetitions of {args.seconds:g} s")
    stacks = f"floor and mlnb {uvicorn_stack(sys.executable)}"
    if mlflow:
        stacks += f", MLflow {uvicorn_stack(str(ensure_mlflow()))} with {args.mlflow_workers} worker(s)"
    print(f"uvicorn on every side: {stacks}")
    print(f"{'what':<50} {'floor':>10} {'mlnb':>10} {'MLflow':>10}  ratio    target")
    f = lambda key: f"{m[key]:10.0f}" if key in m else "         -"  # noqa: E731
    ms = lambda key: f"{m[key] * 1000:8.1f}ms" if key in m else "         -"  # noqa: E731
    print(f"{'throughput, 16 clients, one row (req/s)':<50} {f('floor_rps16')} {f('mlnb_rps16')} {f('mlflow_rps16')}  "
          f"{ratio('mlnb_rps16', 'floor_rps16')} >= 0.8x floor")
    if mlflow:
        print(f"{'  mlnb / mlflow models serve':<50} {'':>10} {'':>10} {'':>10}  "
              f"{ratio('mlnb_rps16', 'mlflow_rps16')} >= 3x")
    print(f"{'p99 latency, 16 clients':<50} {ms('floor_p99')} {ms('mlnb_p99')} {ms('mlflow_p99')}  "
          f"{ratio('mlnb_p99', 'floor_p99')} <= 2x floor")
    print(f"{'server CPU per request, 16 clients':<50} {ms('floor_cpu')} {ms('mlnb_cpu')} {ms('mlflow_cpu')}  "
          f"{ratio('mlnb_cpu', 'floor_cpu')}")
    print(f"{'throughput, 64 clients, mlnb batching (req/s)':<50} {f('floor_rps64')} {f('mlnb_rps64')} {'-':>10}  "
          f"{ratio('mlnb_rps64', 'floor_rps64')} >= 2x floor")
    print(f"{'routing change -> first answer by the new arm':<50} {'':>10} {m['switch_first']:9.2f}s {'':>10}  "
          f"{'':>7} <= 1 s")
    print(f"{'routing change -> only the new arm answers':<50} {'':>10} {m['switch_all']:9.2f}s")
    failed = {k[:-7]: v for k, v in m.items() if k.endswith("_failed")}
    print(f"failed requests: {', '.join(f'{k} {v}' for k, v in failed.items())} (target: 0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short repetition, no MLflow: a CI smoke run")
    parser.add_argument("--no-anchor", action="store_true", help="skip mlflow models serve")
    parser.add_argument("--model", choices=("logistic", "forest"), default="logistic")
    parser.add_argument("--mlflow-workers", type=int, default=1,
                        help="mlflow models serve --workers (default 1, MLflow's own: 2 was no faster on 2 cores)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each load")
    parser.add_argument("--load", help=argparse.SUPPRESS)  # the load process
    args = parser.parse_args()
    if args.load:
        spec = json.loads(args.load)
        result = asyncio.run(_load(spec["url"], json.dumps(spec["body"]).encode(), spec["clients"], spec["seconds"],
                                   spec["trace"]))
        print(json.dumps(result))
        return
    if args.quick:
        args.repeat, args.seconds, args.no_anchor = 1, 0.5, True
    with tempfile.TemporaryDirectory(prefix="mlnb-bench-serve-") as tmp:
        work = Path(tmp)
        phase("project, models")
        model_file, row = setup(work, args.model)
        sides: dict[str, tuple[Any, str]] = {}
        try:
            phase("servers")
            start_servers(args, work, model_file, sides)
            results = measure(args, sides, row)
        finally:
            for proc, _ in sides.values():
                proc.terminate()
                proc.wait(10)
            os.chdir(ROOT)
        report(args, results)


if __name__ == "__main__":
    main()
