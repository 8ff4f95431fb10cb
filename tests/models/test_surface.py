"""mlnb.models' public names, and gates parsed by hand (no eval)."""

from __future__ import annotations

import pytest

import mlnb
from mlnb.errors import UsageError
from mlnb.models import _gates


def test_public_names_resolve():
    assert set(mlnb.models.__all__) == {
        "ModelVersion", "Promotion", "ab_test", "deploy", "deploy_history", "evaluate", "export_mlflow", "history",
        "import_mlflow", "list", "list_models", "load", "log", "log_outcomes", "path",
        "predict", "promote", "register", "register_path", "remove_alias", "resolve", "rollback", "routing",
        "set_alias", "show"}
    for name in mlnb.models.__all__:
        assert getattr(mlnb.models, name) is not None


@pytest.mark.parametrize(("gate", "metrics", "expected"), [
    ("auc >= 0.9", {"auc": 0.91}, True),
    ("auc >= champion.auc - 0.005", {"auc": 0.8, "champion.auc": 0.804}, True),
    ("auc >= champion.auc - 0.005", {"auc": 0.8, "champion.auc": 0.81}, False),
    ("(precision + recall) / 2 > 0.5 * 1.5", {"precision": 0.8, "recall": 0.8}, True),
    ("-loss > -0.3", {"loss": 0.2}, True),
    ("`val/auc` != 1", {"val/auc": 0.5}, True),
])
def test_metric_gates(gate, metrics, expected):
    parsed = _gates.parse(gate)
    assert parsed.kind == "metric"
    assert _gates.holds(parsed.expr, lambda n: metrics[n.text])[0] is expected


@pytest.mark.parametrize(("gate", "where"), [
    ("auc >=", "column 7: expected a number"),
    ("auc", "column 4: expected a comparison"),
    ("auc > 1 and f1 > 2", "column 9: expected the end of the gate"),
    ("__import__('os') > 1", "column 12: unexpected character"),
    ("(auc > 1", "column 6: expected ')'"),
    ("not worse than champion", "write 'not worse than ALIAS on DATA'"),
    ("not worse than champion on holdout@1 by much", "the margin 'much' is not a number"),
])
def test_gates_that_do_not_parse_say_where(gate, where):
    with pytest.raises(UsageError, match="invalid gate") as caught:
        _gates.parse(gate)
    assert where in str(caught.value)


def test_special_gates():
    assert _gates.parse(" Schema ").kind == "schema"
    assert _gates.parse("drift.share < 0.3").kind == "drift"
    regression = _gates.parse("not worse than champion on holdout@2 by 0.02")
    assert (regression.kind, regression.alias, regression.data, regression.margin) == (
        "regression", "champion", "holdout@2", 0.02)
