"""Drift between a reference and a window: per-column statistics, decisions and a dataset verdict.

Default decision, per column (see docs/checks.md):

* the distribution **drifted** when its test is significant after the Benjamini-Hochberg
  correction across all tests of the report (KS for numeric and datetime columns, chi-square for
  categorical ones; ``alpha=0.05``) **and** its effect size reaches the threshold
  (Wasserstein-1 / reference std >= 0.1, or Jensen-Shannon distance, base 2, >= 0.1);
* the missing rate **drifted** when it changed by at least 0.05 and a chi-square test of
  missing-vs-present is significant (same correction);
* a reference column absent from the window drifted (status ``removed``: a CI gate notices a
  schema change); a column new in the window is its own finding (``added``) and fails nothing;
* an identifier-like column (see :mod:`mlnb.checks._identifiers`) is ``not tested``: its
  distribution is not compared, its missing rate still is.

The dataset drifted when at least one column did (or, with ``drift_share``, when that share of
the tested columns did).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from ..errors import UsageError
from ._columns import CATEGORICAL, ColumnData, as_text, compared_as_text
from ._identifiers import identifier_like
from ._parallel import map_columns
from ._profile import ColumnProfile, Profile
from .stats import categorical as cat_stats
from .stats import numeric as num_stats
from .stats.multitest import adjust

__all__ = ["DEFAULT_THRESHOLDS", "DriftConfig", "drift", "score"]

NUMERIC_METRICS = ("wasserstein", "psi", "ks")
CATEGORICAL_METRICS = ("jensenshannon", "psi")
DEFAULT_THRESHOLDS = {"wasserstein": 0.1, "psi": 0.2, "ks": 0.1, "jensenshannon": 0.1}
DISPLAY_BINS = 20
TOP_CATEGORIES = 12
#: windows up to this size always get the exact Wasserstein distance (refining is cheap there)
EXACT_W1_MAX = 100_000


@dataclass
class DriftConfig:
    """How columns are judged. Every field can be passed to ``drift()`` / ``Profile.drift()``.

    ``thresholds`` maps a column name (or a metric name, to change its default) to a threshold;
    ``metrics`` maps a column to its effect-size metric (numeric: wasserstein, psi, ks;
    categorical: jensenshannon, psi). ``alpha=None`` decides on effect size alone.
    """

    alpha: float | None = 0.05
    correction: str = "bh"
    numeric_metric: str = "wasserstein"
    categorical_metric: str = "jensenshannon"
    thresholds: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, str] = field(default_factory=dict)
    missing_threshold: float = 0.05
    drift_share: float | None = None
    min_rows: int = 30
    exact: bool = False
    identifier_share: float | None = 0.95

    @classmethod
    def of(cls, **kwargs: Any) -> DriftConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise UsageError(f"unknown drift option(s) {unknown}: use {sorted(known)}")
        cfg = cls(**kwargs)
        cfg._check()
        return cfg

    def _check(self) -> None:
        if self.alpha is not None and not 0 < self.alpha < 1:
            raise UsageError(f"alpha must be between 0 and 1, got {self.alpha}")
        for col, m in {"numeric_metric": self.numeric_metric, "categorical_metric": self.categorical_metric,
                       **self.metrics}.items():
            if m not in DEFAULT_THRESHOLDS:
                raise UsageError(f"unknown metric {m!r} for {col}: use one of {sorted(DEFAULT_THRESHOLDS)}")
        if self.drift_share is not None and not 0 < self.drift_share <= 1:
            raise UsageError(f"drift_share must be in (0, 1], got {self.drift_share}")
        if self.identifier_share is not None and not 0 < self.identifier_share <= 1:
            raise UsageError(f"identifier_share must be in (0, 1] (None tests every column), got {self.identifier_share}")

    def metric_for(self, column: str, kind: str) -> str:
        m = self.metrics.get(column) or (self.categorical_metric if kind == CATEGORICAL else self.numeric_metric)
        allowed = CATEGORICAL_METRICS if kind == CATEGORICAL else NUMERIC_METRICS
        if m not in allowed:
            raise UsageError(f"metric {m!r} does not apply to {kind} column {column!r}: use one of {allowed}")
        return m

    def threshold_for(self, column: str, metric: str) -> float:
        if column in self.thresholds:
            return float(self.thresholds[column])
        return float(self.thresholds.get(metric, DEFAULT_THRESHOLDS[metric]))


def drift(reference: Any, current: Any, columns: list[str] | None = None, **config: Any) -> Any:
    """Compare two datasets in one call: ``profile(reference).drift(current)``.

    >>> report = mlnb.checks.drift(train_df, new_df)       # doctest: +SKIP
    >>> report.drifted, report.to_frame()                   # doctest: +SKIP
    """
    from ._inputs import is_frame
    from ._profile import profile

    ref_columns = columns
    if columns and is_frame(reference):  # a column only in `current` is reported, not an error
        ref_columns = [c for c in columns if c in reference.columns]
    return profile(reference, columns=ref_columns, index=False).drift(current, columns=columns, **config)


def _window(profile_: Profile, current: Any, columns: list[str] | None) -> tuple[dict[str, Callable[[], ColumnData]], int]:
    """Per column of the window, a function returning its data (run in the worker threads)."""
    from ._columns import column_data
    from ._inputs import check_frame, is_frame

    if is_frame(current):
        check_frame(current, "current")
        by_name = {str(c): c for c in current.columns}

        def getter(name: str) -> Callable[[], ColumnData]:
            ref = profile_.columns.get(name)
            s = current[by_name[name]]
            known = list(ref.counts) if ref is not None and ref.counts else None
            text = ref is not None and ref.kind == CATEGORICAL and compared_as_text(ref.notes)
            kind = CATEGORICAL if text else _same_kind(ref.kind if ref else None, s)
            return lambda: column_data(s, name, kind, known, text=text if ref is not None else None)

        return {n: getter(n) for n in (columns or list(by_name)) if n in by_name}, len(current)
    from ._profile import profile

    grids = {n: g for n, c in profile_.columns.items() if (g := c.grid()) is not None}
    other = profile(current, columns=columns, index=False, grids=grids)
    return {n: (lambda c=c: c.data()) for n, c in other.columns.items()}, other.n_rows


def _same_kind(ref_kind: str | None, s: Any) -> str | None:
    """Keep the reference's kind when the window's dtype is compatible (e.g. all-NaN object)."""
    from ._columns import kind_of

    kind = kind_of(s)
    if ref_kind and ref_kind != kind and s.isna().all():
        return ref_kind
    return kind


def score(profile_: Profile, current: Any, columns: list[str] | None = None, config: DriftConfig | None = None) -> Any:
    """Score a window against a fitted profile; the engine behind ``Profile.drift``."""
    from .report import DriftReport

    config = config or DriftConfig()
    window, n_cur = _window(profile_, current, columns)
    if n_cur == 0:
        raise UsageError("the current data has no rows: nothing to compare")
    names = list(columns) if columns else list(profile_.columns) + [n for n in window if n not in profile_.columns]
    unknown = [n for n in names if n not in profile_.columns and n not in window]
    if unknown:
        raise UsageError(f"column(s) {unknown} are in neither dataset")

    def one(name: str) -> dict[str, Any]:
        ref, get = profile_.columns.get(name), window.get(name)
        cur = get() if get else None
        if ref is None or cur is None:
            return _one_sided(name, ref, cur)
        return _compare(ref, cur, config)

    rows = map_columns(one, names)
    _decide(rows, config)
    return DriftReport(rows, config, n_ref=profile_.n_rows, n_cur=n_cur)


def _one_sided(name: str, ref: ColumnProfile | None, cur: ColumnData | None) -> dict[str, Any]:
    kind = (ref or cur).kind  # type: ignore[union-attr]
    row = _base_row(name, kind, ref, cur)
    if ref is None:
        row.update(notes="only in current (not compared)", drifted=False, reason="", status="added")
    else:
        row.update(notes="absent from current", drifted=True, reason="absent from current", forced=True,
                   status="removed")
    return row


def _base_row(name: str, kind: str, ref: ColumnProfile | None, cur: ColumnData | None) -> dict[str, Any]:
    nan = float("nan")
    return {
        "column": name, "kind": kind,
        "n_ref": (ref.n_rows - ref.n_missing - ref.n_inf) if ref else 0,
        "n_cur": cur.n_values if cur else 0,
        "test": None, "statistic": nan, "p_value": nan, "p_adjusted": nan,
        "metric": None, "score": nan, "score_error": 0.0, "ks_error": 0.0, "threshold": nan, "psi": nan,
        "missing_ref": ref.missing_rate if ref else nan,
        "missing_cur": (cur.n_missing / cur.n_rows if cur.n_rows else nan) if cur else nan,
        "missing_p": nan, "missing_p_adjusted": nan,
        "drifted": False, "status": "", "reason": "", "notes": "", "reliable": True, "hist": None,
    }


def _compare(ref: ColumnProfile, cur: ColumnData, config: DriftConfig) -> dict[str, Any]:
    row = _base_row(ref.name, ref.kind, ref, cur)
    notes = list(dict.fromkeys([*ref.notes, *cur.notes]))
    if (ref.kind == CATEGORICAL) != (cur.kind == CATEGORICAL):
        notes.append(f"type changed: {ref.kind} in reference, {cur.kind} in current")
        row.update(notes="; ".join(notes), drifted=True, reason="type changed", forced=True)
        return row
    identifier = identifier_like(ref, config.identifier_share, config.min_rows)
    if identifier is None:
        metric = config.metric_for(ref.name, ref.kind)
        row.update(metric=metric, threshold=config.threshold_for(ref.name, metric))
    m_ref, m_cur = ref.n_missing, cur.n_missing
    if ref.n_rows and cur.n_rows:
        _, row["missing_p"] = cat_stats.chi2_homogeneity(
            np.array([m_ref, ref.n_rows - m_ref], float), np.array([m_cur, cur.n_rows - m_cur], float))
    if identifier is not None:
        notes.append(f"not tested: {identifier}; its missing rate is still compared")
    elif row["n_ref"] == 0 or row["n_cur"] == 0:
        notes.append("no values in " + ("reference" if row["n_ref"] == 0 else "current") + ": distribution not compared")
    elif ref.kind == CATEGORICAL:
        _categorical(ref, cur, row, notes)
    elif ref.numeric is None or cur.values is None:
        _numeric_sketch(ref, cur, row, notes)
    else:
        _numeric(ref, cur, row, notes, config)
    if 0 < min(row["n_ref"], row["n_cur"]) < config.min_rows:
        row["reliable"] = False
        notes.append(f"small sample ({min(row['n_ref'], row['n_cur'])} values < {config.min_rows}): the test has little power")
    row["notes"] = "; ".join(notes)
    return row


def _numeric(ref: ColumnProfile, cur: ColumnData, row: dict[str, Any], notes: list[str], config: DriftConfig) -> None:
    r = ref.numeric
    assert r is not None and cur.values is not None
    w = num_stats.BinnedWindow.of(r, cur.values)
    cdfs = num_stats._Cdfs(r, w)
    d, p = num_stats.ks_test(r, w, cdfs)
    scale = r.std if r.std > 0 else 1.0
    if not r.std > 0:
        notes.append("reference is constant: Wasserstein distance not normalised")
    est = num_stats.wasserstein(r, w, exact=config.exact or w.m <= EXACT_W1_MAX, cdfs=cdfs)
    thr = row["threshold"]
    if not est.exact and row["metric"] == "wasserstein" and est.lower / scale < thr <= est.upper / scale:
        est = num_stats.wasserstein(r, w, exact=True, cdfs=cdfs)
    psi = num_stats.psi(r, w)
    score = {"wasserstein": est.value / scale, "psi": psi, "ks": d}[row["metric"]]
    row.update(test="ks", statistic=d, p_value=p, score=score, psi=psi, wasserstein=est.value / scale,
               score_error=(est.upper - est.lower) / 2 / scale if row["metric"] == "wasserstein" else 0.0,
               hist=_numeric_hist(r, w))


def _on_one_grid(ref: ColumnProfile, cur: ColumnData) -> tuple[Any, Any] | None:
    """Both sides as histograms on one grid (a side with its values is binned on the other's)."""
    def as_sketch(sketch: Any, values: np.ndarray | None, grid: Any) -> Any:
        if sketch is not None and (sketch.center, sketch.floor) == (grid.center, grid.floor):
            return sketch
        if values is None:
            return None
        out = grid.empty()
        out.add(values)
        return out

    ref_values = ref.numeric.values if ref.numeric is not None else None
    grid = ref.sketch if ref_values is None else cur.sketch
    r, c = as_sketch(ref.sketch, ref_values, grid), as_sketch(cur.sketch, cur.values, grid)
    return (r, c) if r is not None and c is not None else None


def _numeric_sketch(ref: ColumnProfile, cur: ColumnData, row: dict[str, Any], notes: list[str]) -> None:
    """KS, Wasserstein and PSI from fine histograms (too many values to keep): bounded, and said so."""
    from .stats.sketch import MANTISSA_BITS, compare

    pair = _on_one_grid(ref, cur)
    if pair is None:
        notes.append("not compared: both sides are histograms on different grids (profile the window "
                     "against this reference)")
        return
    cmp = compare(*pair)
    std = ref.numeric.std if ref.numeric is not None else (ref.moments or (1.0, 1.0))[1]
    scale = std if std > 0 else 1.0
    if not std > 0:
        notes.append("reference is constant: Wasserstein distance not normalised")
    p = num_stats.ks_pvalue(cmp.ks, cmp.n, cmp.m)
    p_range = num_stats.ks_pvalue(cmp.ks_upper, cmp.n, cmp.m), num_stats.ks_pvalue(cmp.ks_lower, cmp.n, cmp.m)
    w1, w1_err = cmp.w1 / scale, cmp.w1_error / scale
    score = {"wasserstein": w1, "psi": cmp.psi, "ks": cmp.ks}[row["metric"]]
    error = {"wasserstein": w1_err, "psi": float("nan"), "ks": cmp.ks_error}[row["metric"]]
    notes.append(f"from fine histograms of all {cmp.n:,} and {cmp.m:,} values (bins of 2^-{MANTISSA_BITS} "
                 f"of the distance from the centre): KS D {cmp.ks:.4g} ± {cmp.ks_error:.2g} (p-value in "
                 f"[{p_range[0]:.2g}, {p_range[1]:.2g}]), Wasserstein "
                 f"{w1:.4g} ± {w1_err:.2g}, PSI on bin edges within one bin of the deciles; counts, "
                 "missing, mean, std, min, max exact")
    row.update(test="ks", statistic=cmp.ks, p_value=p, score=score, psi=cmp.psi, wasserstein=w1,
               score_error=error, ks_error=cmp.ks_error, hist=_sketch_hist(*pair))


def _sketch_hist(r: Any, c: Any) -> dict[str, Any]:
    """Counts of both histograms on about DISPLAY_BINS bins cut at the reference quantiles."""
    first = min(r.first, c.first)
    stop = max(r.first + len(r.counts), c.first + len(c.counts))
    rc, _ = r.aligned(first, stop)
    cc, _ = c.aligned(first, stop)
    cum = np.cumsum(rc)
    cut = np.unique(np.searchsorted(cum, cum[-1] * np.arange(1, DISPLAY_BINS) / DISPLAY_BINS, side="left"))
    cut = cut[cut < len(rc) - 1]
    edges = r.upper_edges(np.arange(first, stop, dtype=np.int64)[cut])
    rcum = np.concatenate([[0], cum[cut], [cum[-1]]])
    ccum = np.concatenate([[0], np.cumsum(cc)[cut], [cc.sum()]])
    bounds = [min(r.min, c.min)] + [float(v) for v in edges] + [max(r.max, c.max)]
    return {"edges": bounds, "ref": np.diff(rcum).tolist(), "cur": np.diff(ccum).tolist()}


def _numeric_hist(r: num_stats.NumericReference, w: num_stats.BinnedWindow) -> dict[str, Any]:
    """Counts of both samples on reference-quantile display bins, plus the outer bins."""
    idx = r.quantile_edge_index(DISPLAY_BINS)
    e = r.bins.edges
    cut = np.unique(np.concatenate([[0], idx, [len(e) - 1]]))
    rc = np.concatenate([[0], r.cum[cut], [r.n]])
    cc = np.concatenate([[0], w.cum[cut], [w.m]])
    bounds = [min(w.min, r.min, float(e[0]))] + [float(v) for v in e[cut]] + [max(w.max, r.max, float(e[-1]))]
    return {"edges": bounds, "ref": np.diff(rc).tolist(), "cur": np.diff(cc).tolist()}


def _categorical(ref: ColumnProfile, cur: ColumnData, row: dict[str, Any], notes: list[str]) -> None:
    ref_counts, cur_counts = ref.counts or {}, cur.counts or {}
    if compared_as_text(ref.notes) or compared_as_text(cur.notes):  # a profile scored against a profile
        ref_counts, cur_counts = as_text(ref_counts), as_text(cur_counts)
    cats, r, c = cat_stats.align_counts(ref_counts, cur_counts)
    stat, p = cat_stats.chi2_homogeneity(r, c)
    js = cat_stats.jensen_shannon(r, c)
    psi = cat_stats.psi(r, c)
    new = [k for k, rv in zip(cats, r) if rv == 0]
    if new:
        shown = ", ".join(map(str, new[:5])) + (" ..." if len(new) > 5 else "")
        notes.append(f"{len(new)} categories new in current ({shown})")
    expected = np.outer([r.sum(), c.sum()], (r + c) / (r.sum() + c.sum()))
    if len(cats) > 1 and (expected < 5).mean() > 0.2:
        notes.append("many expected counts < 5: chi-square p-value approximate")
    score = {"jensenshannon": js, "psi": psi}[row["metric"]]
    row.update(test="chi2", statistic=stat, p_value=p, score=score, psi=psi, jensenshannon=js,
               hist=_categorical_hist(cats, r, c))


def _categorical_hist(cats: list[Any], r: np.ndarray, c: np.ndarray) -> dict[str, Any]:
    share = np.maximum(r / max(r.sum(), 1), c / max(c.sum(), 1))
    top = np.argsort(-share, kind="stable")[:TOP_CATEGORIES]
    rest = np.setdiff1d(np.arange(len(cats)), top)
    labels = [str(cats[i]) for i in top]
    ref_counts, cur_counts = r[top].tolist(), c[top].tolist()
    if len(rest):
        labels.append(f"(other {len(rest)})")
        ref_counts.append(float(r[rest].sum()))
        cur_counts.append(float(c[rest].sum()))
    return {"categories": labels, "ref": ref_counts, "cur": cur_counts}


def _decide(rows: list[dict[str, Any]], config: DriftConfig) -> None:
    family = [r["p_value"] for r in rows] + [r["missing_p"] for r in rows]
    adjusted = adjust(family, config.correction)
    k = len(rows)
    for i, row in enumerate(rows):
        row["p_adjusted"], row["missing_p_adjusted"] = adjusted[i], adjusted[k + i]
        if not row.pop("forced", False):
            _decide_row(row, config)
        row["status"] = row["status"] or ("drift" if row["drifted"] else "not tested" if row["test"] is None else "ok")


def _decide_row(row: dict[str, Any], config: DriftConfig) -> None:
    """The default decision rule for one compared column (module docstring)."""
    reasons = []
    significant = config.alpha is None or row["p_adjusted"] < config.alpha
    if significant and row["score"] >= row["threshold"]:
        reasons.append(f"{row['metric']} {row['score']:.3g} >= {row['threshold']:g}")
    delta = row["missing_cur"] - row["missing_ref"]
    missing_sig = config.alpha is None or row["missing_p_adjusted"] < config.alpha
    if abs(delta) >= config.missing_threshold and missing_sig:
        reasons.append(f"missing rate {row['missing_ref']:.1%} -> {row['missing_cur']:.1%}")
    row["drifted"] = bool(reasons)
    row["reason"] = "; ".join(reasons)
