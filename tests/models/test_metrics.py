"""The metrics evaluate stores equal scikit-learn's own (to 1e-12), from one count and one sort."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn import metrics as skm

from mlnb.models._charts import ROC_POINTS
from mlnb.models._metrics import scored

_RENAMED = "y_proba" in inspect.signature(skm.log_loss).parameters  # y_pred before scikit-learn 1.9


def _log_loss(y, proba, labels):  # noqa: ANN001, ANN202
    return skm.log_loss(y, y_proba=proba, labels=labels) if _RENAMED else skm.log_loss(y, proba, labels=labels)


def _case(seed: int, n: int, labels: tuple, ties: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    truth = signal + rng.normal(size=n) > 0
    p = 1 / (1 + np.exp(-(signal + rng.normal(scale=0.8, size=n))))
    if ties:  # scores rounded to a few values, as a shallow tree or a calibrated bucket gives
        p = np.round(p, 1)
    p[:3] = [0.0, 1.0, 0.5]  # the clipped ends of log loss
    y = np.where(truth, labels[1], labels[0])
    proba = np.column_stack([1 - p, p])
    pred = np.where(p >= 0.5, labels[1], labels[0])
    return y, pred, proba


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("labels", [(0, 1), ("no", "yes"), (-1, 1)])
def test_binary_metrics_and_curves_equal_scikit_learn(seed: int, labels: tuple) -> None:
    n = [50, 1_000, 20_000][seed % 3]
    y, pred, proba = _case(seed, n, labels, ties=seed % 2 == 1)
    classes = np.array(labels)
    task, values, charts = scored(y, pred, proba, classes)
    pos = labels[1]
    expected = {
        "accuracy": skm.accuracy_score(y, pred),
        "precision": skm.precision_score(y, pred, pos_label=pos, zero_division=0),
        "recall": skm.recall_score(y, pred, pos_label=pos, zero_division=0),
        "f1": skm.f1_score(y, pred, pos_label=pos, zero_division=0),
        "roc_auc": skm.roc_auc_score(y == pos, proba[:, 1]),
        "log_loss": _log_loss(y, proba, classes),
    }
    assert task == "classification" and set(values) == set(expected)
    for key, value in expected.items():
        assert values[key] == pytest.approx(value, abs=1e-12, rel=0), key
    matrix = skm.confusion_matrix(y, pred, labels=list(classes))
    assert [c["rows"] for c in charts["confusion"]] == matrix.ravel().tolist()
    fpr, tpr, _ = skm.roc_curve(y, proba[:, 1], pos_label=pos)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), ROC_POINTS)).astype(int))
    ours = np.array([(c["fpr"], c["tpr"]) for c in charts["roc"]])
    np.testing.assert_allclose(ours, np.column_stack([fpr[keep], tpr[keep]]), rtol=0, atol=1e-12)


def test_edge_cases_equal_scikit_learn() -> None:
    classes = np.array([0, 1])
    # nothing predicted positive: precision is 0 (zero_division=0), as scikit-learn says
    y = np.array([0, 1, 1, 0, 1])
    _, values, _ = scored(y, np.zeros(5, dtype=int), np.full((5, 2), 0.5), classes)
    assert values["precision"] == 0.0 and values["f1"] == skm.f1_score(y, np.zeros(5, dtype=int), zero_division=0)
    assert values["roc_auc"] == skm.roc_auc_score(y, np.full(5, 0.5)) == 0.5
    # one class only in the labels: no ROC AUC (undefined), the rest as scikit-learn
    y = np.ones(4, dtype=int)
    proba = np.array([[0.2, 0.8], [0.6, 0.4], [0.1, 0.9], [0.5, 0.5]])
    _, values, charts = scored(y, (proba[:, 1] >= 0.5).astype(int), proba, classes)
    assert "roc_auc" not in values and "roc" not in charts
    assert values["log_loss"] == pytest.approx(_log_loss(y, proba, classes), abs=1e-12, rel=0)
    assert values["recall"] == skm.recall_score(y, (proba[:, 1] >= 0.5).astype(int))
    # no probabilities (a classifier without predict_proba): the label metrics only
    _, values, charts = scored(y, np.ones(4, dtype=int), None, classes)
    assert set(values) == {"accuracy", "precision", "recall", "f1"} and "roc" not in charts


def test_more_classes_and_regression_are_scikit_learns() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 500)
    proba = rng.dirichlet([1, 1, 1], 500)
    pred = proba.argmax(axis=1)
    _, values, charts = scored(y, pred, proba, np.array([0, 1, 2]))
    assert values["f1"] == skm.f1_score(y, pred, average="macro")
    assert values["roc_auc"] == skm.roc_auc_score(y, proba, multi_class="ovr", labels=[0, 1, 2])
    assert sum(c["rows"] for c in charts["confusion"]) == 500 and len(charts["confusion"]) == 9
    target = rng.normal(size=300)
    guess = target + rng.normal(scale=0.1, size=300)
    task, values, charts = scored(target, guess, None, None)
    assert task == "regression" and values["r2"] == skm.r2_score(target, guess)
    assert sum(b["rows"] for b in charts["residuals"]) == 300
