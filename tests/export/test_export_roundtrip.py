"""Notebook → executed in a real kernel → exported → real `dvc repro` in a clean copy → same metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import mlnb
from tests.conftest import run_cli
from tests.export.shapes import GRID, PLAIN, PYTHON, REGRESSION, execute, raw_frame, write_notebook


def _assert_reproduced(result, expected_metrics: set[str],  # type: ignore[no-untyped-def]
                       known: dict[str, float] | None = None) -> None:
    """Every metric was computed on both sides, to the same number; ``known`` ones to that value;
    the cells' shown outputs (compared as text) were equal too."""
    outputs = [r for r in result.rows if r["metric"].endswith(" output")]
    metrics = [r for r in result.rows if r not in outputs]
    assert {r["metric"] for r in metrics} == expected_metrics, str(result)
    assert all(r["equal"] is True for r in outputs), str(result)
    for row in metrics:
        assert isinstance(row["notebook"], (int, float)), str(result)  # a number, not a missing value
        assert row["pipeline"] == pytest.approx(row["notebook"], rel=1e-9, abs=1e-12), str(result)
        assert row["equal"] is True, str(result)
        if known and row["metric"] in known:
            assert row["notebook"] == known[row["metric"]], str(result)
    assert result.exit_code == 0
    assert "reproduced" in result.title and "NOT" not in result.title


def test_regression_with_helpers_inplace_mutation_and_pandas_files(project) -> None:
    mlnb.data.save(raw_frame(), "raw")
    nb = write_notebook(project.root / "analysis.ipynb", REGRESSION)
    execute(nb)

    result = mlnb.export.export(nb, "pipeline", check=True)

    _assert_reproduced(result, {"rows", "train_rmse", "mean_pred", "coef_x"},
                       known={"rows": len(raw_frame().dropna())})  # 58: two NaN rows dropped
    stages = yaml.safe_load((project.root / "pipeline" / "dvc.yaml").read_text())["stages"]
    assert list(stages) == ["prepare", "train", "evaluate"]
    prepare, train, evaluate = stages["prepare"], stages["train"], stages["evaluate"]
    assert "data/raw.parquet" in prepare["deps"]  # mlnb.data.load("raw")
    assert "data/features.csv" in prepare["outs"] and "data/features.csv" in evaluate["deps"]
    # raw is mutated in place in prepare, so train reads prepare's version of it
    assert "pipeline/vars/prepare/raw" in prepare["outs"] and "pipeline/vars/prepare/raw" in train["deps"]
    assert "pipeline/vars/train/model" in evaluate["deps"]
    assert train["params"] == [{"pipeline/params.yaml": ["noise", "seed"]}]
    assert evaluate["metrics"] == [{"pipeline/metrics/evaluate.json": {"cache": False}}]
    assert all(not d.endswith(".ipynb") for s in stages.values() for d in s["deps"])
    assert yaml.safe_load((project.root / "pipeline" / "params.yaml").read_text()) == {"noise": 0.1, "seed": 7}
    # the helper is copied into the stage that calls it, and the script is plain Python
    train_py = (project.root / "pipeline" / "train.py").read_text()
    assert "def rmse(y, p):" in train_py and "get_ipython" not in train_py
    compile(train_py, "train.py", "exec")


def test_pipeline_and_grid_search_cross_stages_safely(project) -> None:
    nb = write_notebook(project.root / "grid.ipynb", GRID)
    execute(nb)

    result = mlnb.export.export(nb, "pipeline", check=True)

    _assert_reproduced(result, {"cv_score", "test_accuracy", "best_C"})
    stages = yaml.safe_load((project.root / "pipeline" / "dvc.yaml").read_text())["stages"]
    assert list(stages) == ["data", "search", "score"]
    assert "pipeline/vars/search/search" in stages["score"]["deps"]
    assert "metrics" not in stages["data"]


def test_notebook_without_markers_is_one_stage(project) -> None:
    nb = write_notebook(project.root / "plain.ipynb", PLAIN)
    execute(nb)

    proc = run_cli("export", "plain.ipynb", "--out", ".", "--check", cwd=project.root)

    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "r2" in proc.stdout and "reproduced: 1 of 1 metrics equal" in proc.stdout
    stages = yaml.safe_load((project.root / "dvc.yaml").read_text())["stages"]
    assert list(stages) == ["plain"]
    assert stages["plain"]["outs"] == ["table.parquet"]
    assert stages["plain"]["cmd"] == f"{PYTHON} plain.py" and "wdir" not in stages["plain"]


def test_pipeline_runs_in_place_and_records_runs(project) -> None:
    """`dvc repro` in the project itself: the stage runs are in the registry, the metrics file agrees."""
    from tests.export.shapes import dvc

    nb = write_notebook(project.root / "plain.ipynb", PLAIN)
    mlnb.export.export(nb, "pipeline")
    proc = dvc(project.root, "repro", "pipeline/dvc.yaml")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    metrics = yaml.safe_load((project.root / "pipeline" / "metrics" / "plain.json").read_text())
    runs = mlnb.runs.list("name = 'plain' and tags.mlnb-pipeline")
    assert len(runs) == 1 and runs[0]["status"] == "finished"
    child = mlnb.runs.get(mlnb.runs.get(runs[0]["id"]).children[0])
    assert child.name == "fit" and metrics == {"r2": child.metrics["r2"]}
    assert Path(project.root / "table.parquet").exists()
