"""Crafted ``.skops`` files: loading refuses them in one line, naming the untrusted name, and runs nothing.

Each payload, were it loaded, creates a marker file (through ``exec``, ``eval``, ``os.system``,
``subprocess``, a ``getattr`` chain, a scikit-learn test helper that runs Python source ...). The
test asserts the refusal names the payload's callable and that the marker does not exist.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import skops
import skops.io as sio
from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from mlnb._safe_load import TRUSTED_TYPES, load_skops, untrusted
from mlnb.errors import MlnbError, UsageError
from mlnb.export.runtime import read_var, write_var
from tests.conftest import ROOT


def _json(value: object) -> dict:
    return {"__class__": type(value).__name__, "__module__": "builtins", "__loader__": "JsonNode",
            "content": json.dumps(value), "is_json": True}


def _call(module: str, name: str, *args: dict, loader: str = "ConstructorFromReduceNode") -> dict:
    """A node that makes skops call ``module.name(*args)`` while building the object."""
    if loader == "ConstructorFromReduceNode":
        return {"__class__": name, "__module__": module, "__loader__": loader,
                "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode",
                            "content": list(args)}}
    return {"__class__": name, "__module__": module, "__loader__": loader, "content": list(args)}


def _ref(module: str, name: str) -> dict:
    return {"__class__": name, "__module__": module, "__loader__": "FunctionNode"}


def _write(path: Path, schema: dict) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("schema.json", json.dumps({**schema, "protocol": 2, "_skops_version": skops.__version__}))
    return path


def _payloads(marker: Path) -> dict[str, tuple[dict, str]]:
    """name → (schema, the untrusted name the refusal must give)."""
    py = f"open({str(marker)!r}, 'w').write('ran')"
    sh = f"touch {marker}"
    estimator = {  # a trusted estimator hiding a shell call as its function
        "__class__": "FunctionTransformer", "__module__": "sklearn.preprocessing._function_transformer",
        "__loader__": "ObjectNode",
        "content": {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode",
                    "content": {"func": _ref("os", "system"), "kw_args": _json(None)},
                    "key_types": {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode",
                                  "content": [_json("str"), _json("str")]}},
    }
    return {
        "exec": (_call("builtins", "exec", _json(py)), "builtins.exec"),
        "eval": (_call("builtins", "eval", _json(f"__import__('os').system({sh!r})")), "builtins.eval"),
        "os.system": (_call("os", "system", _json(sh)), "os.system"),
        "posix.system": (_call("posix", "system", _json(sh)), "posix.system"),
        "subprocess": (_call("subprocess", "call", _call("builtins", "list", _json("touch"), _json(str(marker)),
                                                         loader="ListNode")), "subprocess.call"),
        "getattr chain": (_call("builtins", "exec", _json(f"system({sh!r})"), _call(
            "builtins", "getattr", _call("builtins", "__import__", _json("os")), _json("__dict__"))), "builtins.getattr"),
        "namedtuple-shaped": (_call("builtins", "exec", _json(py), loader="TupleNode"), "builtins.exec"),
        "numpy helper": (_call("numpy.testing._private.utils", "runstring", _json(py), _json({})),
                         "numpy.testing._private.utils.runstring"),
        "sklearn helper": (_call("sklearn.utils._testing", "assert_run_python_script_without_output", _json(py)),
                           "sklearn.utils._testing.assert_run_python_script_without_output"),
        "operator": ({"__class__": "methodcaller", "__module__": "operator", "__loader__": "OperatorFuncNode",
                      "attrs": _call("builtins", "tuple", _json("system"), _json(sh), loader="TupleNode")}, "operator.methodcaller"),
        "hidden function": (estimator, "os.system"),
        "type outside the list": (_call("pathlib", "PosixPath", _json(str(marker))), "pathlib.PosixPath"),
    }


def test_crafted_files_are_refused_in_one_line_and_run_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "RAN"
    tried = 0
    for name, (schema, culprit) in _payloads(marker).items():
        path = _write(tmp_path / f"{name.replace(' ', '_')}.skops", schema)
        assert culprit in untrusted(path), name
        for load in (load_skops, lambda p: read_var(str(_as_var(p)))):
            with pytest.raises(MlnbError) as err:
                load(path)
            message = str(err.value)
            assert "\n" not in message and culprit in message and "nothing was loaded" in message, (name, message)
            tried += 1
        assert not marker.exists(), f"{name}: the payload ran"
    assert tried == 24


def _as_var(path: Path) -> Path:
    folder = path.parent / f"var_{path.stem}"
    folder.mkdir(exist_ok=True)
    (folder / "object.skops").write_bytes(path.read_bytes())
    return folder


def test_the_payloads_are_live(tmp_path: Path) -> None:
    """With their names trusted (the old rule trusted every ``builtins.``, ``numpy.``, ``sklearn.``
    ... name), skops really runs them: the refusals above are what stands in the way."""
    marker = tmp_path / "RAN"
    ran = set()
    for name, (schema, _culprit) in _payloads(marker).items():
        path = _write(tmp_path / "live.skops", schema)
        with contextlib.suppress(Exception):
            sio.load(path, trusted=sio.get_untrusted_types(file=path))
        if marker.exists():
            ran.add(name)
            marker.unlink()
    assert {"exec", "eval", "getattr chain", "numpy helper", "sklearn helper"} <= ran  # old prefix rule
    assert {"os.system", "posix.system", "subprocess"} <= ran


def test_damaged_files_are_one_line_errors(tmp_path: Path) -> None:
    for name, data in {"not a zip": b"hello", "no schema": None, "bad loader": b"{}"}.items():
        path = tmp_path / "f.skops"
        if name == "not a zip":
            path.write_bytes(data)
        else:
            with zipfile.ZipFile(path, "w") as zf:
                if data is not None:
                    zf.writestr("schema.json", json.dumps({"__class__": "x", "__module__": "y",
                                                           "__loader__": "NoSuchNode", "protocol": 2}))
        with pytest.raises(MlnbError, match="nothing was loaded") as err:
            load_skops(path)
        assert "\n" not in str(err.value), name


def test_widening_is_by_exact_name_and_never_to_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "p.skops", _payloads(tmp_path / "RAN")["exec"][0])
    for bad in ("builtins.exec", "os.system", "subprocess.Popen", "sklearn.*", "numpy.", "exec", "operator.call"):
        with pytest.raises(UsageError):
            load_skops(path, trust=[bad])
        monkeypatch.setenv("MLNB_EXPORT_TRUST", bad)
        with pytest.raises(UsageError):
            read_var(str(_as_var(path)))
    assert not (tmp_path / "RAN").exists()


def test_what_pipelines_pass_between_stages_still_loads(tmp_path: Path) -> None:
    X, y = np.random.default_rng(0).normal(size=(60, 3)), np.arange(60) % 2
    values = {
        "grid": GridSearchCV(LogisticRegression(), {"C": [0.1, 1]}, cv=2, scoring="f1").fit(X, y),
        "forest": RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y),
        "best-first": DecisionTreeRegressor(max_leaf_nodes=5).fit(X, y),
        "boosting": GradientBoostingRegressor(n_estimators=3).fit(X, y),
        "values": [Counter("aab"), frozenset({3}), range(4), datetime.date(2024, 1, 2),
                   datetime.timedelta(hours=1), np.dtype("float32"), sp.csr_matrix(np.eye(3))],
    }
    for name, value in values.items():
        assert write_var(value, str(tmp_path / name)).name == "object.skops"
        back = read_var(str(tmp_path / name))
        if hasattr(value, "predict"):
            assert np.array_equal(back.predict(X), value.predict(X)), name
        else:
            assert [type(v) for v in back] == [type(v) for v in value]
            assert repr(back[:6]) == repr(value[:6]) and (back[6] != value[6]).nnz == 0
    assert all("." in t and "*" not in t for t in TRUSTED_TYPES)


def test_a_bundled_dataset_passes_between_stages(tmp_path: Path) -> None:
    """``iris = load_iris()`` in one stage and ``iris.data`` in the next (seen in public notebooks)."""
    from sklearn.datasets import load_iris

    iris = load_iris()
    write_var(iris, str(tmp_path / "iris"))
    back = read_var(str(tmp_path / "iris"))
    assert type(back) is type(iris) and np.array_equal(back.data, iris.data)
    assert list(back.target_names) == list(iris.target_names) and back.feature_names == iris.feature_names


def test_histogram_boosting_needs_an_explicit_trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its TreePredictor's node indices are not checked (skops does not trust it either): named, refused."""
    X, y = np.random.default_rng(0).normal(size=(60, 3)), np.arange(60) % 2
    model = HistGradientBoostingClassifier(max_iter=3).fit(X, y)
    write_var(model, str(tmp_path / "hgb"))
    name = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"
    with pytest.raises(MlnbError, match=f"{name}; nothing was loaded"):
        read_var(str(tmp_path / "hgb"))
    monkeypatch.setenv("MLNB_EXPORT_TRUST", name)
    assert np.array_equal(read_var(str(tmp_path / "hgb")).predict(X), model.predict(X))


@pytest.mark.parametrize("damage", ["child out of range", "child loops back", "feature out of range",
                                    "one child"])
def test_a_crafted_tree_is_refused_before_it_predicts(tmp_path: Path, damage: str) -> None:
    """skops checks types, not contents: a tree whose indices point outside it is refused after loading."""
    X, y = np.random.default_rng(0).normal(size=(60, 3)), np.arange(60) % 2
    forest = RandomForestClassifier(n_estimators=2, max_depth=3, random_state=0).fit(X, y)
    tree = forest.estimators_[1].tree_
    state = tree.__getstate__()
    nodes = state["nodes"].copy()
    field, value = {"child out of range": ("left_child", 10**6), "child loops back": ("right_child", 0),
                    "feature out of range": ("feature", 7), "one child": ("left_child", -1)}[damage]
    nodes[field][0] = value
    tree.__setstate__({**state, "nodes": nodes})  # scikit-learn itself accepts it
    sio.dump(forest, tmp_path / "forest.skops")
    with pytest.raises(MlnbError, match="holds a decision tree whose .*refused") as err:
        load_skops(tmp_path / "forest.skops")
    assert "\n" not in str(err.value)
    clean = DecisionTreeClassifier(max_depth=3).fit(X, y)
    sio.dump(clean, tmp_path / "clean.skops")
    assert np.array_equal(load_skops(tmp_path / "clean.skops").predict(X), clean.predict(X))


def test_a_sparse_matrix_with_indices_outside_it_is_refused(tmp_path: Path) -> None:
    bad = sp.csr_matrix((np.array([1.0]), np.array([10**6]), np.array([0, 1, 1])), shape=(2, 3))  # scipy takes it
    sio.dump({"features": bad}, tmp_path / "bad.skops")
    with pytest.raises(MlnbError, match="holds a sparse matrix with bad indices .*refused"):
        load_skops(tmp_path / "bad.skops")
    coo = sp.coo_matrix((np.array([1.0]), (np.array([0]), np.array([2]))), shape=(2, 3))
    sio.dump(coo, tmp_path / "coo.skops")
    assert (load_skops(tmp_path / "coo.skops") != coo).nnz == 0


_SCRIPT = """
import collections
from subprocess import Popen  # imported into __main__: never trusted because of that
from mlnb.export import runtime
Point = collections.namedtuple("Point", "x y")  # defined here: trusted
class Box:
    def __init__(self, size): self.size = size
if {write!r}:
    runtime.write_var([Point(1, 2), Box(3)], {own!r})
else:
    print(runtime.read_var({own!r}))
    runtime.read_var({hostile!r})
"""


def test_a_stage_trusts_its_own_classes_but_not_what_it_imports(tmp_path: Path) -> None:
    marker = tmp_path / "RAN"
    own, hostile = tmp_path / "own", tmp_path / "hostile"
    hostile.mkdir()
    _write(hostile / "object.skops",
           _call("__main__", "Popen", _call("builtins", "list", _json("touch"), _json(str(marker)), loader="ListNode")))

    def stage(write: bool) -> subprocess.CompletedProcess[str]:
        code = _SCRIPT.format(write=write, own=str(own), hostile=str(hostile))
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})

    assert stage(True).returncode == 0
    proc = stage(False)
    assert "Point(x=1, y=2)" in proc.stdout, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 1 and "__main__.Popen" in last and "nothing was loaded" in last, proc.stderr
    assert not marker.exists()


def test_dvc_repro_of_a_stage_reading_a_crafted_value_fails_and_runs_nothing(project) -> None:
    """The whole path: a pipeline passes a model between stages; its value file is swapped for a
    crafted one (a teammate's push, a cloned repository); `dvc repro` reruns the reader, which refuses."""
    from tests.export.shapes import dvc, write_notebook

    import mlnb

    root = project.root
    nb = write_notebook(root / "m.ipynb", [
        "import mlnb\nimport numpy as np\nfrom sklearn.linear_model import LinearRegression",
        "%%mlops stage fit\nX = np.arange(20.0).reshape(10, 2)\nmodel = LinearRegression().fit(X, X[:, 0])",
        "%%mlops stage use\nmlnb.log_metric('p', float(model.predict(X)[0]))",
    ])
    mlnb.export.export(nb, "pipeline")
    assert dvc(root, "repro", "pipeline/dvc.yaml").returncode == 0
    var = root / "pipeline" / "vars" / "fit" / "model" / "object.skops"
    assert var.exists()
    marker = root / "RAN"
    schema, culprit = _payloads(marker)["exec"]
    var.unlink()  # DVC may have linked it to its cache
    _write(var, schema)
    assert dvc(root, "commit", "--force", "pipeline/dvc.yaml:fit").returncode == 0  # what the push would hold

    proc = dvc(root, "repro", "pipeline/dvc.yaml")

    assert proc.returncode != 0 and not marker.exists()
    lines = [line for line in (proc.stderr + proc.stdout).splitlines() if culprit in line]
    assert lines and "nothing was loaded" in lines[0], proc.stderr + proc.stdout
