"""A large `mlnb data add` against its physical floor and against `dvc add`, all as commands.

Three sides, alternated in each repetition on files of the same size, each given new bytes
(16 random bytes written at the start) just before its timed command, so every add hashes and
stores new content read from the page cache:

- floor: `md5sum FILE && cp FILE COPY` — one read to hash, one read and one write to copy;
- durable floor: the same, then `sync COPY` — the copy flushed to disk, as mlnb flushes each
  cache object before naming it by its hash (the floor leaves its copy in the page cache);
- mlnb:  `mlnb data add FILE` (a fresh process, start-up included);
- dvc:   `dvc add FILE` in the same project, with the same cache settings.

Medians of the same number of repetitions; the ratios are checked against issue 16 §4's targets
(mlnb <= 1.3x floor, <= 0.6x dvc). Between commands, outside the timings, the new cache objects
and the floor's copy are deleted and `sync` flushes what the last command wrote.

    python bench/add.py                 # 1 GiB, 3 repetitions
    python bench/add.py --quick         # 8 MiB, 3 repetitions (CI smoke)
    python bench/add.py --mib 256 --reps 5
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPATH"] = str(ROOT)


def make_file(path: Path, size: int) -> None:
    """``size`` random bytes (random, so no filesystem can compress or deduplicate them)."""
    chunk = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for written in range(0, size, len(chunk)):
            f.write(chunk[: min(len(chunk), size - written)])
            chunk = chunk[1:] + chunk[:1]  # no two MiB alike


def touch_content(path: Path) -> None:
    """New content of the same size: the next add must hash and store it again."""
    with open(path, "r+b") as f:
        f.write(os.urandom(16))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system, the command and its children) of one command."""
    cpu, start = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    return elapsed, _children_cpu() - cpu


def clear_cache(proj: Path) -> None:
    """Delete the cache objects (the registry keeps its rows: the bench never reads them back)."""
    shutil.rmtree(proj / ".dvc" / "cache" / "files", ignore_errors=True)
    (proj / "copy.bin").unlink(missing_ok=True)
    subprocess.run(["sync"], check=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="8 MiB files (CI smoke)")
    ap.add_argument("--mib", type=int, default=None, help="file size in MiB (default 1024)")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    mib = args.mib or (8 if args.quick else 1024)
    size = mib * 1024**2
    mlnb = [sys.executable, "-m", "mlnb"]
    with tempfile.TemporaryDirectory(dir=os.environ.get("MLNB_BENCH_DIR")) as tmp:
        proj = Path(tmp)
        subprocess.run([*mlnb, "init", "."], cwd=proj, env=ENV, check=True, capture_output=True)
        cache_type = subprocess.run([str(BIN / "dvc"), "config", "cache.type"], cwd=proj, env=ENV,
                                    capture_output=True, text=True).stdout.strip() or "default (reflink,copy)"
        for name in ("floor.bin", "durable.bin", "mlnb.bin", "dvc.bin"):
            make_file(proj / name, size)
        sides = {
            "floor": ("floor.bin", ["sh", "-c", "md5sum floor.bin >/dev/null && cp floor.bin copy.bin"]),
            "durable": ("durable.bin", ["sh", "-c", "md5sum durable.bin >/dev/null && cp durable.bin copy.bin "
                                                    "&& sync copy.bin"]),
            "mlnb": ("mlnb.bin", [*mlnb, "data", "add", "mlnb.bin"]),
            "dvc": ("dvc.bin", [str(BIN / "dvc"), "add", "-q", "dvc.bin"]),
        }
        times: dict[str, list[float]] = {side: [] for side in sides}
        cpus: dict[str, list[float]] = {side: [] for side in sides}
        for _ in range(args.reps):
            for side, (name, cmd) in sides.items():
                touch_content(proj / name)
                wall, cpu = timed(cmd, proj)
                times[side].append(wall)
                cpus[side].append(cpu)
                clear_cache(proj)
        print(f"add of {mib} MiB, cache.type {cache_type}, medians of {args.reps} alternated repetitions (commands)")
        # wall time is what the targets are about; CPU time (user + system) is printed beside it
        # because on a shared machine it moves far less with other people's load
        for what, series in (("wall", times), ("cpu", cpus)):
            med = {side: statistics.median(t) for side, t in series.items()}
            for side, t in series.items():
                print(f"  {what:<4} {side:<7} {med[side]:7.3f} s   ({', '.join(f'{x:.3f}' for x in t)})")
            vs_floor, vs_dvc = med["mlnb"] / med["floor"], med["mlnb"] / med["dvc"]
            print(f"  {what:<4} mlnb / floor = {vs_floor:.2f} (target <= 1.3) {'ok' if vs_floor <= 1.3 else 'OVER'}")
            print(f"  {what:<4} mlnb / durable floor = {med['mlnb'] / med['durable']:.2f}")
            print(f"  {what:<4} mlnb / dvc   = {vs_dvc:.2f} (target <= 0.6) {'ok' if vs_dvc <= 0.6 else 'OVER'}")


if __name__ == "__main__":
    main()
