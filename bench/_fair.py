"""What every bench shares to measure both sides the same way (docs/benchmarks.md): alternated
repetitions compared by their medians, and peak RSS read from the kernel (which counts pyarrow's
and numpy's allocators, unlike tracemalloc). Not a bench itself: .ci/run skips ``bench/_*.py``."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path


def alternated(sides: dict[str, Callable[[], object]], repeats: int, *, own_time: bool = False) -> dict[str, float]:
    """Median seconds of each side over ``repeats`` rounds, the sides taking turns in every round
    (ours, theirs, ours, ...) so that load from other work hits them alike. With ``own_time``
    each side returns the seconds of the part it times (its set-up, e.g. a fresh copy, uncounted)."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeats):
        for name, fn in sides.items():
            t0 = time.perf_counter()
            took = fn()
            times[name].append(float(took) if own_time else time.perf_counter() - t0)  # type: ignore[arg-type]
    return {name: statistics.median(ts) for name, ts in times.items()}


def rss_peak_reset() -> int:
    """This process's current RSS (bytes), after resetting the kernel's peak (VmHWM) to it."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kb("VmRSS") * 1024


def rss_peak() -> int:
    """This process's peak RSS (bytes) since start or the last ``rss_peak_reset``."""
    return _status_kb("VmHWM") * 1024


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
