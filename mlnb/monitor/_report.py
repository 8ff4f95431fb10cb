"""``mlnb.monitor.report``: a model's prediction log, window by window, against its reference.

Per window (see docs/monitoring.md): realized performance where outcomes arrived, estimated
performance (CBPE, :mod:`._cbpe`) for classifiers with probabilities, prediction drift, per-feature
drift and missing-rate change scored against the kept reference profile (never refitted), schema
failures against the model's signature, latency and error rate. Windows are read one at a time
(:class:`._windows.LogReader`); thresholds (static, or mean ± 3σ of the baseline windows) are
applied once every window is scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import NotFound, UsageError
from . import _performance as perf
from ._result import Report
from ._windows import LogReader, Window, WindowSpec, parse_window

NAN = float("nan")
FEATURE = "feature."
#: default static thresholds (lower, upper); every other metric gets a band calibrated on the baseline
STATIC = {"schema.failures": (NAN, 0.0)}
#: the groups of metrics a window is scored for (:func:`groups_of`)
GROUPS = ("realized", "estimated", "drift", "schema", "service")


@dataclass
class _Setup:
    """What every window is scored with, fitted once before the first window is read."""

    spec: WindowSpec
    task: str
    features: list[str]
    profile: Any = None  # the kept reference profile of the features
    profile_note: str = ""
    signature: dict[str, Any] | None = None
    prediction_profile: Any = None
    prediction_column: str = "prediction"
    prediction_note: str = ""
    cbpe: Any = None
    cbpe_note: str = ""
    positive: Any = None
    min_rows: int = 30
    has_proba: bool = False
    outcomes: Any = None  # a Future of the OutcomeIndex (None inside: no outcome log)
    #: the outcomes of the baseline windows' rows, looked up when fitting, by window index
    baseline_outcomes: dict[int, np.ndarray] = field(default_factory=dict)
    drift_config: Any = None
    notes: list[str] = field(default_factory=list)
    groups: frozenset[str] = frozenset()


def report(model: str, window: Any = "1D", reference: Any = "training", *, start: Any = None, end: Any = None,
           baseline: Any = "auto", thresholds: dict[str, Any] | None = None, task: str | None = None,
           sigma: float = 3.0, min_rows: int = 30) -> Report:
    """Monitor ``model`` over windows of its prediction log.

    ``window``: a period (``"1D"``, ``"6h"``) or a row count (``10_000``). ``reference``: what the
    features are compared with — ``"training"`` (the profile kept when the version was registered),
    a DataFrame, or a data reference (``"train@2"``); a DataFrame holding ``proba`` and ``outcome``
    columns (and ``prediction``) is also the reference of estimated performance and prediction drift.
    ``baseline``: the windows that calibrate the threshold bands (mean ± ``sigma``·σ) and, without such a
    DataFrame, estimated performance and prediction drift — ``"auto"`` (the first quarter of the
    windows), an int k (the first k windows), a ``(start, end)`` period, or None.
    ``thresholds``: static bands ``{"accuracy": (0.85, None), "latency.p99": (None, 200)}``.

    >>> report = mlnb.monitor.report("churn", window="1D", reference="training")  # doctest: +SKIP
    >>> report.to_frame()   # one row per (window, metric)                       # doctest: +SKIP
    """
    return _build(model, window, reference, start=start, end=end, baseline=baseline, thresholds=thresholds,
                  task=task, sigma=sigma, min_rows=min_rows)


def latest_report(model: str, window: Any = "1D", metrics: Any = None) -> Report:
    """The report's rows of ``metrics`` (all when None) for its latest window only, with their bands
    calibrated as the whole report calibrates them: only the latest and the baseline windows are
    read and scored (what ``mlnb monitor check`` needs). Each row equals the whole report's."""
    return _build(model, window, "training", metrics=metrics, latest_only=True)


def groups_of(metrics: Any) -> frozenset[str]:
    """The groups of metrics (:data:`GROUPS`) that computing ``metrics`` needs (all for None).
    An estimate's band may fall back to its realized metric's: estimated metrics need realized ones."""
    if metrics is None:
        return frozenset(GROUPS)
    out = set()
    for m in metrics:
        if m.startswith("estimated."):
            out |= {"estimated", "realized"}
        elif m.startswith(("drift.", "missing.")) or m == "prediction.drift":
            out.add("drift")
        elif m == "schema.failures":
            out.add("schema")
        elif m.startswith("latency.") or m == "error_rate":
            out.add("service")
        else:
            out.add("realized")
    return frozenset(out)


def _build(model: str, window: Any, reference: Any, *, start: Any = None, end: Any = None, baseline: Any = "auto",
           thresholds: dict[str, Any] | None = None, task: str | None = None, sigma: float = 3.0,
           min_rows: int = 30, metrics: Any = None, latest_only: bool = False) -> Report:
    from .._project import current_project
    from ..models._refs import split_ref
    from ._log import _times, predictions_dir

    spec = parse_window(window)
    static = _static(thresholds)
    name, _ = split_ref(model)
    bounds = [None if b is None else float(_times(b, 1)[0]) for b in (start, end)]
    reader = LogReader(predictions_dir(current_project(), name), *bounds)
    if not reader.files:
        raise NotFound(f"model {name} has no prediction log: serve it with `mlnb serve {name}` or log a batch "
                       f"with mlnb.monitor.log_predictions({name!r}, X, y_pred)")
    from . import _window_cache

    groups = groups_of(metrics)
    kept = isinstance(reference, str) and reference == "training" and _window_cache.enabled()
    # uncached, the outcome index starts first: it is the longest step before scoring (kept, only
    # the windows to score decide whether, and which of its files, it needs)
    early = None if kept else _read_outcomes(name, groups)
    windows = _window_cache.plan(current_project(), name, reader, spec) if kept else reader.plan(spec)
    if not windows:
        raise NotFound(f"the prediction log of {name} has no rows between {start or 'the start'} and "
                       f"{end or 'the end'}: widen start/end")
    setup = _setup(model, name, reader, spec, windows, reference, task, min_rows, groups, early)
    base = _baseline(baseline, windows)
    scored = windows if not latest_only else [w for w in windows if w.index in base or w.index == windows[-1].index]
    score: Any = lambda w: _score_window(setup, reader, w)  # noqa: E731
    if kept:  # windows whose inputs did not change are read back, not computed; the baseline is
        # fitted each time (a kept fit would be objects, which only pickle keeps, and a pickle in
        # the project can run code when it is read)
        cache = _window_cache.WindowCache(current_project(), name, model, reader, setup, scored, base, bounds)
        _start_outcomes(setup, name)
        _fit_from_baseline(setup, reader, windows, base)
        score = cache.scorer(lambda s, w: _score_window(s, reader, w), _window_cache.outcome_index)
    else:
        _fit_from_baseline(setup, reader, windows, base)
    rows: list[dict[str, Any]] = []
    for part in _map_windows(score, scored):
        rows += part
    if kept:
        cache.trim()
    _apply_thresholds(rows, base, static, sigma)
    return Report(name, spec.text, rows, windows, baseline=sorted(base), notes=setup.notes, task=setup.task)


def _map_windows(fn: Any, windows: list[Window]) -> Any:
    """``fn`` over the windows in order, two at a time: one is read (pyarrow, outside the GIL)
    while the other is scored, so at most two windows' columns are held at once."""
    if len(windows) < 2:
        return map(fn, windows)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2, thread_name_prefix="mlnb-window") as pool:
        return list(pool.map(fn, windows))


def _static(thresholds: dict[str, Any] | None) -> dict[str, tuple[float, float]]:
    out = dict(STATIC)
    for metric, band in (thresholds or {}).items():
        if isinstance(band, (int, float)) or not isinstance(band, (tuple, list)) or len(band) != 2:
            raise UsageError(f"threshold of {metric!r} is {band!r}: give (lower, upper), None for an open side, "
                             "e.g. {'accuracy': (0.85, None)}")
        out[metric] = tuple(NAN if b is None else float(b) for b in band)  # type: ignore[assignment]
    return out


def _baseline(baseline: Any, windows: list[Window]) -> set[int]:
    if baseline is None:
        return set()
    if isinstance(baseline, str) and baseline == "auto":
        return set(range(max(1, len(windows) // 4))) if len(windows) > 1 else set()
    if isinstance(baseline, int) and not isinstance(baseline, bool):
        if baseline < 1:
            raise UsageError(f"baseline={baseline}: give the number of first windows (>= 1), a (start, end) period or None")
        return set(range(min(baseline, len(windows))))
    if isinstance(baseline, (tuple, list)) and len(baseline) == 2:
        from ._log import _times

        lo, hi = (float(_times(b, 1)[0]) for b in baseline)
        return {w.index for w in windows if w.start >= lo and w.end <= hi}
    raise UsageError(f"baseline={baseline!r}: give 'auto', a number of first windows, a (start, end) period or None")


def _read_outcomes(name: str, groups: frozenset[str]) -> Any:
    """A Future of the model's OutcomeIndex, built in a thread (pyarrow and the kernels hold no
    GIL) while the windows are planned and the baseline read; None when no group needs outcomes
    (the estimate's calibration on baseline windows needs them too)."""
    if not groups & {"realized", "estimated"}:
        return None
    from concurrent.futures import ThreadPoolExecutor

    from ._join import OutcomeIndex

    pool = ThreadPoolExecutor(1, thread_name_prefix="mlnb-outcomes")
    future = pool.submit(OutcomeIndex.read, _outcome_folder(name))
    pool.shutdown(wait=False)
    return future


def _outcome_folder(name: str) -> Any:
    from .._project import current_project
    from ._log import outcomes_dir

    return outcomes_dir(current_project(), name)


def _setup(model: str, name: str, reader: LogReader, spec: WindowSpec, windows: list[Window], reference: Any,
           task: str | None, min_rows: int, groups: frozenset[str] = frozenset(), outcomes: Any = None) -> _Setup:
    from ..checks._drift import DriftConfig

    features = [c[len(FEATURE):] for c in reader.names if c.startswith(FEATURE)]
    has_proba = "proba" in reader.names
    first = reader.read(windows[0], ["prediction"], spec.rows is not None)["prediction"]
    setup = _Setup(spec, perf.infer_task(task, first, has_proba), features, min_rows=min_rows,
                   has_proba=has_proba, drift_config=DriftConfig(min_rows=min_rows), groups=groups)
    version = _version(model)
    setup.signature = version.signature if version is not None else None
    _reference(setup, reference, version, model)
    setup.outcomes = outcomes
    return setup


def _start_outcomes(setup: _Setup, name: str) -> None:
    """The outcome index, when the groups need it, built in a thread while the baseline is read
    and fitted (the cached path: only when the baseline fit is not kept)."""
    setup.outcomes = _read_outcomes(name, setup.groups)


def _version(model: str) -> Any:
    from ..models._refs import resolve

    try:
        return resolve(model)
    except NotFound:
        return None


def _reference(setup: _Setup, reference: Any, version: Any, model: str) -> None:
    """The features' reference profile (kept, or fitted once from a given frame)."""
    import pandas as pd

    from .. import checks

    if isinstance(reference, str) and reference == "training":
        if version is None or not version.profile_md5:
            what = f"{model} is not registered" if version is None else f"{version.ref} keeps none"
            setup.profile_note = (f"no training profile: {what} (register the model with data=X_train), "
                                  "or pass reference= a DataFrame")
            return
        from types import SimpleNamespace

        from ..models import _files
        from .._project import current_project

        cached = SimpleNamespace(md5=version.profile_md5, ref=f"{version.ref} (training profile)", is_dir=False)
        project = current_project()
        # DVC's default cache layout first (a file named by its md5 holds those bytes): no DVC repo opened
        path = project.root / ".dvc" / "cache" / "files" / "md5" / cached.md5[:2] / cached.md5[2:]
        setup.profile = checks.load_profile(path if path.is_file() else _files.local_path(project, cached))  # type: ignore[arg-type]
        setup.notes.append(f"features compared with the training profile of {version.ref}")
        return
    frame = reference
    if isinstance(reference, str):
        from .. import data

        frame = data.load(reference)
    if not isinstance(frame, pd.DataFrame):
        raise UsageError(f"reference={type(reference).__name__}: give 'training', a DataFrame or a data reference "
                         "such as 'train@2'")
    columns = [c for c in setup.features if c in frame.columns]
    if not columns:
        raise UsageError(f"the reference frame has none of the logged features ({', '.join(setup.features[:8])})")
    setup.profile = checks.profile(frame[columns])
    setup.notes.append(f"features compared with the given reference ({len(frame):,} rows)")
    if {"proba", "outcome"} <= set(frame.columns) and setup.task == "classification":
        _fit_cbpe(setup, frame["proba"].to_numpy(), perf.labels(frame["outcome"].to_numpy()),
                  frame["prediction"].to_numpy() if "prediction" in frame else None, "the given reference")
    column = "proba" if setup.has_proba and "proba" in frame else "prediction"
    if column in frame:
        setup.prediction_column = column
        setup.prediction_profile = checks.profile(frame[[column]])


def _fit_cbpe(setup: _Setup, proba: np.ndarray, outcome: np.ndarray, prediction: Any, where: str) -> None:
    from . import _cbpe

    known = ~perf.missing(outcome)
    classes = perf.unique(np.concatenate([outcome[known], perf.labels(prediction)] if prediction is not None
                                       else [outcome[known]]))
    if len(classes) != 2:
        setup.cbpe_note = f"estimated performance needs two classes; {where} has {len(classes)}"
        return
    setup.positive = classes[-1]
    setup.cbpe, setup.cbpe_note = _cbpe.fit(proba, outcome, setup.positive)
    if setup.cbpe is not None:
        setup.notes.append(f"estimated performance calibrated on {where} ({setup.cbpe.n_reference_:,} rows with outcomes)")


def _fit_from_baseline(setup: _Setup, reader: LogReader, windows: list[Window], base: set[int]) -> None:
    """Estimated performance and prediction drift take the baseline windows as reference when no
    frame gave one (read here once, three columns)."""

    from .. import checks

    want_cbpe = (setup.cbpe is None and not setup.cbpe_note and setup.task == "classification" and setup.has_proba
                 and "estimated" in setup.groups)
    want_pred = setup.prediction_profile is None and "drift" in setup.groups
    if not base:
        if want_cbpe:
            setup.cbpe_note = "no estimated performance: give baseline= (windows with outcomes) or a reference frame with proba and outcome"
        if want_pred:
            setup.prediction_note = "no prediction drift: give baseline= or a reference frame with a prediction column"
        return
    if not (want_cbpe or want_pred):
        return
    cols = ["id", "prediction"] + (["proba"] if setup.has_proba else [])
    import pyarrow as pa

    from ._windows import WindowFrame

    parts = [reader.read(windows[i], cols, setup.spec.rows is not None).table for i in sorted(base)]
    frame = WindowFrame(pa.concat_tables(parts, promote_options="default"))
    span = f"baseline windows {min(base)}–{max(base)}"
    if want_pred:
        setup.prediction_column = "proba" if setup.has_proba else "prediction"
        setup.prediction_profile = checks.profile(frame.pandas([setup.prediction_column]))
        setup.notes.append(f"prediction drift against {span}")
    if want_cbpe:
        outcome = _outcomes_of(setup, frame.arrow("id"))
        _fit_cbpe(setup, frame["proba"].astype(float), outcome, frame["prediction"], span)
        if "realized" in setup.groups:  # kept for the windows' realized metrics: looked up once
            bounds = np.cumsum([0, *(len(part) for part in parts)])
            setup.baseline_outcomes = {i: outcome[a:b] for i, a, b in zip(sorted(base), bounds[:-1], bounds[1:])}


def _outcomes_of(setup: _Setup, ids: Any) -> np.ndarray:
    """The outcome of each id (an Arrow array; NaN where none arrived)."""
    index = setup.outcomes.result() if setup.outcomes is not None else None
    if index is None:
        return np.full(len(ids), NAN)
    return index.lookup(ids)


def _score_window(setup: _Setup, reader: LogReader, w: Window) -> list[dict[str, Any]]:
    g = setup.groups
    cols = [*(["id"] if "realized" in g else []), "prediction",
            *(["latency_ms", *(["error"] if "error" in reader.names else [])] if "service" in g else []),
            *(["proba"] if setup.has_proba and g & {"realized", "estimated", "drift"} else []),
            *(FEATURE + f for f in setup.features if g & {"drift", "schema"})]
    frame = reader.read(w, cols, setup.spec.rows is not None)
    kept = setup.baseline_outcomes.pop(w.index, None)
    if kept is not None and len(kept) == len(frame):  # the same rows, read again in the same order
        frame.derived("outcomes", lambda: kept)
    out: dict[str, tuple[float, str]] = {}
    for group, metrics in (("realized", _realized), ("estimated", _estimated), ("drift", _drift),
                           ("schema", _schema), ("service", _service)):
        if group in g:
            out.update(metrics(setup, frame))
    rows = []
    for metric, (value, note, *decision) in out.items():
        decided, band = decision if decision else (None, (NAN, NAN))
        rows.append({"window": w.index, "start": w.start, "end": w.end, "n": w.n, "metric": metric,
                     "value": float(value), "lower": band[0], "upper": band[1], "alert": False, "note": note,
                     "_decided": decided})
    return rows


def _realized(setup: _Setup, frame: Any) -> dict[str, tuple[Any, ...]]:
    if not len(frame):
        return {m: (NAN, "no rows in this window") for m in
                (perf.REGRESSION if setup.task == "regression" else perf.CLASSIFICATION)}
    y_true = frame.derived("outcomes", lambda: _outcomes_of(setup, frame.arrow("id")))
    known = ~perf.missing(y_true)
    y_pred = perf.labels(frame["prediction"])[known]
    if setup.task == "regression":
        return perf.regression(y_pred, y_true[known].astype(float), setup.min_rows)
    proba = frame["proba"].astype(float)[known] if setup.has_proba else None
    order = (lambda: _subset_order(frame, known)) if setup.has_proba else None
    return perf.classification(y_pred, perf.labels(y_true[known]), proba, setup.min_rows, order)


def _estimated(setup: _Setup, frame: Any) -> dict[str, tuple[Any, ...]]:
    if setup.task != "classification" or not setup.has_proba:
        return {}
    names = [f"estimated.{m}{s}" for m in perf.CLASSIFICATION for s in ("", ".lower", ".upper")]
    if setup.cbpe is None:
        return {n: (NAN, setup.cbpe_note) for n in names}
    if len(frame) < setup.min_rows:
        return {n: (NAN, f"{len(frame)} rows (< {setup.min_rows}): not estimated") for n in names}
    proba = frame["proba"].astype(float)
    predicted = perf.labels(frame["prediction"]) == setup.positive
    out: dict[str, tuple[Any, ...]] = {}
    for m, (value, lo, hi) in setup.cbpe.estimate(proba, predicted, _proba_order(frame)).items():
        out[f"estimated.{m}"] = (value, "")
        out[f"estimated.{m}.lower"] = (lo, f"lower end of the estimate's ±{setup.cbpe.z:g}σ interval")
        out[f"estimated.{m}.upper"] = (hi, f"upper end of the estimate's ±{setup.cbpe.z:g}σ interval")
    return out


def _proba_order(frame: Any) -> np.ndarray:
    """``argsort_desc`` of the window's probabilities, sorted once for realized and estimated
    performance (kept on the frame)."""
    from ._rank_kernels import argsort_desc

    return frame.derived("proba order", lambda: argsort_desc(frame["proba"].astype(float)))


def _subset_order(frame: Any, known: np.ndarray) -> np.ndarray:
    from ._rank_kernels import subset_order

    return subset_order(_proba_order(frame), known)


def _drift(setup: _Setup, frame: Any) -> dict[str, tuple[Any, ...]]:
    from ..checks._drift import score

    out: dict[str, tuple[Any, ...]] = {}
    small = len(frame) < setup.min_rows
    small_note = f"{len(frame)} rows (< {setup.min_rows}): drift not computed"
    if setup.prediction_profile is None:
        out["prediction.drift"] = (NAN, setup.prediction_note)
    elif small:
        out["prediction.drift"] = (NAN, small_note)
    else:
        row = score(setup.prediction_profile, frame.pandas([setup.prediction_column]), config=setup.drift_config).rows[0]
        out["prediction.drift"] = (row["score"], _drift_note(row, f"{setup.prediction_column}: "),
                                   _distribution_drifted(row, setup), (NAN, row["threshold"]))
    names = [f for f in setup.features if setup.profile is not None and f in setup.profile.columns]
    if setup.profile is None or small:
        note = setup.profile_note if setup.profile is None else small_note
        out["drift.share"] = (NAN, note)
        for f in setup.features:
            out[f"drift.{f}"] = out[f"missing.{f}"] = (NAN, note)
        return out
    window = frame.pandas([FEATURE + f for f in names], FEATURE)
    drift = score(setup.profile, window, columns=names, config=setup.drift_config)
    out["drift.share"] = (drift.share, f"{len(drift.drifted)} of {drift.n_tested} features drifted"
                          + (f": {', '.join(drift.drifted[:5])}" if drift.drifted else ""))
    for row in drift.rows:
        f = row["column"]
        out[f"drift.{f}"] = (row["score"], _drift_note(row), _distribution_drifted(row, setup), (NAN, row["threshold"]))
        delta = row["missing_cur"] - row["missing_ref"]
        moved = "missing rate" in row["reason"]
        limit = setup.drift_config.missing_threshold
        out[f"missing.{f}"] = (delta, f"missing {row['missing_ref']:.1%} -> {row['missing_cur']:.1%}"
                               if moved else "", moved, (-limit, limit))
    for f in setup.features:
        if f"drift.{f}" not in out:
            out[f"drift.{f}"] = out[f"missing.{f}"] = (NAN, "not in the reference: not compared")
    return out


def _distribution_drifted(row: dict[str, Any], setup: _Setup) -> bool:
    if row["status"] in ("removed",) or "type changed" in row["reason"]:
        return True
    alpha = setup.drift_config.alpha
    significant = alpha is None or row["p_adjusted"] < alpha
    return bool(significant and row["score"] >= row["threshold"])


def _drift_note(row: dict[str, Any], prefix: str = "") -> str:
    parts = [p for p in (row["reason"], row["notes"]) if p]
    if row["metric"]:
        parts.insert(0, f"{row['metric']} (threshold {row['threshold']:g})")
    return prefix + "; ".join(parts)


def _schema(setup: _Setup, frame: Any) -> dict[str, tuple[Any, ...]]:
    if not setup.signature:
        return {"schema.failures": (NAN, "no signature: register the model with data= to check inputs")}
    from ..checks import Schema
    from ..models._query import _STRUCTURE

    from ._schema_fast import structure_failures

    columns = {n: {k: v for k, v in spec.items() if k in _STRUCTURE} for n, spec in setup.signature["columns"].items()}
    fast = structure_failures(setup.signature, columns, frame.table, FEATURE)
    if fast is not None:  # counted on the Arrow columns: the plain path's numbers (module _schema_fast)
        return {"schema.failures": (float(fast[0]), ", ".join(sorted(set(fast[1]))[:5]))}
    inputs = frame.pandas([c for c in frame.columns if c.startswith(FEATURE)], FEATURE)
    result = Schema.from_dict({**setup.signature, "columns": columns}, source="signature").validate(inputs)
    failed = ", ".join(sorted({f"{c['column']}:{c['check']}" for c in result.failed_checks})[:5])
    return {"schema.failures": (float(result.n_failures), failed)}


def _service(setup: _Setup, frame: Any) -> dict[str, tuple[Any, ...]]:
    lat = frame["latency_ms"].astype(float) if "latency_ms" in frame else np.empty(0)
    lat = lat[np.isfinite(lat)]
    out: dict[str, tuple[Any, ...]] = {}
    for metric, q, need in (("latency.p50", 50, setup.min_rows), ("latency.p99", 99, 100)):
        if not len(lat):
            out[metric] = (NAN, "no latencies: a batch log (mlnb serve logs them)")
        elif len(lat) < need:
            out[metric] = (NAN, f"{len(lat)} latencies (< {need}): not computed")
        else:
            out[metric] = (float(np.percentile(lat, q)), "milliseconds")
    if "error" in frame:
        import pandas as pd

        error = pd.Series(frame["error"])
        errors = error.notna() & (error.astype(str) != "")
        out["error_rate"] = (float(errors.mean()) if len(frame) else NAN, "")
    else:
        out["error_rate"] = (NAN, "the log holds answered requests only: refusals are counted on mlnb serve's "
                                  "/metrics (mlnb_request_errors)")
    return out


def _apply_thresholds(rows: list[dict[str, Any]], base: set[int], static: dict[str, tuple[float, float]],
                      sigma: float) -> None:
    """Bands (static, else mean ± sigma·σ of the baseline windows) and alerts, in place."""
    by_metric: dict[str, list[float]] = {}
    for r in rows:
        if r["window"] in base and np.isfinite(r["value"]):
            by_metric.setdefault(r["metric"], []).append(r["value"])
    bands: dict[str, tuple[float, float]] = {}
    for metric, values in by_metric.items():
        if len(values) >= 2:
            mu, sd = float(np.mean(values)), float(np.std(values, ddof=1))
            bands[metric] = (mu - sigma * sd, mu + sigma * sd)
    for r in rows:
        metric, decided = r["metric"], r.pop("_decided")
        if metric.endswith((".lower", ".upper")):
            continue
        realized = metric[len("estimated."):] if metric.startswith("estimated.") else None
        band = static.get(metric) or (static.get(realized) if realized else None)
        if band is None and decided is not None:  # drift: the checks' decision; the band is its threshold
            r["alert"] = bool(decided)
            continue
        band = band or bands.get(metric) or (bands.get(realized) if realized else None)
        if band is None:
            continue
        r["lower"], r["upper"] = band
        v = r["value"]
        r["alert"] = bool(np.isfinite(v) and ((np.isfinite(band[0]) and v < band[0]) or (np.isfinite(band[1]) and v > band[1])))
