"""`%%mlops stage` and `%mlops export` in a real IPython shell."""

from __future__ import annotations

import pytest
import yaml

import mlnb
from tests.export.shapes import write_notebook


@pytest.fixture
def shell(project, ipython):  # type: ignore[no-untyped-def]
    return ipython


def test_stage_cell_runs_in_the_notebook_as_a_run_named_after_the_stage(shell) -> None:  # type: ignore[no-untyped-def]
    result = shell.run_cell("%%mlops stage train --outs model.bin\nimport mlnb\nx = 40 + 2\nmlnb.log_metric('score', 0.25)\nx")
    assert result.success
    assert shell.user_ns["x"] == 42
    runs = mlnb.runs.list("name = 'train'")
    assert len(runs) == 1 and runs[0]["status"] == "finished" and runs[0]["metrics"] == {"score": 0.25}
    assert "mlnb-stage" in runs[0]["tags"]


def test_stage_cell_errors_are_one_line(shell, capsys) -> None:  # type: ignore[no-untyped-def]
    shell.run_cell("%%mlops stage 1bad\nx = 1")
    err = capsys.readouterr().err
    assert "stage name '1bad' is not allowed" in err and "Traceback" not in err


def test_export_finds_the_current_notebook_from_the_session(shell, project, capsys) -> None:  # type: ignore[no-untyped-def]
    nb = write_notebook(project.root / "work.ipynb", ["import json", "%%mlops stage a\nv = json.dumps([1])"])
    shell.run_cell("%mlops export pipe")
    assert "pass the notebook" in capsys.readouterr().err
    shell.user_ns["__session__"] = str(nb)
    shell.run_cell("%mlops export pipe")
    stages = yaml.safe_load((project.root / "pipe" / "dvc.yaml").read_text())["stages"]
    assert list(stages) == ["a"]


def test_session_path_from_the_server_root_is_found_beside_the_kernel(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from mlnb.cli import Context
    from mlnb.export._cli import current_notebook

    write_notebook(tmp_path / "work.ipynb", ["x = 1"])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JPY_SESSION_NAME", "projects/demo/work.ipynb")  # relative to the server's root
    assert current_notebook(Context()) == str(tmp_path / "work.ipynb")
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "work.ipynb"))
    assert current_notebook(Context()) == str(tmp_path / "work.ipynb")


def test_stage_runs_record_the_parameters_their_pipeline_script_records(shell, project) -> None:  # type: ignore[no-untyped-def]
    from mlnb.export.cells import read_notebook
    from mlnb.export.plan import build_plan

    cells = [("alpha = 0.5\nrows = 10\nlabel = 'x'", ["parameters"]), "%%mlops stage fit\ny = alpha * rows",
             "%%mlops stage other\nz = label * 2"]
    nb = write_notebook(project.root / "work.ipynb", cells)
    shell.run_cell("alpha = 0.25\nrows = 10\nlabel = 'x'")  # the parameters cell, run with another alpha

    assert shell.run_cell("%%mlops stage fit\ny = alpha * rows").success  # the kernel does not say its notebook
    assert mlnb.runs.list("name = 'fit'")[0]["params"] == {}

    shell.user_ns["__session__"] = str(nb)
    assert shell.run_cell("%%mlops stage fit\ny = alpha * rows").success
    recorded = mlnb.runs.list("name = 'fit'", sort="-started_at")[0]["params"]
    assert recorded == {"alpha": 0.25, "rows": 10}  # the values this kernel ran with
    stages = {s.name: s for s in build_plan(read_notebook(nb)).stages}
    assert sorted(recorded) == sorted(stages["fit"].params)  # the names the pipeline run records
    assert shell.run_cell("%%mlops stage unsaved\nw = alpha").success  # not in the saved notebook
    assert mlnb.runs.list("name = 'unsaved'")[0]["params"] == {}


def test_stage_runs_when_the_session_names_a_notebook_not_on_disk(shell, project) -> None:  # type: ignore[no-untyped-def]
    shell.user_ns["__session__"] = str(project.root / "Untitled-not-saved.ipynb")  # e.g. a new, unsaved notebook
    assert shell.run_cell("%%mlops stage fresh\nv = 1").success
    assert mlnb.runs.list("name = 'fresh'")[0]["params"] == {}
