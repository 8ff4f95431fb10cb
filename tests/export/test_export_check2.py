"""What the notebook showed, in the pipeline and in `--check`; stage membership and params in a kernel.

Notebooks run in real kernels (nbclient, `jupyter nbconvert --execute`, the real IPython shell),
pipelines under a real `dvc repro`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import mlnb
from tests.conftest import run_cli
from tests.export.shapes import ROOT, dvc, execute, write_notebook

#: no markers, no metrics: what the notebook showed is all there is to compare
SHOWN = [
    "import numpy as np\nimport pandas as pd\nimport os\n?np\nnp.mean?\nnp.mean??",
    'print("loading")\nscores = [round(0.5 + i / 8, 4) for i in range(4)]\nscores',
    'best = {"C": 0.1, "depth": 3}\nbest',
    'df = pd.DataFrame({"a": np.arange(5.0), "b": np.arange(5.0) ** 2})\ndf.describe()',
    "total = float(df.b.sum())",  # an assignment shows nothing
    "df.b.sum();",  # a trailing ; hides the value
    "print(None)\nNone",
    'print(float(os.environ.get("MLNB_TEST_SHOWN", "1.5")) * 2)',
]


def test_last_expressions_are_printed_and_check_compares_what_the_notebook_showed(project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    nb = write_notebook(project.root / "shown.ipynb", SHOWN)
    execute(nb)

    result = mlnb.export.export(nb, "pipeline", check=True)

    script = (project.root / "pipeline" / "shown.py").read_text()
    assert "_mlnb_export.show(scores)" in script and "_mlnb_export.show(df.describe())" in script
    assert "# %pinfo2 np.mean (notebook only)" in script and "get_ipython" not in script
    assert "show(df.b.sum())" not in script
    rows = {r["metric"]: r for r in result.rows}
    assert set(rows) == {"cell 2 output", "cell 3 output", "cell 4 output", "cell 7 output", "cell 8 output"}, str(result)
    assert all(r["equal"] for r in result.rows), str(result)
    assert result.exit_code == 0 and result.title.startswith("reproduced: 5 of 5 compared (0 metrics, 5 cell outputs)")
    assert "0.875" in rows["cell 2 output"]["pipeline"] and "3" in rows["cell 3 output"]["notebook"]
    assert rows["cell 8 output"]["notebook"] == "3.0"


def test_a_shown_number_that_differs_fails_the_check_with_both_values(project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    nb = write_notebook(project.root / "shown.ipynb", SHOWN)
    monkeypatch.setenv("MLNB_TEST_SHOWN", "2.25")  # the notebook's kernel sees it, the pipeline does not
    execute(nb)
    monkeypatch.delenv("MLNB_TEST_SHOWN")

    result = mlnb.export.export(nb, "pipeline", check=True)

    row = next(r for r in result.rows if r["metric"] == "cell 8 output")
    assert row == {"stage": "shown", "metric": "cell 8 output", "notebook": "number 1 of 1: 4.5",
                   "pipeline": "number 1 of 1: 3", "equal": False}
    assert sum(not r["equal"] for r in result.rows) == 1 and result.exit_code == 1
    assert result.title.startswith("NOT reproduced: 4 of 5 compared")


def test_nothing_to_compare_says_so_and_exits_3(project) -> None:  # type: ignore[no-untyped-def]
    nb = write_notebook(project.root / "quiet.ipynb", ["x = 1", "y = x + 1"])
    execute(nb)  # run and saved: nothing shown, no metrics

    result = mlnb.export.export(nb, "pipeline", check=True)
    assert result.rows == [] and result.exit_code == 3
    assert result.title.startswith("nothing compared: no stage logs metrics and no cell shows output")

    proc = run_cli("export", "quiet.ipynb", "--out", "pipeline", "--check", cwd=project.root)
    assert proc.returncode == 3 and "nothing compared" in proc.stdout, proc.stdout + proc.stderr


def test_a_setup_cell_prints_once_and_still_defines_its_names(project) -> None:  # type: ignore[no-untyped-def]
    cells = [
        '%load_ext mlnb\nimport mlnb\nprint("setup says hello")\nbase = 10\nprint("base is", base)',
        "%%mlops stage one\na = base + 1\nmlnb.log_metric('a', a)\na",
        "%%mlops stage two\nb = base + 2\nmlnb.log_metric('b', b)\nb",
    ]
    nb = write_notebook(project.root / "setup.ipynb", cells)
    execute(nb)

    result = mlnb.export.export(nb, "pipeline", check=True)
    assert result.exit_code == 0 and all(r["equal"] for r in result.rows), str(result)
    assert {r["metric"] for r in result.rows} == {"a", "b", "cell 1 output", "cell 2 output", "cell 3 output"}

    proc = dvc(project.root, "repro", "--force", "pipeline/dvc.yaml")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("setup says hello") == 1 and proc.stdout.count("base is 10") == 1, proc.stdout
    assert "\n11\n" in proc.stdout and "\n12\n" in proc.stdout  # each stage's last expression


def test_an_unmarked_cell_after_a_stage_belongs_to_it_in_the_kernel_too(project, ipython) -> None:  # type: ignore[no-untyped-def]
    cells = ["import mlnb", "%%mlops stage train\nw = 2.0\nmlnb.log_metric('w', w)",
             "mlnb.log_metric('w2', w * w)", "%%mlops stage report\nmlnb.log_metric('half', w / 2)"]
    nb = write_notebook(project.root / "member.ipynb", cells)
    ipython.user_ns["__session__"] = str(nb)
    for source in cells:
        assert ipython.run_cell(source).success, source  # log_metric in cell 3 has the stage's run

    train = mlnb.runs.list("name = 'train'")
    assert len(train) == 1 and train[0]["status"] == "finished" and train[0]["metrics"] == {"w": 2.0, "w2": 4.0}
    assert mlnb.runs.list("name = 'report'")[0]["metrics"] == {"half": 1.0}
    assert ipython.run_cell("mlnb.log_metric('late', 1)").success  # after `report`: continues `report`
    assert mlnb.runs.list("name = 'report'")[0]["metrics"] == {"half": 1.0, "late": 1.0}
    report = mlnb.runs.list("name = 'report'")[0]["id"]
    ended = mlnb.runs.get(report).ended_at
    assert ipython.run_cell("%mlops runs list").success  # a command: outside the stage, not reopened
    assert mlnb.runs.get(report).ended_at == ended and mlnb.runs.get(report).status == "finished"
    failed = ipython.run_cell("raise ValueError('boom')")
    assert not failed.success and mlnb.runs.list("name = 'report'")[0]["status"] == "failed"

    cells[3] += "\nmlnb.log_metric('late', 1)"  # what was run, as saved
    write_notebook(nb, cells)
    ipython.run_cell(cells[3])
    result = mlnb.export.export(nb, "pipeline", check=True)
    assert [(r["stage"], r["metric"], r["equal"]) for r in result.rows] == [
        ("train", "w", True), ("train", "w2", True), ("report", "half", True), ("report", "late", True)], str(result)


def test_stage_runs_record_the_same_params_under_nbconvert_as_under_dvc_repro(project) -> None:  # type: ignore[no-untyped-def]
    cells = ["%load_ext mlnb\nimport mlnb", ("alpha = 0.5\nrows = 10\nunused = 'x'", ["parameters"]),
             "%%mlops stage fit\ny = alpha * rows\nmlnb.log_metric('y', y)\ny"]
    nb = write_notebook(project.root / "params.ipynb", cells)
    env = {k: v for k, v in os.environ.items() if k != "JPY_SESSION_NAME"}  # nbconvert names no notebook
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([str(Path(sys.executable).parent / "jupyter-nbconvert"), "--to", "notebook", "--execute",
                           "--inplace", str(nb)], cwd=project.root, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr

    result = mlnb.export.export(nb, "pipeline", check=True)
    assert result.exit_code == 0 and {r["metric"] for r in result.rows} == {"y", "cell 3 output"}, str(result)
    notebook_run = mlnb.runs.list("name = 'fit' and tags.mlnb-stage")[0]
    pipeline_run = mlnb.runs.list("name = 'fit' and tags.mlnb-pipeline")[0]
    assert mlnb.runs.get(notebook_run["id"]).notebook == str(nb.resolve())  # found without a session
    assert notebook_run["params"] == pipeline_run["params"] == {"alpha": 0.5, "rows": 10}
    compared = mlnb.runs.compare([notebook_run["id"], pipeline_run["id"]])
    assert [r["field"] for r in compared.rows if r["differs"]] == [], str(compared)


@pytest.mark.parametrize(("code", "script"), [
    ("x = 2\nx * 21", "x = 2\n_mlnb_export.show(x * 21)"),
    ("grid.best_params_  # the winner", "_mlnb_export.show(grid.best_params_)  # the winner"),
    ("(a,\n b)", "_mlnb_export.show((a,\n b))"),
    ("a, b", "_mlnb_export.show((a, b))"), ("(a), (b)", "_mlnb_export.show(((a), (b)))"),
    ("mlnb.log_metric('a', 1)", "mlnb.log_metric('a', 1)"), ("plt.show()", "plt.show()"),
    ("x;", "x;"), ("x = 1", "x = 1"), ('print("a")', 'print("a")'), ("None", "None"),
    ('with _mlnb_export.run("r"):\n    y = 1\n    y\n', 'with _mlnb_export.run("r"):\n    y = 1\n    _mlnb_export.show(y)\n'),
    ("for i in range(2):\n    i", "for i in range(2):\n    i"),  # IPython shows only a top-level last expression
])
def test_which_last_expression_a_script_prints(code: str, script: str) -> None:
    from mlnb.export.outputs import show_last

    assert show_last(code) == script


def test_copied_setup_drops_only_prints_that_change_nothing() -> None:
    from mlnb.export.outputs import quiet

    code = 'print("a")\nprint(len(x), df.head()); y = 2\nprint(items.pop())\nfor i in x:\n    print(i)\nx'
    assert quiet(code) == ("pass  # printed by the first stage that runs this setup cell\npass; y = 2\n"
                           "print(items.pop())\nfor i in x:\n    print(i)\nx")


def test_outputs_the_notebook_did_not_show_are_skipped_with_a_reason(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from types import SimpleNamespace

    from mlnb.export.outputs import rows

    nb = write_notebook(tmp_path / "nb.ipynb", ["x = 1\nx", "%%capture\nprint(2)", "print(3)"])
    folder = tmp_path / "transcripts" / "nb"
    folder.mkdir(parents=True)
    for number, text in ((1, "1\n"), (2, "2\n"), (3, "3\n")):
        (folder / f"cell-{number}.txt").write_text(text)
    stage = SimpleNamespace(name="nb", script="nb.py", setup=[], cells=[SimpleNamespace(number=n) for n in (1, 2, 3)])
    found, skipped = rows(SimpleNamespace(notebook=nb, stages=[stage]), tmp_path / "transcripts")
    assert found == [] and skipped == ["cell 1 (not run in the saved notebook)",
                                       "cell 2 (not run in the saved notebook)", "cell 3 (not run in the saved notebook)"]

    import nbformat
    saved = nbformat.read(str(nb), as_version=4)
    for cell in saved.cells:
        cell.execution_count = 1
    saved.cells[0].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "1"}, execution_count=1)]
    nbformat.write(saved, str(nb))
    found, skipped = rows(SimpleNamespace(notebook=nb, stages=[stage]), tmp_path / "transcripts")
    assert [(r["metric"], r["equal"]) for r in found] == [("cell 1 output", True), ("cell 3 output", False)]
    assert skipped == ["cell 2 (output captured by %%capture in the notebook)"]


def test_a_kernel_without_a_session_finds_the_one_notebook_holding_its_cell(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from mlnb.runs._capture import notebook_holding

    cell = "%%mlops stage fit\ny = 1"
    write_notebook(tmp_path / "analysis.ipynb", ["import mlnb", cell])
    write_notebook(tmp_path / "other.ipynb", ["import mlnb"])
    (tmp_path / "broken.ipynb").write_text("{not json")
    assert notebook_holding(cell + "\n", tmp_path) == str(tmp_path / "analysis.ipynb")
    assert notebook_holding("import mlnb", tmp_path) is None  # two notebooks hold it: unknown
    assert notebook_holding("y = 2", tmp_path) is None and notebook_holding("", tmp_path) is None

    write_notebook(tmp_path / "analysis.nbconvert.ipynb", ["import mlnb", cell])  # an executed copy
    out = write_notebook(tmp_path / "out.ipynb", ["import mlnb", cell])  # papermill's output names its input
    saved = json.loads(out.read_text())
    saved["metadata"]["papermill"] = {"input_path": "analysis.ipynb", "output_path": "out.ipynb"}
    out.write_text(json.dumps(saved))
    assert notebook_holding(cell, tmp_path) == str(tmp_path / "analysis.ipynb")
    (tmp_path / "analysis.ipynb").unlink()
    assert notebook_holding(cell, tmp_path) is None  # two copies, no original: unknown
