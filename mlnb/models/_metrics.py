"""Metrics and chart data from a model's predictions, computed once per evaluation.

Two classes: every label metric comes from one confusion count, and ROC AUC and the ROC chart
from one sort of the scores, with scikit-learn's own arithmetic (its thresholds, its dropped
intermediate points, its trapezoids, its clipping for log loss), so the values equal
scikit-learn's (tests/models/test_metrics.py holds them to 1e-12) at a fraction of the time its
separate calls take, each of which checks, encodes and sorts the labels again. More classes and
regression call scikit-learn itself.
"""

from __future__ import annotations

import math
from typing import Any

from ._charts import RESIDUAL_BINS, ROC_POINTS


def scored(y: Any, pred: Any, proba: Any, classes: Any) -> tuple[str, dict[str, float], dict[str, Any]]:
    """``(task, metrics, chart data)`` of predictions ``pred`` (and ``proba``, the classifier's
    ``predict_proba``, or None) against labels ``y``; ``classes`` is the classifier's
    ``classes_``, None for a regressor."""
    import numpy as np

    y, pred = np.asarray(y), np.asarray(pred)
    if classes is None:
        return "regression", *_regression(y, pred)
    classes = np.asarray(classes)
    if len(classes) == 2:
        positive, negative = y == classes[1], y == classes[0]
        if bool((positive | negative).all()):  # else labels the model never saw: scikit-learn says what
            return "classification", *_binary(positive, pred == classes[1], proba, classes)
    return "classification", *_classes(y, pred, proba, classes)


def _binary(actual: Any, predicted: Any, proba: Any, classes: Any) -> tuple[dict[str, float], dict[str, Any]]:
    import numpy as np

    n = len(actual)
    tp = int(np.count_nonzero(actual & predicted))
    positives, predicted_positives = int(np.count_nonzero(actual)), int(np.count_nonzero(predicted))
    fp, fn = predicted_positives - tp, positives - tp
    tn = n - tp - fp - fn
    values = {"accuracy": (tp + tn) / n,
              "precision": tp / predicted_positives if predicted_positives else 0.0,
              "recall": tp / positives if positives else 0.0,
              "f1": 2 * tp / (positives + predicted_positives) if positives + predicted_positives else 0.0}
    names = [str(c) for c in classes]
    matrix = [[tn, fp], [fn, tp]]
    charts: dict[str, Any] = {"confusion": [{"actual": a, "predicted": p, "rows": matrix[i][j]}
                                            for i, a in enumerate(names) for j, p in enumerate(names)]}
    if proba is None:
        return values, charts
    proba = np.asarray(proba, dtype=float)
    score = proba[:, 1] if proba.ndim == 2 else proba
    if 0 < positives < n:
        fpr, tpr = _roc(actual, score)
        values["roc_auc"] = float((getattr(np, "trapezoid", None) or np.trapz)(tpr, fpr))  # numpy 1 / 2
        keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), ROC_POINTS)).astype(int))
        charts["roc"] = [{"fpr": float(fpr[i]), "tpr": float(tpr[i])} for i in keep]
    # log loss: minus the log of the probability given to the true class, clipped as scikit-learn does
    eps = np.finfo(float).eps
    truth = np.where(actual, score, 1 - score) if proba.ndim == 1 else np.where(actual, proba[:, 1], proba[:, 0])
    values["log_loss"] = float(np.mean(-np.log(np.clip(truth, eps, 1 - eps))))
    return values, charts


def _roc(actual: Any, score: Any) -> tuple[Any, Any]:
    """scikit-learn's ``roc_curve`` (intermediate collinear points dropped), from one sort.

    The order within tied scores does not matter: counts are read only where the score changes."""
    import numpy as np

    order = np.argsort(score)[::-1]
    ranked = score[order]
    ends = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]
    tps = np.cumsum(actual[order], dtype=float)[ends]
    fps = 1 + ends - tps
    if len(fps) > 2:
        kept = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
        fps, tps = fps[kept], tps[kept]
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    return fps / fps[-1], tps / tps[-1]


def _classes(y: Any, pred: Any, proba: Any, classes: Any) -> tuple[dict[str, float], dict[str, Any]]:
    """More than two classes (or labels outside the model's): scikit-learn's macro averages."""
    from sklearn import metrics as skm

    binary = len(classes) == 2
    average = "binary" if binary else "macro"
    pos = {"pos_label": classes[1]} if binary else {}
    values = {"accuracy": float(skm.accuracy_score(y, pred)),
              "precision": float(skm.precision_score(y, pred, average=average, zero_division=0, **pos)),
              "recall": float(skm.recall_score(y, pred, average=average, zero_division=0, **pos)),
              "f1": float(skm.f1_score(y, pred, average=average, zero_division=0, **pos))}
    if proba is not None:
        try:
            values["roc_auc"] = float(skm.roc_auc_score(y, proba[:, 1]) if binary else
                                      skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes))
        except ValueError:  # one class only in y
            pass
        values["log_loss"] = float(skm.log_loss(y, proba, labels=classes))
    labels = list(classes)
    matrix = skm.confusion_matrix(y, pred, labels=labels)
    return values, {"confusion": [{"actual": str(a), "predicted": str(p), "rows": int(matrix[i, j])}
                                  for i, a in enumerate(labels) for j, p in enumerate(labels)]}


def _regression(y: Any, pred: Any) -> tuple[dict[str, float], dict[str, Any]]:
    import numpy as np
    from sklearn import metrics as skm

    values = {"mae": float(skm.mean_absolute_error(y, pred)),
              "rmse": math.sqrt(float(skm.mean_squared_error(y, pred))),
              "r2": float(skm.r2_score(y, pred))}
    counts, edges = np.histogram(np.asarray(y, dtype=float) - np.asarray(pred, dtype=float), bins=RESIDUAL_BINS)
    return values, {"residuals": [{"start": float(a), "end": float(b), "rows": int(c)}
                                  for a, b, c in zip(edges[:-1], edges[1:], counts)]}
