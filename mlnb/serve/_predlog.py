"""The prediction log: every answer (and every shadow answer) appended to partitioned parquet.

The request path only appends to an in-memory list. A background thread takes that list every
``flush`` seconds and writes it as one parquet file, under a temporary name renamed into place,
so a kill loses at most the last interval and never leaves half a file. Layout (Hive-style):

    .mlnb/predictions/<model>/date=YYYY-MM-DD/part-<ms>-<pid>-<n>.parquet

One row per instance: request_id, row, time, model, version, arm, routing, shadow, latency_ms,
prediction, and one ``feature.<column>`` column per input column.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("mlnb.serve")


def log_dir(project: Any, model: str) -> Path:
    return Path(project.mlnb_dir) / "predictions" / model


class PredictionLog:
    """Buffered, batched writes of predictions for one model."""

    def __init__(self, folder: Path, model: str, flush: float = 0.5) -> None:
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
        self.folder.mkdir(parents=True, exist_ok=True)
        ignore = self.folder.parent / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# mlnb serve's prediction log: data, not source\n*\n")
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
            values = out.tolist() if hasattr(out, "tolist") else list(out)
            part = frame.add_prefix("feature.").reset_index(drop=True)
            part.insert(0, "prediction", values)
            for name, value in (("latency_ms", latency * 1000), ("shadow", shadow), ("routing", routing),
                                ("arm", arm), ("version", version), ("model", self.model), ("time", at),
                                ("row", range(len(values))), ("request_id", rid)):
                part.insert(0, name, value)
            frames.append(part)
        table = pd.concat(frames, ignore_index=True)
        day = _dt.datetime.fromtimestamp(batch[0][1], _dt.timezone.utc).strftime("%Y-%m-%d")
        folder = self.folder / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        self._n += 1
        name = f"part-{int(batch[0][1] * 1000)}-{os.getpid()}-{self._n}.parquet"
        tmp = folder / f".{name}.tmp"
        table.to_parquet(tmp, index=False)
        os.replace(tmp, folder / name)  # complete or absent, never half a file
        self.written += len(batch)


def read_predictions(model: str) -> Any:
    """Every logged prediction of ``model`` as one DataFrame (all partitions), oldest first.

    >>> mlnb.serve.read_predictions("churn").groupby("arm").size()  # doctest: +SKIP
    """
    import pandas as pd

    from .._project import current_project
    from ..models._refs import split_ref

    name, _ = split_ref(model)
    folder = log_dir(current_project(), name)
    files = sorted(folder.glob("date=*/part-*.parquet"))
    if not files:
        return pd.DataFrame(columns=["request_id", "row", "time", "model", "version", "arm", "routing", "shadow",
                                     "latency_ms", "prediction"])
    frames = [pd.read_parquet(f).assign(date=f.parent.name.partition("=")[2]) for f in files]
    return pd.concat(frames, ignore_index=True).sort_values(["time", "row"], kind="stable").reset_index(drop=True)
