"""`export --check` compares each stage with this notebook's own run of the stage's current code.

The stage cells run in a real IPython shell that knows its notebook (as Jupyter server tells a
kernel), then the pipeline runs under a real `dvc repro` in a clean copy.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import mlnb
from tests.export.shapes import write_notebook


@pytest.fixture
def shell(project, ipython):  # type: ignore[no-untyped-def]
    return ipython


def _run_cells(shell, nb: Path, cells: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Run ``cells`` as the kernel of notebook ``nb`` would."""
    shell.user_ns["__session__"] = str(nb)
    for source in cells:
        assert shell.run_cell(source).success, source


def _stage(value: float) -> str:
    return f"%%mlops stage train\nimport mlnb\nmlnb.log_metric('score', {value})"


def test_two_notebooks_with_the_same_stage_name_each_compare_with_their_own_run(shell, project) -> None:  # type: ignore[no-untyped-def]
    first = write_notebook(project.root / "first" / "a.ipynb", [_stage(1.0)])
    second = write_notebook(project.root / "second" / "b.ipynb", [_stage(2.0)])
    _run_cells(shell, first, [_stage(1.0)])
    _run_cells(shell, second, [_stage(2.0)])  # the newest finished run named "train" is the second's

    for nb, value in ((first, 1.0), (second, 2.0)):
        result = mlnb.export.export(nb, nb.parent / "pipeline", check=True)
        assert result.to_dict() == [
            {"stage": "train", "metric": "score", "notebook": value, "pipeline": value, "equal": True}
        ], str(result)
        assert result.exit_code == 0 and result.unmatched == []


def test_a_stage_changed_since_its_run_has_no_matching_run(shell, project, capsys) -> None:  # type: ignore[no-untyped-def]
    nb = write_notebook(project.root / "nb.ipynb", [_stage(1.0)])
    _run_cells(shell, nb, [_stage(1.0)])
    write_notebook(nb, [_stage(3.0)])  # edited, not run again

    result = mlnb.export.export(nb, "pipeline", check=True)

    assert result.unmatched == ["train"] and result.exit_code == 1
    assert result.to_dict() == [{"stage": "train", "metric": "score", "notebook": None, "pipeline": 3.0,
                                 "equal": False}]
    assert result.title.startswith("NOT reproduced: 0 of 1 metrics equal")
    assert "no finished run of this notebook with the current code of stage 'train'" in result.title

    _run_cells(shell, nb, [_stage(3.0)])  # run again: now it matches
    again = mlnb.export.export(nb, "pipeline", check=True)
    assert again.exit_code == 0 and again.to_dict()[0]["notebook"] == 3.0


def test_check_reports_metrics_that_differ_or_are_missing(shell, project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The notebook's kernel had MLNB_TEST_M=2 set; the pipeline runs without it."""
    cell = ("%%mlops stage s\nimport os, mlnb\nmlnb.log_metric('m', float(os.environ.get('MLNB_TEST_M', 1)))\n"
            "if 'MLNB_TEST_M' not in os.environ:\n    mlnb.log_metric('extra', 5)")
    nb = write_notebook(project.root / "drift.ipynb", [cell])
    monkeypatch.setenv("MLNB_TEST_M", "2")
    _run_cells(shell, nb, [cell])
    monkeypatch.delenv("MLNB_TEST_M")

    result = mlnb.export.export(nb, "pipeline", check=True)

    assert result.exit_code == 1 and result.title.startswith("NOT reproduced: 0 of 2 metrics equal")
    assert result.to_dict() == [
        {"stage": "s", "metric": "extra", "notebook": None, "pipeline": 5.0, "equal": False},
        {"stage": "s", "metric": "m", "notebook": 2.0, "pipeline": 1.0, "equal": False},
    ]
    assert "(missing)" in str(result) and result.unmatched == []
