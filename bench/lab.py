"""JupyterLab benchmarks: the runs endpoint, the panel, the bundle — against a real server.

    python bench/lab.py            # full: a registry of 100,000 runs
    python bench/lab.py --quick    # CI smoke: 2,000 runs, fewer repeats (a few tens of seconds)

| what                                                        | target     |
|-------------------------------------------------------------|------------|
| GET /mlnb/api/runs (first page of 50), 100,000 runs, p95    | <= 100 ms  |
| panel shows runs after JupyterLab is ready (click -> rows)  | <= 1 s     |
| production bundle size; vega loaded lazily                  | report     |

The anchor, measured in the same run and the same way: Jupyter's own ``GET /api/contents``
(the file browser's listing of the project root), so the ratio says what mlnb's endpoint costs
next to the cheapest request JupyterLab itself makes all the time. The registry is seeded with
bulk SQL inserts into the runs tables (the API's own per-run path is benchmarked in bench/runs.py)
and kept under bench/.work/ for the next run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.lab._browser import PANEL, open_lab  # noqa: E402
from tests.lab._lab import BUNDLE, CHROMIUM, CHROMIUM_ARGS, Lab, child_env, run_python, start_lab  # noqa: E402

WORK = ROOT / "bench" / ".work"


def seed_registry(root: Path, n: int, env: dict[str, str]) -> None:
    """A project whose registry holds ``n`` finished runs (3 params, 2 metrics, 1 tag each)."""
    if (root / ".mlnb" / f"seeded-{n}").exists():
        return
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    # its own git repository: inside the checkout's ignored bench/.work/ DVC would refuse a subdir
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    run_python("import mlnb; mlnb.init(); print(mlnb.runs.__name__)", root, env)
    t = time.perf_counter()
    run_python(_SEED.replace("N_RUNS", str(n)), root, env)
    (root / ".mlnb" / f"seeded-{n}").touch()
    print(f"seeded {n:,} runs in {time.perf_counter() - t:.1f} s")


_SEED = '''
import json, random, time
import mlnb
from mlnb._project import current_project
from mlnb.store import registry
from mlnb.store._schema import run_latest, run_params, run_tags, runs
rnd = random.Random(7)
n, start, chunk = N_RUNS, time.time() - N_RUNS * 60, 5000
with registry(current_project()).write() as conn:
    for lo in range(0, n, chunk):
        ids = [f"{i:032x}" for i in range(lo, min(n, lo + chunk))]
        conn.execute(runs.insert(), [
            {"id": rid, "name": f"run-{lo + j}", "status": rnd.choice(["finished"] * 8 + ["failed", "running"]),
             "started_at": start + (lo + j) * 60, "ended_at": start + (lo + j) * 60 + rnd.random() * 50,
             "heartbeat_at": start + (lo + j) * 60 + 50, "host": "bench"}
            for j, rid in enumerate(ids)])
        params = []
        for rid in ids:
            for key, value in (("lr", rnd.choice([0.001, 0.01, 0.1])), ("depth", rnd.randint(2, 12)),
                               ("opt", rnd.choice(["adam", "sgd"]))):
                params.append({"run_id": rid, "key": key, "value": json.dumps(value),
                               "num": value if not isinstance(value, str) else None})
        conn.execute(run_params.insert(), params)
        conn.execute(run_latest.insert(), [
            {"run_id": rid, "key": key, "value": rnd.random(), "is_nan": 0, "step": 0}
            for rid in ids for key in ("accuracy", "loss")])
        conn.execute(run_tags.insert(), [{"run_id": rid, "tag": "bench"} for rid in ids])
'''


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_requests(lab: Lab, path: str, repeat: int) -> list[float]:
    status, _ = lab.api(path)  # warm-up (imports, caches)
    assert status == 200, f"{path} answered {status}"
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        status, _ = lab.api(path)
        times.append(time.perf_counter() - t)
        assert status == 200
    return times


def panel_latency(lab: Lab, repeat: int) -> tuple[list[float], set[str]]:
    """From JupyterLab ready (splash gone) and a click on the MLOps tab to the first run row;
    and the names of the extension's files the browser loaded meanwhile."""
    from playwright.sync_api import sync_playwright

    times: list[float] = []
    loaded: set[str] = set()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(repeat):
            lp = open_lab(browser, lab, on_response=lambda r: _note_static(r.url, loaded))
            page = lp.page
            t = time.perf_counter()
            page.click('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="mlnb-panel"]')
            page.wait_for_selector(f"{PANEL} .mlnb-run")
            times.append(time.perf_counter() - t)
            lp.close()
        browser.close()
    return times, loaded


def _note_static(url: str, loaded: set[str]) -> None:
    marker = "/lab/extensions/mlnb/static/"
    if marker in url:
        loaded.add(url.split(marker, 1)[1].split("?", 1)[0])


def production_bundle() -> Path:
    """The production build (what a wheel ships), made in a scratch copy of labextension/ so the
    checkout's own (possibly development) build is left alone; BUNDLE when it cannot be built."""
    src = ROOT / "labextension"
    if not (src / "node_modules").is_dir() or shutil.which("jupyter-builder", path=str(Path(sys.executable).parent)) is None:
        return BUNDLE
    scratch = WORK / "bundle"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    for name in ("src", "style"):
        shutil.copytree(src / name, scratch / name)
    for name in ("tsconfig.json", "yarn.lock", ".yarnrc.yml"):
        shutil.copy(src / name, scratch / name)
    (scratch / "node_modules").symlink_to(src / "node_modules", target_is_directory=True)
    package = json.loads((src / "package.json").read_text())
    package["jupyterlab"]["outputDir"] = "out"
    (scratch / "package.json").write_text(json.dumps(package))
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{src / 'node_modules' / '.bin'}:{bin_dir}:{os.environ.get('PATH', '')}"}
    subprocess.run(["tsc"], cwd=scratch, env=env, check=True, capture_output=True)
    subprocess.run([str(bin_dir / "jupyter-builder"), "build", "."], cwd=scratch, env=env, check=True, capture_output=True)
    return scratch / "out"


def bundle_report(bundle: Path, loaded: set[str]) -> dict[str, int]:
    """Sizes of the files loaded with the panel (``loaded``) and of the rest (loaded on demand)."""
    static = bundle / "static"
    files = [p for p in static.glob("*.js")]
    eager = [p for p in files if p.name in loaded]
    lazy = [p for p in files if p.name not in loaded]
    size = lambda ps: sum(p.stat().st_size for p in ps)  # noqa: E731
    gz = lambda ps: sum(len(gzip.compress(p.read_bytes())) for p in ps)  # noqa: E731
    dev = any(p.name.endswith(".js.map") for p in static.iterdir())
    return {"eager": size(eager), "eager_gz": gz(eager), "lazy": size(lazy), "lazy_gz": gz(lazy),
            "files": len(files), "dev_build": dev}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke run: small registry, few repeats")
    parser.add_argument("--runs", type=int, default=None, help="registry size (default 100,000; 2,000 with --quick)")
    args = parser.parse_args()
    n = args.runs or (2_000 if args.quick else 100_000)
    repeat, panel_repeat = (20, 1) if args.quick else (200, 3)

    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "home").mkdir(exist_ok=True)
    env = child_env(WORK / "home")
    root = WORK / f"lab-{n}"
    seed_registry(root, n, env)
    server_dir = WORK / "lab-server"
    shutil.rmtree(server_dir, ignore_errors=True)
    server_dir.mkdir()
    bundle = production_bundle()
    lab = start_lab(root, server_dir, env, bundle=bundle)
    try:
        page = time_requests(lab, "mlnb/api/runs?limit=50", repeat)
        filtered = time_requests(lab, "mlnb/api/runs?limit=50&filter=metrics.accuracy%20%3E%200.9&sort=-metrics.accuracy", max(5, repeat // 4))
        anchor = time_requests(lab, "api/contents", repeat)
        panel, loaded = panel_latency(lab, panel_repeat) if Path(CHROMIUM).exists() else ([], set())
    finally:
        lab.stop()

    p95, a95 = percentile(page, 0.95), percentile(anchor, 0.95)
    print(f"registry: {n:,} runs ({'quick' if args.quick else 'full'} mode), {repeat} requests each")
    print(f"GET /mlnb/api/runs first page      p50 {statistics.median(page) * 1e3:7.1f} ms  p95 {p95 * 1e3:7.1f} ms  (target <= 100 ms)")
    print(f"GET /mlnb/api/runs filter+sort     p50 {statistics.median(filtered) * 1e3:7.1f} ms  p95 {percentile(filtered, 0.95) * 1e3:7.1f} ms")
    print(f"anchor GET /api/contents (Jupyter) p50 {statistics.median(anchor) * 1e3:7.1f} ms  p95 {a95 * 1e3:7.1f} ms")
    print(f"ratio runs page / contents listing (p95): {p95 / a95:.2f}x")
    if panel:
        print(f"panel: click -> runs shown         median {statistics.median(panel) * 1e3:.0f} ms, max {max(panel) * 1e3:.0f} ms over {len(panel)} (target <= 1000 ms)")
    else:
        print(f"panel: skipped ({CHROMIUM} missing)")
    b = bundle_report(bundle, loaded)
    kind = "development build (run `jlpm build:prod` for production sizes)" if b["dev_build"] else "production build"
    print(f"bundle ({kind}): {b['files']} files; loaded at start {b['eager'] / 1024:.0f} KiB "
          f"({b['eager_gz'] / 1024:.0f} KiB gzip); loaded on demand (vega, on the first chart) "
          f"{b['lazy'] / 1024:.0f} KiB ({b['lazy_gz'] / 1024:.0f} KiB gzip)")
    print(json.dumps({"runs": n, "runs_page_p95_ms": round(p95 * 1e3, 1), "anchor_contents_p95_ms": round(a95 * 1e3, 1),
                      "panel_ms": [round(x * 1e3) for x in panel], "bundle": b}))


if __name__ == "__main__":
    main()
