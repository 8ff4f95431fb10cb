"""Where an export may write: inside the project, into a folder, never over files it did not write."""

from __future__ import annotations

import pytest

import mlnb
from mlnb.errors import UsageError
from tests.conftest import run_cli
from tests.export.shapes import write_notebook

CELLS = [("alpha = 0.5", ["parameters"]), "%%mlops stage s\nx = alpha * 2"]


def test_hand_written_pipeline_files_are_never_overwritten(project):
    nb = write_notebook(project.root / "nb.ipynb", CELLS)
    (project.root / "dvc.yaml").write_text("stages:\n  mine:\n    cmd: echo hi\n")
    (project.root / "params.yaml").write_text("lr: 0.1\n")
    with pytest.raises(UsageError, match=r"dvc.yaml exists and was not written by mlnb export"):
        mlnb.export.export(nb, ".")
    (project.root / "dvc.yaml").unlink()
    with pytest.raises(UsageError, match=r"params.yaml exists and was not written by mlnb export"):
        mlnb.export.export(nb, ".")
    assert (project.root / "params.yaml").read_text() == "lr: 0.1\n"
    assert not (project.root / "s.py").exists() and not (project.root / "dvc.yaml").exists()  # nothing written
    (project.root / "pipeline").mkdir()
    (project.root / "pipeline/s.py").write_text("print('my own script')\n")
    with pytest.raises(UsageError, match="s.py exists and was not written by mlnb export"):
        mlnb.export.export(nb, "pipeline")
    assert (project.root / "pipeline/s.py").read_text() == "print('my own script')\n"


def test_exporting_again_over_its_own_files_works(project):
    nb = write_notebook(project.root / "nb.ipynb", CELLS)
    mlnb.export.export(nb, "pipeline")
    write_notebook(nb, [("alpha = 0.7", ["parameters"]), CELLS[1]])
    mlnb.export.export(nb, "pipeline")
    assert (project.root / "pipeline/params.yaml").read_text() == "alpha: 0.7\n"


def test_output_outside_the_project_or_onto_a_file_is_one_line(project, tmp_path):
    write_notebook(project.root / "nb.ipynb", CELLS)
    outside = run_cli("export", "nb.ipynb", "--out", str(tmp_path / "elsewhere"), cwd=project.root)
    assert outside.returncode == 2 and "outside the project" in outside.stderr and outside.stderr.count("\n") == 1
    assert not (tmp_path / "elsewhere").exists()
    (project.root / "afile.txt").write_text("keep me")
    onto_file = run_cli("export", "nb.ipynb", "--out", "afile.txt", cwd=project.root)
    assert onto_file.returncode == 2 and "is a file" in onto_file.stderr and onto_file.stderr.count("\n") == 1
    assert (project.root / "afile.txt").read_text() == "keep me"


def test_a_file_that_is_not_a_notebook_is_named_as_such(project):
    write_notebook(project.root / "nb.ipynb", CELLS)
    (project.root / "analysis.py").write_text("x = 1\n")
    out = run_cli("export", "analysis.py", "--out", "pipeline", cwd=project.root)
    assert out.returncode == 2 and out.stderr.strip() == (
        "mlnb: error: analysis.py is not a notebook: give the .ipynb file to export")
