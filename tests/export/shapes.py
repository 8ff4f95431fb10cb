"""Notebooks of different shapes for the export tests, built with nbformat, and how to run them."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[2]

Cell = "str | tuple[str, list[str]]"
#: how a generated stage command starts: the interpreter that ran the export
PYTHON = shlex.quote(sys.executable)


def write_notebook(path: Path, cells: list, markdown_every: int = 0) -> Path:
    """Cells are sources, or (source, tags) pairs."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i, cell in enumerate(cells):
        source, tags = (cell, []) if isinstance(cell, str) else cell
        if markdown_every and i % markdown_every == 0:
            nb.cells.append(new_markdown_cell(f"## part {i}"))
        nb.cells.append(new_code_cell(source, metadata={"tags": tags} if tags else {}))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def execute(path: Path) -> None:
    """Run the notebook in a real kernel, in its folder, with this checkout's mlnb; save its outputs."""
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "JPY_SESSION_NAME")}
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT), saved["PYTHONPATH"]] if p)
    os.environ["JPY_SESSION_NAME"] = str(path.resolve())  # as Jupyter server tells a notebook's kernel
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    nbformat.write(nb, str(path))


def dvc(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `dvc` command with this Python first on PATH and this checkout's mlnb importable."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    dvc_bin = Path(sys.executable).parent / "dvc"
    return subprocess.run([str(dvc_bin), *args], cwd=cwd, env=env, capture_output=True, text=True)


SETUP = "%load_ext mlnb\nimport mlnb\nimport numpy as np\nimport pandas as pd"

#: helpers in cells, in-place DataFrame mutation, a regression, a file written with pandas, params
REGRESSION = [
    SETUP + "\nfrom sklearn.linear_model import LinearRegression",
    ("seed = 7\nnoise = 0.1", ["parameters"]),
    "def rmse(y, p):\n    return float(np.sqrt(np.mean((np.asarray(y) - np.asarray(p)) ** 2)))",
    '%%mlops stage prepare\nraw = mlnb.data.load("raw")\nraw.dropna(inplace=True)\nraw["x2"] = raw["x"] ** 2\n'
    'raw.to_csv("data/features.csv", index=False)\nmlnb.log_metric("rows", len(raw))',
    "%%mlops stage train\nrng = np.random.default_rng(seed)\n"
    'y = 3 * raw["x"] - raw["x2"] + rng.normal(scale=noise, size=len(raw))\n'
    'model = LinearRegression()\nmodel.fit(raw[["x", "x2"]], y)\n'
    'mlnb.log_metric("train_rmse", rmse(y, model.predict(raw[["x", "x2"]])))',
    '%%mlops stage evaluate\nfeatures = pd.read_csv("data/features.csv")\n'
    'pred = model.predict(features[["x", "x2"]])\nmlnb.log_metric("mean_pred", float(pred.mean()))\n'
    'mlnb.log_metric("coef_x", float(model.coef_[0]))',
]


def raw_frame():  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd

    x = np.linspace(-2, 2, 60)
    x[[3, 17]] = np.nan
    return pd.DataFrame({"x": x, "id": range(60)})


#: a Pipeline + GridSearchCV crossing stages (skops), stages marked by tags and by the magic
GRID = [
    SETUP + "\nfrom sklearn.datasets import make_classification\nfrom sklearn.pipeline import Pipeline\n"
    "from sklearn.preprocessing import StandardScaler\nfrom sklearn.linear_model import LogisticRegression\n"
    "from sklearn.model_selection import GridSearchCV, train_test_split",
    ("X, y = make_classification(n_samples=200, n_features=6, random_state=0)\n"
     "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)", ["stage:data"]),
    ('%%mlops run search\npipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])\n'
     'search = GridSearchCV(pipe, {"clf__C": [0.01, 0.1, 1.0]}, cv=3)\nsearch.fit(X_train, y_train)\n'
     'mlnb.log_metric("cv_score", search.best_score_)', ["stage:search"]),
    '%%mlops stage score\nacc = search.score(X_test, y_test)\nmlnb.log_metric("test_accuracy", acc)\n'
    'mlnb.log_metric("best_C", search.best_params_["clf__C"])',
]

#: no markers at all: one stage; the cells start their own run
PLAIN = [
    "import mlnb\nimport pandas as pd\nfrom sklearn.tree import DecisionTreeRegressor",
    'df = pd.DataFrame({"a": range(40), "b": [i % 7 for i in range(40)]})\ndf["t"] = df.a * 0.5 + df.b',
    'df.to_parquet("table.parquet")',
    'with mlnb.start_run("fit"):\n    tree = DecisionTreeRegressor(max_depth=3, random_state=0)\n'
    '    tree.fit(df[["a", "b"]], df.t)\n    mlnb.log_metric("r2", tree.score(df[["a", "b"]], df.t))',
]
