"""The registry's operations on SQLite and PostgreSQL: register, load, predict, aliases, gates, rollback."""

from __future__ import annotations

import numpy as np
import pytest

import mlnb
from mlnb.errors import Conflict, GateFailed, NotFound, UsageError, ValidationFailed


def test_register_versions_dedup_signature_and_lineage(churn):
    v1 = mlnb.models.register("churn", churn.weak, data=churn.X, metrics={"auc": 0.8})
    again = mlnb.models.register("churn", churn.weak, data=churn.X, metrics={"auc": 0.8})
    v2 = mlnb.models.register("churn", churn.strong, data=churn.X, metrics={"auc": 0.9})
    assert (v1.ref, again.ref, again.md5, v2.ref) == ("churn@1", "churn@1", v1.md5, "churn@2")
    assert v2.data == ("train@1",)  # the frame came from mlnb.data.load("train")
    assert set(v2.signature["columns"]) == {"tenure", "spend"} and v2.profile_md5
    assert (v2.flavour, v2.format, v2.metrics) == ("sklearn", "skops", {"auc": 0.9})
    assert [r["version"] for r in mlnb.models.log("churn")] == [2, 1]
    listing = mlnb.models.list().to_dict()
    assert [(r["name"], r["latest"], r["versions"]) for r in listing] == [("churn", "churn@2", 2)]


def test_register_inside_a_run_links_the_run(churn):
    with mlnb.start_run("train") as run:
        version = mlnb.models.register("churn", churn.strong, data="train@1")
    assert version.run_id == run.id and version.data == ("train@1",)


def test_load_and_predict_check_the_signature(churn):
    mlnb.models.register("churn", churn.strong, data=churn.X)
    model = mlnb.models.load("churn@latest")
    inputs = churn.holdout[["tenure", "spend"]]
    np.testing.assert_array_equal(model.predict(inputs), churn.strong.predict(inputs))
    np.testing.assert_array_equal(mlnb.models.predict("churn@1", inputs), churn.strong.predict(inputs))
    with pytest.raises(ValidationFailed, match=r"columns spend fail"):
        mlnb.models.predict("churn@1", inputs.drop(columns=["spend"]))
    with pytest.raises(ValidationFailed, match=r"columns tenure fail"):
        mlnb.models.predict("churn@1", inputs.assign(tenure="long"))


def test_pickle_only_when_asked_and_loaded_only_when_trusted(churn):
    version = mlnb.models.register("churn", churn.strong, format="pickle")
    assert version.format == "pickle"
    with pytest.raises(UsageError, match="is a pickle: loading it runs whatever code it holds; pass trusted=True"):
        mlnb.models.load("churn@1")
    with pytest.raises(UsageError, match="is a pickle"):
        mlnb.models.predict("churn@1", churn.X)
    assert type(mlnb.models.load("churn@1", trusted=True)).__name__ == "LogisticRegression"
    joblib_version = mlnb.models.register("churn", churn.weak, format="joblib")
    assert joblib_version.format == "joblib" and joblib_version.ref == "churn@2"
    assert mlnb.models.register("churn", type(churn.weak)(C=1e-5).fit(churn.X, churn.y), format="joblib").ref == "churn@2"
    with pytest.raises(UsageError, match=r"churn@2 is a joblib file \(a pickle\): loading it runs"):
        mlnb.models.load("churn@2")
    assert mlnb.models.load("churn@2", trusted=True).C == 1e-5
    with pytest.raises(UsageError, match="use 'skops' \\(safe, the default\\), 'pickle' or 'joblib'"):
        mlnb.models.register("churn", churn.weak, format="cloudpickle")


def test_promote_rollback_history(churn):
    mlnb.models.register("churn", churn.weak, data=churn.X, metrics={"auc": 0.80})
    mlnb.models.register("churn", churn.strong, data=churn.X, metrics={"auc": 0.90})
    mlnb.models.register("churn", churn.weak.set_params(C=0.01).fit(churn.X, churn.y), data=churn.X,
                         metrics={"auc": 0.85})
    first = mlnb.models.promote("churn@1", to="champion", gates=["auc >= champion.auc"])
    assert first.moved and first.rows[0]["detail"] == "no champion yet: nothing to compare with"
    second = mlnb.models.promote("churn@2", to="champion", gates=["auc >= champion.auc - 0.005", "auc > 0.5"])
    assert second.moved and second.previous == "churn@1" and second.exit_code == 0
    assert mlnb.models.resolve("churn@champion").version == 2
    refused = mlnb.models.promote("churn@3", to="champion", gates=["auc >= champion.auc - 0.005"])
    assert (refused.moved, refused.exit_code, refused.rows[0]["passed"]) == (False, 1, False)
    assert "REFUSED" in str(refused) and mlnb.models.resolve("churn@champion").version == 2
    assert refused.to_frame()["passed"].tolist() == [False] and "REFUSED" in refused._repr_html_()
    with pytest.raises(GateFailed, match="failing gates: auc >= champion.auc - 0.005"):
        refused.raise_for_failures()
    forced = mlnb.models.promote("churn@3", to="champion", gates=["auc >= champion.auc"], force=True,
                                 reason="hotfix")
    assert forced.moved and mlnb.models.resolve("churn@champion").version == 3

    assert mlnb.models.rollback("churn", "champion").ref == "churn@2"
    assert mlnb.models.rollback("churn", "champion").ref == "churn@1"  # one further back
    with pytest.raises(NotFound, match="no earlier holder"):
        mlnb.models.rollback("churn", "champion")
    events = mlnb.models.history("churn").to_dict()
    assert [(e["action"], e["from"], e["to"], e["forced"]) for e in events] == [
        ("rollback", "churn@2", "churn@1", False), ("rollback", "churn@3", "churn@2", False),
        ("promote", "churn@2", "churn@3", True), ("promote", "churn@1", "churn@2", False),
        ("promote", None, "churn@1", False)]
    assert events[2]["reason"] == "hotfix" and events[2]["gates"][0]["passed"] is False
    assert events[3]["user"] and events[3]["host"] and len(events[3]["gates"]) == 2


def test_data_gates_and_the_regression_test(churn):
    mlnb.models.register("churn", churn.weak, data=churn.X, metrics={"auc": 0.8})
    mlnb.models.register("churn", churn.strong, data=churn.X, metrics={"auc": 0.9})
    mlnb.models.promote("churn@1", to="champion")
    result = mlnb.models.promote(
        "churn@2", to="champion", target="churned",
        gates=["not worse than champion on holdout@1", "drift.share < 0.5"])
    assert result.moved, str(result)
    test = result.rows[0]
    assert test["passed"] and "McNemar on 200 rows" in test["detail"] and "margin 0.01" in test["detail"]
    # the weak model is clearly worse on the same rows: the paired test refuses it
    back = mlnb.models.promote("churn@1", to="champion", target="churned",
                               gates=["not worse than champion on holdout@1 by 0.001"])
    assert not back.moved and not back.rows[0]["passed"]
    # a holdout shifted far from training: drift refuses, schema (ranges) refuses
    mlnb.data.save(churn.holdout.assign(tenure=churn.holdout.tenure + 10), "shifted")
    shifted = mlnb.models.promote("churn@1", to="champion", data="shifted@1", target="churned",
                                  gates=["drift.share < 0.3", "schema"])
    assert [r["passed"] for r in shifted.rows] == [False, False] and "tenure" in shifted.rows[1]["detail"]
    assert mlnb.models.resolve("churn@champion").version == 2


def test_evaluate_stores_metrics_per_version_and_data(churn):
    mlnb.models.register("churn", churn.strong, data=churn.X)
    record = mlnb.models.evaluate("churn@1", "holdout@1", target="churned")
    assert set(record.to_dict()) >= {"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"}
    assert 0.7 < record["accuracy"] <= 1
    assert len(record.chart().to_dict()["hconcat"]) == 2  # a confusion matrix and a ROC curve
    confusion, roc = record.chart_data["confusion"], record.chart_data["roc"]  # counts and points, no rows
    assert sum(c["rows"] for c in confusion) == 200 and len(confusion) == 4
    assert roc[0] == {"fpr": 0.0, "tpr": 0.0} and roc[-1] == {"fpr": 1.0, "tpr": 1.0}
    mlnb.models.evaluate("churn@1", "holdout@1", target="churned")  # again: replaced, not added
    shown = mlnb.models.show("churn@1")["evaluations"]
    assert len(shown) == 1 and shown[0]["data"] == "holdout@1" and shown[0]["metrics"] == {
        k: v for k, v in record.to_dict().items() if k in shown[0]["metrics"]}


def test_regression_models_use_the_paired_bootstrap(churn):
    from sklearn.linear_model import LinearRegression, Ridge

    y = churn.X.tenure * 2 + churn.X.spend
    mlnb.data.save(churn.holdout.assign(score=churn.holdout.tenure * 2 + churn.holdout.spend)
                   .drop(columns=["churned"]), "scores")
    mlnb.models.register("score", Ridge(alpha=1e4).fit(churn.X, y), data=churn.X)
    mlnb.models.register("score", LinearRegression().fit(churn.X, y), data=churn.X)
    mlnb.models.promote("score@1", to="champion")
    result = mlnb.models.promote("score@2", to="champion", gates=["not worse than champion on scores@1"])
    assert result.moved and "paired bootstrap" in result.rows[0]["detail"]
    back = mlnb.models.promote("score@1", to="champion", gates=["not worse than champion on scores@1"])
    assert not back.moved and back.rows[0]["value"].startswith("-")
    record = mlnb.models.evaluate("score@2", "scores@1")  # the label: the one column not in the signature
    assert record["r2"] > 0.99 and record["mae"] < 1e-6
    assert record.chart().to_dict()["mark"]["type"] == "bar"
    bins = record.chart_data["residuals"]
    assert len(bins) == 30 and sum(b["rows"] for b in bins) == 200


def test_two_promotions_from_the_same_reading_one_wins(churn):
    """The compare-and-set itself: the loser read the holder before the winner moved it."""
    from mlnb.models import _aliases

    for model, auc in ((churn.weak, 0.8), (churn.strong, 0.9)):
        mlnb.models.register("churn", model, data=churn.X, metrics={"auc": auc})
    mlnb.models.register("churn", churn.weak.set_params(C=0.05).fit(churn.X, churn.y), metrics={"auc": 0.85})
    mlnb.models.promote("churn@1", to="champion")
    from mlnb._project import current_project

    project = current_project()
    seen = mlnb.models.resolve("churn@champion")
    mlnb.models.promote("churn@2", to="champion")
    with pytest.raises(Conflict, match=r"champion moved to churn@2 since you looked: nothing changed"):
        _aliases._move(project, "churn", "champion", seen, mlnb.models.resolve("churn@3"), "promote", "", [], False)
    assert mlnb.models.resolve("churn@champion").version == 2
    assert len(mlnb.models.history("churn")) == 2


def test_lineage_both_ways_runs_show_and_models_show(churn):
    with mlnb.start_run("train") as run:
        mlnb.models.register("churn", churn.strong, data="train@1")
        mlnb.models.register("other", churn.weak)
    mlnb.models.register("churn", churn.weak, data=churn.X)  # outside the run: not its model
    record = mlnb.runs.get(run.id)
    assert record["models"] == ["churn@1", "other@1"]
    assert "churn@1, other@1" in str(record)
    chart = record.charts()[0].to_dict()
    nodes = {(n["kind"], n["label"]) for layer in chart["layer"] for n in layer["data"].get("values", [])
             if "kind" in n}
    assert {("model version", "churn@1"), ("model version", "other@1"), ("data version", "train@1"),
            ("run", "train")} <= nodes

    shown = mlnb.models.show("churn@1")
    assert (shown["run_id"], shown["run_name"], shown["data"]) == (run.id, "train", ["train@1"])
    drawn = shown.chart().to_dict()
    assert drawn["title"] == "lineage of churn@1"
    nodes = {(n["kind"], n["label"]) for layer in drawn["layer"] for n in layer["data"].get("values", [])
             if "kind" in n}
    assert nodes == {("data version", "train@1"), ("run", "train"), ("model version", "churn@1")}
    assert mlnb.models.show("churn@2")["run_name"] is None
    assert mlnb.models.show("churn@2").chart().to_dict()["title"] == "lineage of churn@2"


def test_metric_gates_read_stored_evaluations_on_a_named_data_version(registered, project):
    from tests.faults._harness import snapshot

    # champion churn@1 (weak), churn@2 (strong): registered metrics say auc only
    before = snapshot(project.root)
    with pytest.raises(UsageError, match=r"reads evaluations on holdout@1, and churn@2 has none: run "
                                         r"`mlnb models evaluate churn@2 --data holdout@1` first"):
        mlnb.models.promote("churn@2", to="champion", gates=["accuracy >= champion.accuracy on holdout@1"])
    assert snapshot(project.root) == before
    strong = mlnb.models.evaluate("churn@2", "holdout@1", target="churned")
    with pytest.raises(UsageError, match="churn@1 has none"):  # the champion is read too
        mlnb.models.promote("churn@2", to="champion", gates=["accuracy >= champion.accuracy on holdout@1"])
    weak = mlnb.models.evaluate("churn@1", "holdout@1", target="churned")
    assert strong["accuracy"] > weak["accuracy"]
    with pytest.raises(UsageError, match=r"at column 1: churn@2 has no metric 'mae' on holdout@1 \(it has: accuracy, auc"):
        mlnb.models.promote("churn@2", to="champion", gates=["mae < 1 on holdout@1"])
    refused = mlnb.models.promote("churn@2", to="champion", gates=["accuracy >= 0.99 on holdout"])
    assert not refused.moved and refused.rows[0]["value"] == f"{strong['accuracy']:.4g} vs 0.99"
    result = mlnb.models.promote("churn@2", to="champion", gates=[
        "accuracy >= champion.accuracy + 0.05 on holdout@1", "auc >= champion.auc on holdout@1", "auc > 0.85"])
    assert result.moved, str(result)
    assert result.rows[0]["value"] == f"{strong['accuracy']:.4g} vs {weak['accuracy'] + 0.05:.4g}"
    assert result.rows[0]["detail"] == "evaluations on holdout@1"
    with pytest.raises(UsageError, match=r"invalid gate 'accuracy >= on holdout@1' at column 12"):
        mlnb.models.promote("churn@1", to="champion", gates=["accuracy >= on holdout@1"])
    with pytest.raises(UsageError, match=r"at column 22: a drift gate reads the holdout given as --data"):
        mlnb.models.promote("churn@1", to="champion", gates=["drift.share < 0.3 on holdout@1"])
