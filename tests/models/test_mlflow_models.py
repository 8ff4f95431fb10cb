"""Registered models to and from a real MLflow tracking server (its own venv, one per module).

mlnb -> MLflow -> mlnb gives the same versions (bytes, fields, aliases); a scikit-learn model
MLflow logged (a pickle) comes in without being loaded and loads only with trusted=True.
"""

from __future__ import annotations

import json

import pytest

from tests._mlflow_server import mlflow_script, start_mlflow
from tests.conftest import run_cli

from .conftest import make_churn


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory):
    yield from start_mlflow(tmp_path_factory.mktemp("mlflow"))


def test_models_round_trip_through_mlflow(project, tmp_path, mlflow_uri):
    import mlnb

    c = make_churn()
    v1 = mlnb.models.register("churn", c.weak, data=c.X, metrics={"auc": 0.61}, message="weak baseline")
    v2 = mlnb.models.register("churn", c.strong, data=c.X, metrics={"auc": 0.93})
    mlnb.models.set_alias(v1.ref, "champion")
    mlnb.models.set_alias(v2.ref, "challenger")

    out = mlnb.models.export_mlflow(mlflow_uri)
    assert out["exported"] == 2 and out["aliases set"] == 2
    assert any("alias history" in limit for limit in out["not held by MLflow"])
    seen = json.loads(mlflow_script("""
import json, sys, mlflow
c = mlflow.MlflowClient(sys.argv[1])
print(json.dumps({a: c.get_model_version_by_alias("churn", a).version for a in ("champion", "challenger")}))
""", mlflow_uri))
    assert seen == {"champion": "1", "challenger": "2"}
    assert mlnb.models.export_mlflow(mlflow_uri)["exported"] == 0

    other = tmp_path / "other"
    other.mkdir()
    run_cli("init", cwd=other, check=True)
    proc = run_cli("models", "import", "--mlflow", mlflow_uri, "--json", cwd=other)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["imported"] == 2
    for v, alias in ((v1, "champion"), (v2, "challenger")):
        back = json.loads(run_cli("models", "show", f"churn@{alias}", "--json", cwd=other, check=True).stdout)
        orig = json.loads(run_cli("models", "show", f"churn@{alias}", "--json", cwd=project.root, check=True).stdout)
        assert back["version"] == v.version and back["md5"] == v.md5 and back["format"] == "skops"
        assert back["metrics"] == v.metrics and back["message"] == v.message
        assert back["signature"] == orig["signature"] and back["created_at"] == orig["created_at"]
    again = run_cli("models", "import", "--mlflow", mlflow_uri, "--json", cwd=other, check=True)
    assert json.loads(again.stdout)["imported"] == 0


def test_an_mlflow_pickle_is_stored_not_loaded(project, tmp_path, mlflow_uri):
    import mlnb
    from mlnb.errors import UsageError

    marker = tmp_path / "unpickled"
    expected = json.loads(mlflow_script("""
import json, sys, numpy as np, mlflow
from sklearn.linear_model import LogisticRegression

class Marked(LogisticRegression):
    def __setstate__(self, state):
        open(state["marker"], "w").write("code from the pickle ran")
        super().__setstate__(state)

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("native-models")
X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
m = Marked().fit(X, [0, 1, 0, 1])
m.marker = sys.argv[2]
with mlflow.start_run():
    info = mlflow.sklearn.log_model(m, name="model", registered_model_name="native",
                                    serialization_format="cloudpickle")
    plain = LogisticRegression().fit(X, [0, 0, 1, 1])
    mlflow.sklearn.log_model(plain, name="plain", registered_model_name="native-skops")  # MLflow 3's default: skops
mlflow.MlflowClient().set_registered_model_alias("native", "prod", info.registered_model_version)
print(json.dumps([m.predict(X).tolist(), plain.predict_proba(X).tolist()]))
""", mlflow_uri, str(marker)).splitlines()[-1])
    expected, plain_proba = expected
    marker.unlink(missing_ok=True)  # MLflow's log_model loads the model back once itself
    out = mlnb.models.import_mlflow(mlflow_uri, names=["native", "native-skops"])
    assert out["imported"] == 2 and out["pickles (load only with trusted=True)"] == ["native@1"]
    plain = mlnb.models.resolve("native-skops@1")
    assert (plain.flavour, plain.format) == ("sklearn", "skops")  # loads through the safe loader
    assert mlnb.models.load("native-skops@1").predict_proba(
        [[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]]).tolist() == plain_proba
    version = mlnb.models.resolve("native@prod")
    assert (version.flavour, version.format) == ("sklearn", "pickle")
    assert not marker.exists()  # importing ran nothing from the file
    with pytest.raises(UsageError, match="trusted=True"):
        mlnb.models.load("native@prod")
    assert not marker.exists()
    model = mlnb.models.load("native@prod", trusted=True)  # the explicit path, as for any pickle
    assert marker.exists()
    assert model.predict([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]]).tolist() == expected


def test_a_folder_model_round_trips_file_by_file(project, tmp_path, mlflow_uri):
    """A model registered as a folder (here: a "tokenizer" of three files, one in a sub-folder) goes
    to MLflow file by file and comes back as the same folder, same md5."""
    import mlnb

    folder = tmp_path / "tok"
    (folder / "vocab").mkdir(parents=True)
    (folder / "config.json").write_text('{"lower": true}')
    (folder / "vocab" / "words.txt").write_text("a\nb\nc\n")
    (folder / "merges.bin").write_bytes(bytes(range(256)))
    v = mlnb.models.register_path("tok", folder, flavour="tokenizers", message="three files")
    assert v.format == "dir"
    out = mlnb.models.export_mlflow(mlflow_uri, names=["tok"])
    assert out["exported"] == 1

    other = tmp_path / "other-dir"
    other.mkdir()
    run_cli("init", cwd=other, check=True)
    proc = run_cli("models", "import", "--mlflow", mlflow_uri, "--name", "tok", "--json", cwd=other)
    assert proc.returncode == 0, proc.stderr
    back = json.loads(run_cli("models", "show", "tok@1", "--json", cwd=other, check=True).stdout)
    assert (back["md5"], back["format"], back["flavour"], back["message"]) == (v.md5, "dir", "tokenizers", "three files")
    from mlnb._project import Project, using_project

    with using_project(Project(other)):
        path = mlnb.models.path("tok@1")
    files = {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}
    assert files == {"config.json": b'{"lower": true}', "vocab/words.txt": b"a\nb\nc\n", "merges.bin": bytes(range(256))}
