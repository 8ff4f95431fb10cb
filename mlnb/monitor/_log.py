"""The prediction and outcome logs that monitoring reads.

Both are Hive-partitioned parquet under the project's ``.mlnb`` folder, written as whole files
under a temporary name and renamed into place, so a reader sees a file complete or not at all:

    .mlnb/predictions/<model>/date=YYYY-MM-DD/part-<ms>-<pid>-<n>.parquet
    .mlnb/outcomes/<model>/date=YYYY-MM-DD/part-<ms>-<pid>-<n>.parquet

A prediction row holds ``id`` (what outcomes join on), request_id, row, time (seconds since the
epoch, UTC), model, version, arm, routing, shadow, latency_ms, prediction, optionally ``proba``
(the positive class's probability) and one ``feature.<column>`` column per input column.
``mlnb serve`` writes one row per instance (``id`` is the request id, with ``/<row>`` appended
when a request holds several instances); :func:`log_predictions` writes a batch job's rows with
the ids the caller gives. An outcome row holds ``id``, ``outcome`` and ``time``; the latest
outcome of an id wins.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import os
import time as _time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError

#: the columns every prediction row has, in order (features and ``proba`` follow)
PREDICTION_COLUMNS = ("id", "request_id", "row", "time", "model", "version", "arm", "routing", "shadow",
                      "latency_ms", "prediction")
_counter = itertools.count(1)


def predictions_dir(project: Any, model: str) -> Path:
    return Path(project.mlnb_dir) / "predictions" / model


def outcomes_dir(project: Any, model: str) -> Path:
    return Path(project.mlnb_dir) / "outcomes" / model


def write_partitioned(folder: Path, table: Any) -> int:
    """Append the DataFrame ``table`` (with a ``time`` column) under ``folder``: one file per UTC
    day it covers, each written whole and renamed into place. Returns the rows written."""
    import pandas as pd

    if table.empty:
        return 0
    _ignore(folder.parent)
    days = pd.to_datetime(table["time"], unit="s", utc=True).dt.strftime("%Y-%m-%d")
    for day, part in table.groupby(days.to_numpy(), sort=True):
        target = folder / f"date={day}"
        target.mkdir(parents=True, exist_ok=True)
        name = f"part-{int(part['time'].iloc[0] * 1000)}-{os.getpid()}-{next(_counter)}.parquet"
        tmp = target / f".{name}.tmp"
        try:
            part.to_parquet(tmp, index=False)
            os.replace(tmp, target / name)  # complete or absent, never half a file
        finally:
            tmp.unlink(missing_ok=True)
    return len(table)


def _ignore(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# mlnb's prediction / outcome logs: data, not source\n*\n")


def prediction_frame(model: str, features: Any, predictions: Any, *, ids: Any, request_id: str, at: Any,
                     version: int | None, arm: str, routing: int | None = None, shadow: bool = False,
                     latency_ms: Any = float("nan"), proba: Any = None) -> Any:
    """Rows of the prediction log for one request or one batch (see the module docstring)."""
    import numpy as np

    values = predictions.tolist() if hasattr(predictions, "tolist") else list(predictions)
    part = features.add_prefix("feature.").reset_index(drop=True)
    if proba is not None:
        part.insert(0, "proba", _positive_proba(proba, len(values)))
    part.insert(0, "prediction", values)
    for name, value in (("latency_ms", latency_ms), ("shadow", shadow), ("routing", -1 if routing is None else routing),
                        ("arm", arm), ("version", -1 if version is None else version), ("model", model),
                        ("time", at), ("row", np.arange(len(values))), ("request_id", request_id), ("id", ids)):
        part.insert(0, name, value)
    return part


def _positive_proba(proba: Any, n: int) -> Any:
    import numpy as np

    p = np.asarray(proba, dtype=float)
    if p.ndim == 2 and p.shape[1] == 2:
        p = p[:, 1]
    if p.ndim != 1 or len(p) != n:
        raise UsageError(f"proba has shape {p.shape} for {n} predictions: give the positive class's probability "
                         "per row (or predict_proba's two columns)")
    return p


def _times(at: Any, n: int) -> Any:
    import numpy as np
    import pandas as pd

    if at is None:
        return np.full(n, _time.time())
    if isinstance(at, (int, float)) and not isinstance(at, bool):
        return np.full(n, float(at))
    numbers = np.asarray(at) if not isinstance(at, (str, _dt.datetime)) else None
    if numbers is not None and numbers.dtype.kind in "iuf":  # epoch seconds, one per row (not nanoseconds)
        if len(numbers) != n:
            raise UsageError(f"time has {len(numbers)} values for {n} rows: give one time, or one per row")
        return numbers.astype(float)
    stamps = pd.to_datetime(pd.Series(at) if not isinstance(at, (str, _dt.datetime)) else [at] * n, utc=True)
    if len(stamps) != n:
        raise UsageError(f"time has {len(stamps)} values for {n} rows: give one time, or one per row")
    # resolution-proof (pandas 3 keeps microseconds, pandas 2 nanoseconds)
    return ((stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(dtype=float)


def _ids(ids: Any, n: int, what: str) -> list[str]:
    out = [str(i) for i in ids]
    if len(out) != n:
        raise UsageError(f"ids has {len(out)} values for {n} {what}: give one id per row")
    return out


def _version(model: str, version: Any) -> int | None:
    if version is None or (isinstance(version, int) and not isinstance(version, bool)):
        return version
    from ..models._refs import resolve, split_ref

    ref = str(version)
    name, _ = split_ref(ref if "@" in ref else f"{model}@{ref}")
    if name != model:
        raise UsageError(f"version {version!r} names model {name}, not {model}")
    return resolve(ref if "@" in ref else f"{model}@{ref}").version


def log_predictions(model: str, X: Any, y_pred: Any, *, ids: Any = None, proba: Any = None,
                    version: Any = None, time: Any = None, arm: str = "batch") -> int:
    """Append a batch job's predictions to ``model``'s prediction log; returns the rows written.

    ``ids`` (one per row) are what :func:`log_outcomes` joins on later; without them each row gets
    a fresh id you cannot join. ``version`` is a reference (``"churn@4"``, ``"champion"``) or a
    version number. ``time`` is one time or one per row (datetimes or epoch seconds; now by default).

    >>> mlnb.monitor.log_predictions("churn", X, model.predict(X), ids=X.index, proba=p, version="churn@4")  # doctest: +SKIP
    """
    import pandas as pd

    from .._project import current_project
    from ..models._refs import validate_name

    validate_name(model)
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    frame.columns = [str(c) for c in frame.columns]
    n = len(frame)
    if len(y_pred) != n:
        raise UsageError(f"{len(y_pred)} predictions for {n} rows of X: give one prediction per row")
    batch = uuid.uuid4().hex
    keys = _ids(ids, n, "rows") if ids is not None else [f"{batch}/{i}" for i in range(n)]
    table = prediction_frame(model, frame, y_pred, ids=keys, request_id=batch, at=_times(time, n),
                             version=_version(model, version), arm=arm, proba=proba)
    return write_partitioned(predictions_dir(current_project(), model), table)


@dataclass(frozen=True)
class Outcomes:
    """What :func:`log_outcomes` did: rows written, and how many ids matched a logged prediction."""

    written: int
    matched: int
    unknown: int

    def __repr__(self) -> str:
        note = f"; {self.unknown} ids match no logged prediction (kept: they join if it is logged later)" if self.unknown else ""
        return f"Outcomes(written={self.written}, matched={self.matched}{note})"


def log_outcomes(model: str, ids: Any, y_true: Any, *, time: Any = None) -> Outcomes:
    """Record true outcomes (labels) for earlier predictions of ``model``, joined by id.

    Ids with no logged prediction are counted in ``unknown`` and kept (the prediction may be
    logged later), never silently dropped. A later outcome for the same id replaces an earlier one.

    >>> mlnb.monitor.log_outcomes("churn", ids, y_true)  # doctest: +SKIP
    Outcomes(written=1000, matched=1000)
    """
    import pandas as pd

    from .._project import current_project
    from ..models._refs import validate_name

    validate_name(model)
    values = list(y_true.tolist() if hasattr(y_true, "tolist") else y_true)
    keys = _ids(ids, len(values), "outcomes")
    project = current_project()
    table = pd.DataFrame({"id": keys, "outcome": values, "time": _times(time, len(values))})
    known = logged_ids(project, model)
    matched = int(table["id"].isin(known).sum())
    written = write_partitioned(outcomes_dir(project, model), table)
    return Outcomes(written=written, matched=matched, unknown=len(keys) - matched)


def logged_ids(project: Any, model: str) -> Any:
    """The ids of every logged prediction of ``model`` (reads only that column)."""
    import pandas as pd

    dataset = _dataset(predictions_dir(project, model))
    if dataset is None:
        return pd.Index([])
    return pd.Index(dataset.to_table(columns=["id"]).column("id").to_pandas())


def _dataset(folder: Path) -> Any:
    import pyarrow.dataset as pads

    files = sorted(str(f) for f in folder.glob("date=*/part-*.parquet"))
    if not files:
        return None
    return pads.dataset(files, format="parquet", partitioning="hive", partition_base_dir=str(folder))


def read_log(model: str, columns: list[str] | None = None, *, start: Any = None, end: Any = None,
             outcomes: bool = True, shadow: bool = False) -> Any:
    """``model``'s logged predictions as a DataFrame, oldest first, with an ``outcome`` column
    (missing where none arrived yet) when ``outcomes``.

    ``columns`` limits what is read (``id`` and ``time`` always come); ``start`` / ``end`` limit the
    time range (``start <= time < end``); shadow answers are left out unless ``shadow``.

    >>> mlnb.monitor.read_log("churn", ["prediction", "proba"], start="2026-11-01")  # doctest: +SKIP
    """
    import pandas as pd
    import pyarrow.compute as pc

    from .._project import current_project
    from ..models._refs import split_ref

    name, _ = split_ref(model)
    project = current_project()
    dataset = _dataset(predictions_dir(project, name))
    if dataset is None:
        frame = pd.DataFrame(columns=list(PREDICTION_COLUMNS))
    else:
        wanted = None if columns is None else list(dict.fromkeys(["id", "time", "shadow", *columns]))
        missing = sorted(set(wanted or ()) - set(dataset.schema.names))
        if missing:
            raise UsageError(f"the prediction log of {name} has no column {missing[0]!r}: it has "
                             f"{', '.join(n for n in dataset.schema.names if n != 'date')}")
        where = None
        for bound, op in ((start, pc.greater_equal), (end, pc.less)):
            if bound is not None:
                cond = op(pc.field("time"), float(_times(bound, 1)[0]))
                where = cond if where is None else where & cond
        if not shadow:
            cond = pc.field("shadow") == False  # noqa: E712 (an expression, not a comparison)
            where = cond if where is None else where & cond
        frame = dataset.to_table(columns=wanted, filter=where).to_pandas()
        frame = frame.sort_values(["time", "row"] if "row" in frame else ["time"], kind="stable").reset_index(drop=True)
    if outcomes:
        frame = frame.merge(read_outcomes(name), on="id", how="left", sort=False)
    return frame


def read_outcomes(model: str) -> Any:
    """The latest outcome per id of ``model`` as a DataFrame ``id, outcome``."""
    import pandas as pd

    from .._project import current_project

    dataset = _dataset(outcomes_dir(current_project(), model))
    if dataset is None:
        return pd.DataFrame({"id": pd.Series(dtype=str), "outcome": pd.Series(dtype=float)})
    table = dataset.to_table(columns=["id", "outcome", "time"]).to_pandas()
    latest = table.sort_values("time", kind="stable").drop_duplicates("id", keep="last")
    return latest[["id", "outcome"]].reset_index(drop=True)
