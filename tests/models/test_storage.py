"""Model bytes through real DVC: the cache, a local-directory remote, files other libraries saved,
and the safe loader refusing crafted files."""

from __future__ import annotations

import json
import shutil
import zipfile

import numpy as np
import pytest
import skops

import mlnb
from mlnb.errors import MlnbError, NotFound, UsageError
from tests.faults._harness import snapshot


def test_same_model_twice_gives_the_same_bytes_and_one_version(churn):
    first = mlnb.models.register("churn", churn.strong)
    refit = type(churn.strong)().fit(churn.X, churn.y)  # an equal model, another object
    assert mlnb.models.register("churn", refit).ref == "churn@1"
    assert mlnb.models.path("churn@1").read_bytes() == mlnb.models.path(first.ref).read_bytes()


def test_push_delete_the_cache_and_load_from_the_remote(backend_project, churn):
    project = backend_project
    mlnb.models.register("churn", churn.strong, data=churn.X)
    version = mlnb.models.resolve("churn@1")
    pushed = mlnb.data.push()
    assert pushed["versions"] == 4  # train, holdout, the model and its training profile
    shutil.rmtree(project.root / ".dvc" / "cache")
    project.close()  # a fresh DVC repo object: as on a new clone
    inputs = churn.holdout[["tenure", "spend"]]
    np.testing.assert_array_equal(mlnb.models.predict("churn@1", inputs), churn.strong.predict(inputs))
    assert mlnb.models.path("churn@1").stat().st_size == version.size
    # the training profile comes back from the remote too: the drift gate reads it
    mlnb.models.register("churn", churn.weak, data=churn.X)
    shutil.rmtree(project.root / ".dvc" / "cache")
    project.close()  # a fresh DVC repo object: as on a new clone
    result = mlnb.models.promote("churn@1", to="champion", data="holdout@1", target="churned",
                                 gates=["drift.share < 0.5"])
    assert result.moved and result.rows[0]["passed"]


def test_a_version_neither_cached_nor_pushed_is_one_clear_error(backend_project, churn):
    project = backend_project
    mlnb.models.register("churn", churn.strong)
    shutil.rmtree(project.root / ".dvc" / "cache")
    project.close()  # a fresh DVC repo object: as on a new clone
    with pytest.raises(NotFound, match="churn@1 is not in the local cache nor on the remote"):
        mlnb.models.load("churn@1")


def test_register_path_files_and_folders_of_other_libraries(churn, tmp_path):
    booster = tmp_path / "model.json"
    booster.write_text(json.dumps({"learner": {"gradient_booster": {}}}))
    v = mlnb.models.register_path("xgb", booster, flavour="xgboost", metrics={"auc": 0.7})
    assert (v.flavour, v.format, v.size) == ("xgboost", "file", booster.stat().st_size)
    assert mlnb.models.path("xgb@1").read_bytes() == booster.read_bytes()
    assert mlnb.models.register_path("xgb", booster, flavour="xgboost").ref == "xgb@1"
    folder = tmp_path / "torch"
    (folder / "weights").mkdir(parents=True)
    (folder / "weights" / "state.pt").write_bytes(b"\x00" * 100)
    (folder / "config.json").write_text("{}")
    d = mlnb.models.register_path("net", folder, flavour="torch")
    assert (d.format, d.nfiles, d.is_dir) == ("dir", 2, True)
    assert (mlnb.models.path("net@1") / "weights" / "state.pt").read_bytes() == b"\x00" * 100
    with pytest.raises(UsageError, match="is a torch dir saved by its own library"):
        mlnb.models.load("net@1")


def test_a_file_that_is_not_a_model_of_its_flavour_is_refused(churn, backend_project, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    before = snapshot(backend_project.root)
    with pytest.raises(UsageError, match="is not an XGBoost JSON model"):
        mlnb.models.register_path("xgb", text, flavour="xgboost")
    with pytest.raises(MlnbError, match="is not a readable skops file"):
        mlnb.models.register_path("skl", text, flavour="sklearn")
    with pytest.raises(UsageError, match=r"notes.txt is not an ONNX model \(no ModelProto header\)"):
        mlnb.models.register_path("onnx", text, flavour="onnx")
    with pytest.raises(UsageError, match=r"notes.txt is not a torch file"):
        mlnb.models.register_path("net", text, flavour="torch")
    not_torch = tmp_path / "weights.zip"
    with zipfile.ZipFile(not_torch, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(UsageError, match=r"weights.zip is not a torch file"):
        mlnb.models.register_path("net", not_torch, flavour="torch")
    for name in ("skl", "onnx", "net"):
        with pytest.raises(NotFound):
            mlnb.models.resolve(name)
    assert snapshot(backend_project.root) == before
    # what the libraries really write passes: torch.save's zip layout, an ONNX ModelProto's header
    state = tmp_path / "state.pt"
    with zipfile.ZipFile(state, "w") as zf:
        zf.writestr("state/data.pkl", b"\x80\x02}q\x00.")
        zf.writestr("state/version", "3\n")
    assert mlnb.models.register_path("net", state, flavour="torch").format == "file"
    proto = tmp_path / "model.onnx"
    proto.write_bytes(b"\x08\x07\x12\x07pytorch")  # ir_version 7, producer_name "pytorch"
    assert mlnb.models.register_path("onnx", proto, flavour="onnx").flavour == "onnx"


def test_a_crafted_skops_model_is_refused_and_runs_nothing(churn, tmp_path):
    marker = tmp_path / "pwned"
    crafted = tmp_path / "model.skops"
    call = {"__class__": "exec", "__module__": "builtins", "__loader__": "ConstructorFromReduceNode",
            "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode",
                        "content": [{"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode",
                                     "content": json.dumps(f"open({str(marker)!r}, 'w')"), "is_json": True}]}}
    with zipfile.ZipFile(crafted, "w") as zf:
        zf.writestr("schema.json", json.dumps({**call, "protocol": 2, "_skops_version": skops.__version__}))
    mlnb.models.register_path("evil", crafted, flavour="sklearn")
    with pytest.raises(MlnbError, match=r"holds types mlnb does not trust: builtins.exec; nothing was loaded"):
        mlnb.models.load("evil@1")
    with pytest.raises(MlnbError, match="builtins.exec"):
        mlnb.models.predict("evil@1", churn.X)
    assert not marker.exists()
