"""The prediction log: every answer (and every shadow answer) appended to partitioned parquet.

The request path only appends to an in-memory list. A background thread takes that list every
``flush`` seconds and writes it as one parquet file, under a temporary name renamed into place,
so a kill loses at most the last interval and never leaves half a file. Layout (Hive-style):

    .mlnb/predictions/<model>/date=YYYY-MM-DD/part-<ms>-<pid>-<n>.parquet

The row format is :mod:`mlnb.monitor._log`'s, which monitoring reads.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ..monitor._log import prediction_frame, predictions_dir, write_partitioned

log = logging.getLogger("mlnb.serve")
log_dir = predictions_dir


class PredictionLog:
    """Buffered, batched writes of predictions for one model."""

    def __init__(self, folder: Any, model: str, flush: float = 0.5) -> None:
        self.folder, self.model, self.flush = folder, model, flush
        self._pending: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._n = 0
        self.written = 0

    def add(self, request_id: str, routing: int, arm: Any, frame: Any, predictions: Any, latency: float,
            shadow: bool = False) -> None:
        """Queue one answer (cheap: no conversion, no I/O)."""
        with self._lock:
            self._pending.append((request_id, time.time(), routing, arm.label, arm.version.version, frame,
                                  predictions, latency, shadow))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mlnb-prediction-log", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self.write_pending()

    def _run(self) -> None:
        while not self._stop.wait(self.flush):
            try:
                self.write_pending()
            except Exception:  # a full disk must not stop the server: say so and keep trying
                log.exception("could not write the prediction log of %s", self.model)

    def write_pending(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        import numpy as np
        import pandas as pd

        from ._batch import join

        groups: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
        for item in batch:  # one frame per arm, version and routing, not one per request (10x cheaper)
            groups.setdefault((item[2], item[3], item[4], item[8], tuple(item[5].columns)), []).append(item)
        frames = []
        for (routing, arm, version, shadow, _), items in groups.items():
            sizes = [len(item[5]) for item in items]
            ids = [rid if n == 1 else f"{rid}/{i}" for (rid, *_), n in zip(items, sizes) for i in range(n)]
            part = prediction_frame(
                self.model, join([item[5] for item in items]), np.concatenate([np.asarray(item[6]) for item in items]),
                ids=ids, request_id=np.repeat([item[0] for item in items], sizes),
                at=np.repeat([item[1] for item in items], sizes),
                version=version, arm=arm, routing=routing, shadow=shadow,
                latency_ms=np.repeat([item[7] * 1000 for item in items], sizes))
            part["row"] = np.concatenate([np.arange(n) for n in sizes])
            frames.append(part)
        table = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        self.written += write_partitioned(self.folder, table.sort_values("time", kind="stable", ignore_index=True))


def read_predictions(model: str) -> Any:
    """Every logged prediction of ``model``, shadow answers included, oldest first
    (:func:`mlnb.monitor.read_log` reads outcomes, time ranges and chosen columns too).

    >>> mlnb.serve.read_predictions("churn").groupby("arm").size()  # doctest: +SKIP
    """
    from ..monitor._log import read_log

    return read_log(model, outcomes=False, shadow=True)
