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
        import pandas as pd

        frames = []
        for rid, at, routing, arm, version, frame, out, latency, shadow in batch:
            ids = [rid] if len(frame) == 1 else [f"{rid}/{i}" for i in range(len(frame))]
            frames.append(prediction_frame(self.model, frame, out, ids=ids, request_id=rid, at=at, version=version,
                                           arm=arm, routing=routing, shadow=shadow, latency_ms=latency * 1000))
        self.written += write_partitioned(self.folder, pd.concat(frames, ignore_index=True))


def read_predictions(model: str) -> Any:
    """Every logged prediction of ``model``, shadow answers included, oldest first
    (:func:`mlnb.monitor.read_log` reads outcomes, time ranges and chosen columns too).

    >>> mlnb.serve.read_predictions("churn").groupby("arm").size()  # doctest: +SKIP
    """
    from ..monitor._log import read_log

    return read_log(model, outcomes=False, shadow=True)
