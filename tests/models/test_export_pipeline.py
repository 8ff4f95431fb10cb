"""A notebook stage that registers a model, exported and run by the real `dvc repro`: the
pipeline registers through the same registry, and identical bytes give the same version."""

from __future__ import annotations

import yaml

import mlnb
from tests.export.shapes import SETUP, dvc, execute, write_notebook
from tests.models.conftest import churn_frame

NOTEBOOK = [
    SETUP + "\nfrom sklearn.linear_model import LogisticRegression",
    ("C = 1.0", ["parameters"]),
    '%%mlops stage train\ntrain = mlnb.data.load("train")\nX = train[["tenure", "spend"]]\n'
    'model = LogisticRegression(C=C).fit(X, train.churned)\n'
    'version = mlnb.models.register("churn", model, data=X, metrics={"accuracy": model.score(X, train.churned)})\n'
    'mlnb.log_metric("model_version", version.version)',
]


def test_a_registering_stage_under_dvc_repro_gives_the_same_version_for_the_same_bytes(project):
    mlnb.data.save(churn_frame(300, 0), "train")
    nb = write_notebook(project.root / "train.ipynb", NOTEBOOK)
    execute(nb)  # the notebook itself registers churn@1
    first = mlnb.models.resolve("churn@1")
    assert first.data == ("train@1",) and first.run_id is not None
    mlnb.export.export(nb, "pipeline")

    for args in (("repro", "pipeline/dvc.yaml"), ("repro", "--force", "pipeline/dvc.yaml")):
        proc = dvc(project.root, *args)
        assert proc.returncode == 0, proc.stderr + proc.stdout
        metrics = yaml.safe_load((project.root / "pipeline" / "metrics" / "train.json").read_text())
        assert metrics["model_version"] == 1  # the same bytes: the notebook's version, not a new one
        assert [v["version"] for v in mlnb.models.log("churn")] == [1]
    pipeline_runs = mlnb.runs.list("name = 'train' and tags.mlnb-pipeline")
    assert len(pipeline_runs) == 2 and all(r["status"] == "finished" for r in pipeline_runs)

    params = project.root / "pipeline" / "params.yaml"
    params.write_text(params.read_text().replace("C: 1.0", "C: 0.01"))
    proc = dvc(project.root, "repro", "pipeline/dvc.yaml")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    second = mlnb.models.resolve("churn@latest")
    assert second.version == 2 and second.md5 != first.md5 and second.data == ("train@1",)
    made_by = mlnb.runs.get(second.run_id)  # the pipeline's stage run, linked both ways
    assert made_by.name == "train" and made_by["models"] == ["churn@2"]
    assert type(mlnb.models.load("churn@2")).__name__ == "LogisticRegression"
