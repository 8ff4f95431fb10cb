"""Columns are independent: fit and score them in worker threads.

numpy releases the GIL in the loops that matter (binning, bincount, sorting), as do pyarrow's
value counts and mlnb's compiled kernels, so threads use several cores. The workers are made
once per process and shared (a monitoring report scores hundreds of windows' columns: a pool
per call would start and join threads each time).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

#: at most this many worker threads
MAX_WORKERS = 4

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _workers() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max(1, min(os.cpu_count() or 1, MAX_WORKERS)), thread_name_prefix="mlnb-column")
        return _pool


def map_columns(fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
    """``[fn(item) for item in items]``, the items spread over the shared workers. A call made
    from a worker itself runs in that worker (waiting there for the pool could deadlock it)."""
    items = list(items)
    if len(items) < 2 or threading.current_thread().name.startswith("mlnb-column"):
        return [fn(item) for item in items]
    return list(_workers().map(fn, items))
