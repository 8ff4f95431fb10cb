"""Columns are independent: fit and score them in worker threads.

numpy releases the GIL in the loops that matter (binning, bincount, sorting), and pyarrow does in
value counts, so threads use several cores.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

#: at most this many worker threads
MAX_WORKERS = 4


def map_columns(fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
    items = list(items)
    workers = max(1, min(len(items), os.cpu_count() or 1, MAX_WORKERS))
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fn, items))
