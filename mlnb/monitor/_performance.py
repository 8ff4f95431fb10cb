"""Realized performance of one window: predictions against the outcomes that arrived.

Classification: accuracy, precision, recall, f1 (of the positive class when there are two
classes — the larger label, as scikit-learn's ``classes_[1]``, whose probability the log keeps;
macro averages otherwise) and roc_auc (two classes with a logged probability). Regression: mae,
rmse, r2. Computed with numpy (no per-call validation), so 30 windows of 10^6 rows stay cheap.
A window with fewer than ``min_rows`` outcomes, or with one class only for roc_auc, gets NaN
and a note saying why.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import UsageError

CLASSIFICATION = ("accuracy", "precision", "recall", "f1", "roc_auc")
REGRESSION = ("mae", "rmse", "r2")
TASKS = ("classification", "regression")
NAN = float("nan")


def infer_task(task: str | None, predictions: Any, has_proba: bool) -> str:
    """``task`` when given; else classification when probabilities are logged or the predictions
    look like labels (text, booleans, or at most 20 distinct whole numbers), regression otherwise."""
    if task is not None:
        if task not in TASKS:
            raise UsageError(f"unknown task {task!r}: use one of {', '.join(TASKS)}")
        return task
    if has_proba:
        return "classification"
    values = np.asarray(predictions)
    if values.dtype.kind in "OUSb":
        return "classification"
    if not len(values):
        return "classification"
    finite = values[np.isfinite(values.astype(float))]
    whole = bool(np.all(np.mod(finite, 1) == 0))
    return "classification" if whole and len(np.unique(finite[:100_000])) <= 20 else "regression"


def labels(values: Any) -> np.ndarray:
    """Labels comparable across the prediction and outcome columns (numbers as float, else text)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "biuf":
        return arr.astype(float)
    try:
        return arr.astype(float)
    except (TypeError, ValueError):
        return arr.astype(str)


def missing(values: np.ndarray) -> np.ndarray:
    """Where ``values`` (an outcome column) holds no value."""
    if values.dtype.kind == "f":
        return np.isnan(values)
    return np.array([v is None or (isinstance(v, float) and v != v) for v in values], dtype=bool)


def unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)``: for floats, by hashing (pandas) then sorting the few distinct
    labels, instead of sorting every value (a window's labels are many, its classes few)."""
    if values.dtype.kind != "f":
        return np.unique(values)
    import pandas as pd

    return np.sort(pd.unique(values))


def positive_label(y_pred: np.ndarray, y_true: np.ndarray) -> Any:
    classes = unique(np.concatenate([y_pred, y_true]))
    return classes[-1] if len(classes) == 2 else None


def roc_auc(y: np.ndarray, score: np.ndarray, order: np.ndarray | None = None) -> float:
    """ROC AUC of binary ``y`` (bool) against ``score``, ties counted half (Mann-Whitney): from
    the scores' ranks (``scipy.stats.rankdata``), or for finite scores the same number counted by
    a compiled kernel (:func:`._rank_kernels.mann_whitney_auc`; ``order``, when given, is
    ``argsort_desc(score)``)."""
    from scipy.stats import rankdata

    if len(score) >= 1000 and np.isfinite(score).all():
        from ._rank_kernels import mann_whitney_auc

        return mann_whitney_auc(y, score, order)

    n1 = int(y.sum())
    n0 = len(y) - n1
    if not n1 or not n0:
        return NAN
    ranks = rankdata(score)
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def classification(y_pred: np.ndarray, y_true: np.ndarray, proba: np.ndarray | None,
                   min_rows: int, order: Any = None) -> dict[str, tuple[float, str]]:
    """``{metric: (value, note)}`` over the rows with an outcome; ``order``: a function giving
    ``argsort_desc(proba)`` (:mod:`._rank_kernels`) when the window already sorted it."""
    n = len(y_true)
    if n < min_rows:
        note = f"{n} outcomes in this window (< {min_rows}): not computed" if n else "no outcomes in this window yet"
        return {m: (NAN, note) for m in CLASSIFICATION}
    from ._count_kernels import binary_counts

    counts = binary_counts(y_pred, y_true)  # two classes or one, no NaN: one compiled pass, the same numbers
    if counts is not None:
        equal, tp, fp, fn, pos = counts
        out = {"accuracy": (equal / n, ""), **_prf(tp, fp, fn)}
    else:
        out, pos = _counted(y_pred, y_true)
    if proba is None:
        out["roc_auc"] = (NAN, "no probabilities logged")
    elif pos is None:
        out["roc_auc"] = (NAN, "more than two classes: roc_auc not computed")
    else:
        t = y_true == pos
        value = roc_auc(t, proba, order() if order is not None and len(proba) >= 1000 else None)
        out["roc_auc"] = (value, "" if value == value else "one class only among the outcomes: roc_auc undefined")
    return out


def _counted(y_pred: np.ndarray, y_true: np.ndarray) -> tuple[dict[str, tuple[float, str]], Any]:
    """Accuracy, precision, recall and f1 of any labels, and the positive label (None with more
    than two classes: then macro averages)."""
    out = {"accuracy": (float(np.mean(y_pred == y_true)), "")}
    pos = positive_label(y_pred, y_true)
    if pos is not None or len(unique(y_true)) < 2:
        pos = pos if pos is not None else unique(np.concatenate([y_pred, y_true]))[-1]
        p, t = y_pred == pos, y_true == pos
        tp, fp, fn = float(np.sum(p & t)), float(np.sum(p & ~t)), float(np.sum(~p & t))
        out.update(_prf(tp, fp, fn))
    else:  # several classes: macro averages
        classes = unique(np.concatenate([y_pred, y_true]))
        per = [_prf(float(np.sum((y_pred == c) & (y_true == c))), float(np.sum((y_pred == c) & (y_true != c))),
                    float(np.sum((y_pred != c) & (y_true == c)))) for c in classes]
        out.update({m: (float(np.nanmean([d[m][0] for d in per])), "macro average over classes")
                    for m in ("precision", "recall", "f1")})
    return out, pos


def _prf(tp: float, fp: float, fn: float) -> dict[str, tuple[float, str]]:
    def ratio(a: float, b: float, what: str) -> tuple[float, str]:
        return (a / b, "") if b else (NAN, f"{what}: undefined")

    return {"precision": ratio(tp, tp + fp, "no positive predictions"),
            "recall": ratio(tp, tp + fn, "no positive outcomes"),
            "f1": ratio(2 * tp, 2 * tp + fp + fn, "no positives")}


def regression(y_pred: np.ndarray, y_true: np.ndarray, min_rows: int) -> dict[str, tuple[float, str]]:
    n = len(y_true)
    if n < min_rows:
        note = f"{n} outcomes in this window (< {min_rows}): not computed" if n else "no outcomes in this window yet"
        return {m: (NAN, note) for m in REGRESSION}
    err = y_pred.astype(float) - y_true.astype(float)
    ss = float(np.sum((y_true - y_true.mean()) ** 2))
    return {"mae": (float(np.mean(np.abs(err))), ""), "rmse": (float(np.sqrt(np.mean(err ** 2))), ""),
            "r2": ((1 - float(np.sum(err ** 2)) / ss, "") if ss else (NAN, "constant outcomes: r2 undefined"))}
