"""Scored windows kept between reports: a window whose rows cannot have changed is not read again.

A window's rows (before the bands, which the baseline windows calibrate each time) are a pure
function of:

- the prediction files of the days it covers (written whole and never rewritten: path, size and
  modification time identify their rows), its span and row count, and the log's schema;
- the outcomes of its ids. Outcomes arrive late and join by id to any window, so every outcome
  file that *may* hold one of the window's ids counts: by the id statistics each Parquet file
  keeps (min and max), an outcome file whose id range meets no id range of the window's
  prediction files holds none of its ids and cannot change its rows; a file without statistics,
  or with null ids, may meet any window;
- what every window is scored with: the model's registered version (training profile,
  signature), the task, the features, the metric groups, ``min_rows``, and the fit on the
  baseline windows (estimated performance and prediction drift; its own key: the baseline
  windows' files and the outcome files that may meet them);
- mlnb's code and the numerical libraries' versions (as :mod:`._cache`).

The key of an entry is the SHA-256 of all of them; an entry is a JSON file (a window's rows; nothing that can
run code when read: the baseline fit is not kept, it is fitted each time) under ``.mlnb/monitor-cache/<model>/windows``, written whole and renamed into
place (:func:`._cache.write_whole`); a damaged entry is computed again. Nothing is kept when a
file of the log came or went while the report was computed. At most :data:`MAX_ENTRIES` entries
are kept per model, the least recently used dropped first.

Only reports against the training profile are kept (a reference frame has no identity to key).
``MLNB_MONITOR_CACHE=0`` turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

#: bumped when what is kept, or how it is computed, changes meaning
FORMAT = 1
#: entries kept per model (a full report of 30 windows holds 31)
MAX_ENTRIES = 512


def enabled() -> bool:
    return os.environ.get("MLNB_MONITOR_CACHE", "1") not in ("0", "false", "no", "off")


def _stat(path: Path, root: Path) -> list[Any]:
    st = path.stat()
    return [str(path.relative_to(root)), st.st_size, st.st_mtime_ns]


def _column_range(path: Path, column: str, kind: type) -> tuple[Any, Any] | None:
    """(min, max) of a log file's ``column`` by its Parquet statistics, or None when they cannot
    bound it (missing, not of ``kind``, or nulls: a null id is joined by its text)."""
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except (OSError, ValueError):
        return None
    names = meta.schema.names
    if column not in names:
        return None
    at, lo, hi = names.index(column), None, None
    for g in range(meta.num_row_groups):
        stats = meta.row_group(g).column(at).statistics
        if stats is None or not stats.has_min_max or stats.null_count or not isinstance(stats.min, kind):
            return None
        lo = stats.min if lo is None else min(lo, stats.min)
        hi = stats.max if hi is None else max(hi, stats.max)
    return None if lo is None else (lo, hi)


class _Lazy:
    """A value computed on first ``result()`` (once, whichever thread asks first): the outcome
    index is built only when a window or the fit needs it."""

    def __init__(self, fn: Any) -> None:
        self._fn, self._lock, self._done, self._value = fn, threading.Lock(), False, None

    def result(self) -> Any:
        with self._lock:
            if not self._done:
                self._value, self._done = self._fn(), True
            return self._value


class WindowCache:
    """The kept windows of one report (see the module docstring)."""

    def __init__(self, project: Any, name: str, model: str, reader: Any, setup: Any, windows: list[Any],
                 base: set[int], bounds: list[Any]) -> None:
        from . import _cache
        from ._log import outcomes_dir

        self.project, self.name, self.reader, self.setup = project, name, reader, setup
        self.root = Path(project.mlnb_dir).parent
        self.folder = Path(project.mlnb_dir) / "monitor-cache" / name / "windows"
        self.outcome_folder = outcomes_dir(project, name)
        self.outcome_files = sorted(self.outcome_folder.glob("date=*/part-*.parquet"))
        self._listing = self._list()
        version = _cache.model_version(model)
        self.common = {
            "format": FORMAT, "code": _cache._code(), "libraries": _cache._libraries(), "mlnb": _mlnb_version(),
            "version": None if version is None else [version.ref, version.profile_md5, version.signature],
            "task": setup.task, "features": setup.features, "proba": setup.has_proba, "groups": sorted(setup.groups),
            "min_rows": setup.min_rows, "period": setup.spec.period, "rows": setup.spec.rows, "bounds": bounds,
            "schema": str(reader.schema), "outcome_schema": self._outcome_schema()}
        self._ranges: dict[tuple[Path, str], Any] = {}
        self.base = sorted(base)
        self.windows = {w.index: w for w in windows}
        base_files = sorted({f for i in self.base for f in self._files(self.windows[i])})
        self.fit_key = self._digest({"fit": [self._window_id(self.windows[i]) for i in self.base],
                                     "outcomes": self._stats(self._candidates(base_files))})
        self.hits = 0
        self.misses: list[int] = []

    # -- keys ---------------------------------------------------------------------------------
    def _list(self) -> list[Any]:
        """The log's files as this report reads them: the reader's, and the outcome log as listed
        now (the whole outcome index lists it when it is built, maybe after a new file came)."""
        files = [*self.reader.files, *sorted(self.outcome_folder.glob("date=*/part-*.parquet"))]
        try:
            return [_stat(Path(f), self.root) for f in files]
        except OSError:
            return []

    def _outcome_schema(self) -> str:
        from ._log import _dataset

        dataset = _dataset(self.outcome_folder) if self.outcome_files else None
        return "" if dataset is None else str(dataset.schema)

    def _stats(self, files: list[Path]) -> list[Any]:
        return [_stat(Path(f), self.root) for f in files]

    def _files(self, w: Any) -> list[str]:
        """The prediction files a window's rows are read from (as :meth:`LogReader.table` picks
        them), less those whose times (by their statistics) all fall outside the window."""
        r = self.reader
        start = w.start if r.start is None else max(w.start, r.start)
        end = w.end if r.end is None else min(w.end, r.end)
        out = []
        for f in r._files(start, end):
            span = self._range(f, "time")
            if span is None or (span[1] >= start and span[0] < end):
                out.append(f)
        return out

    def _range(self, path: Any, column: str = "id") -> Any:
        at = (Path(path), column)
        if at not in self._ranges:
            self._ranges[at] = _column_range(at[0], column, str if column == "id" else float)
        return self._ranges[at]

    def _candidates(self, prediction_files: list[str]) -> list[Path]:
        """The outcome files that may hold an id of ``prediction_files`` (their id ranges meet)."""
        ranges = [self._range(f) for f in prediction_files]
        if any(r is None for r in ranges):
            return list(self.outcome_files)
        out = []
        for f in self.outcome_files:
            o = self._range(f)
            if o is None or any(lo <= o[1] and o[0] <= hi for lo, hi in ranges):
                out.append(f)
        return out

    def _window_id(self, w: Any) -> list[Any]:
        return [w.index, w.start, w.end, w.n, w.skip, self._stats([Path(f) for f in self._files(w)])]

    def _digest(self, what: dict[str, Any]) -> str:
        text = json.dumps({**self.common, **what}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def window_key(self, w: Any) -> tuple[str, list[Path]]:
        """The key of ``w``'s rows and the outcome files that may meet it."""
        outcomes = self._candidates(self._files(w)) if "realized" in self.setup.groups else []
        fit = self.fit_key if self.setup.groups & {"estimated", "drift"} else None
        return self._digest({"window": self._window_id(w), "fit": fit, "outcomes": self._stats(outcomes)}), outcomes

    # -- entries ------------------------------------------------------------------------------
    def _path(self, key: str, suffix: str) -> Path:
        return self.folder / f"{key}{suffix}"

    def _read(self, path: Path) -> bytes | None:
        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            os.utime(path)  # recently used: dropped last
        except OSError:
            pass
        return data

    def _write(self, path: Path, data: bytes) -> None:
        from . import _cache

        if self._list() != self._listing:  # a log file came or went meanwhile: what was read is not what the key says
            return
        try:
            _cache.ignored(self.folder)
            _cache.write_whole(path, data)
        except OSError:
            return

    def scorer(self, score: Any, outcomes_of: Any) -> Any:
        """``score(setup, w)`` wrapped: a kept window's rows are read back; a missing one is
        scored (with an outcome index of only the outcome files that may meet it, when that reads
        less than the whole outcome log) and kept."""
        import dataclasses

        keys = {i: self.window_key(w) for i, w in self.windows.items()}
        kept: dict[int, list[dict[str, Any]]] = {}
        for i, (key, _) in keys.items():
            rows = self._rows(key)
            if rows is not None:
                kept[i] = rows
        self.misses = [i for i in self.windows if i not in kept]
        self.hits = len(kept)
        read = sum(len(keys[i][1]) for i in self.misses)
        narrow = "realized" in self.setup.groups and read < len(self.outcome_files) and self._numeric_outcomes()

        def run(w: Any) -> list[dict[str, Any]]:
            if w.index in kept:
                return kept[w.index]
            setup = self.setup
            if narrow:
                files = keys[w.index][1]
                setup = dataclasses.replace(setup, outcomes=_Lazy(lambda: outcomes_of(self.outcome_folder, files)))
            rows = score(setup, w)
            self._keep_rows(keys[w.index][0], rows)
            return rows

        return run

    def _numeric_outcomes(self) -> bool:
        """Outcomes read as numbers (text labels are read whole: which labels a file holds can
        change how every outcome is compared)."""
        schema = self.common["outcome_schema"]
        import re

        found = re.search(r"^outcome: (\w+)", schema, re.MULTILINE)
        return bool(found) and found.group(1).startswith(("int", "uint", "double", "float", "bool"))

    def _rows(self, key: str) -> list[dict[str, Any]] | None:
        data = self._read(self._path(key, ".json"))
        if data is None:
            return None
        try:
            rows = json.loads(data)["rows"]
        except (ValueError, KeyError, TypeError):
            return None
        return rows if isinstance(rows, list) else None

    def _keep_rows(self, key: str, rows: list[dict[str, Any]]) -> None:
        try:  # a NumPy scalar is kept as the Python number of the same value; anything else is not kept
            text = json.dumps({"rows": rows}, default=_number)
        except (TypeError, ValueError):
            return
        self._write(self._path(key, ".json"), text.encode())

    def trim(self) -> None:
        """Drop the least recently used entries past :data:`MAX_ENTRIES` (and killed writers' leftovers)."""
        from ._cache import _young

        try:
            entries = [(p.stat().st_mtime_ns, p) for p in self.folder.iterdir()]
        except OSError:
            return
        for _, p in entries:
            if p.name.endswith(".tmp") and not _young(p):
                p.unlink(missing_ok=True)
        kept = sorted((e for e in entries if not e[1].name.endswith(".tmp")), reverse=True)
        for _, p in kept[MAX_ENTRIES:]:
            p.unlink(missing_ok=True)


def _number(value: Any) -> Any:
    import numpy as np

    if isinstance(value, (np.bool_, np.integer, np.floating)):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not kept")


def _mlnb_version() -> str:
    from .. import __version__

    return __version__


def outcome_index(folder: Path, files: list[Path]) -> Any:
    """The outcome index of only ``files`` of the outcome log under ``folder``, read with the whole
    log's schema (so each outcome reads as the whole log's index reads it)."""
    import pyarrow.dataset as pads

    from ._join import OutcomeIndex
    from ._log import _dataset

    whole = _dataset(folder)
    if whole is None or not files:
        return None
    dataset = pads.dataset([str(f) for f in files], format="parquet", partitioning="hive",
                           partition_base_dir=str(folder), schema=whole.schema)
    table = dataset.to_table(columns=["id", "outcome", "time"])
    return OutcomeIndex(table) if table.num_rows else None


def plan(project: Any, name: str, reader: Any, spec: Any) -> list[Any]:
    """``reader.plan(spec)``, from each prediction file's count of rows per period kept from the
    last plan (a file is read only the first time: a new batch reads only itself). Row windows,
    which need every time in order, are planned by the reader."""
    if spec.period is None:
        return reader.plan(spec)
    import numpy as np

    from . import _cache
    from ._windows import Window

    root = Path(project.mlnb_dir).parent
    what = json.dumps({"format": FORMAT, "period": spec.period, "bounds": [reader.start, reader.end],
                       "schema": str(reader.schema), "code": _cache._code()}, sort_keys=True, default=str)
    path = Path(project.mlnb_dir) / "monitor-cache" / name / "windows" / f"plan-{hashlib.sha256(what.encode()).hexdigest()[:16]}.json"
    try:
        kept = json.loads(path.read_text())
        os.utime(path)  # recently used (WindowCache.trim drops the least recently used)
    except (OSError, ValueError):
        kept = {}
    counts, fresh = {}, False
    for f in reader.files:
        key = json.dumps(_stat(Path(f), root))
        entry = kept.get(key)
        if not (isinstance(entry, list) and len(entry) == 2):
            times = _file_times(reader, str(f))
            slots, n = np.unique(np.floor(times / spec.period), return_counts=True)
            entry, fresh = [slots.tolist(), n.tolist()], True
        counts[key] = entry
    if fresh:
        try:
            _cache.ignored(path.parent)
            _cache.write_whole(path, json.dumps(counts).encode())
        except OSError:
            pass
    slots = [s for entry in counts.values() for s in entry[0]]
    if not slots:
        return []
    first = np.float64(min(slots))
    total = np.zeros(int(max(slots) - first) + 1, dtype=np.int64)
    for s, n in counts.values():
        np.add.at(total, (np.asarray(s, dtype=np.float64) - first).astype(np.int64), np.asarray(n, dtype=np.int64))
    p = spec.period
    return [Window(i, (first + i) * p, (first + i + 1) * p, int(c)) for i, c in enumerate(total)]


def _file_times(reader: Any, file: str) -> Any:
    """The times of ``file`` the reader plans with: its filter (shadow answers out, start/end),
    applied to the file alone, with the log's schema."""
    import pyarrow.dataset as pads

    dataset = pads.dataset([file], format="parquet", schema=reader.schema)
    table = dataset.to_table(columns=["time"], filter=reader._filter(reader.start, reader.end))
    return table.column("time").to_numpy()
