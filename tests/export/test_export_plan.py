"""Planning and writing without running anything: errors, layout, byte-identical re-export."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
import yaml

from mlnb.errors import UsageError
from mlnb.export import export
from tests.conftest import run_cli
from tests.export.shapes import GRID, PLAIN, PYTHON, REGRESSION, write_notebook


def _export(tmp_path: Path, cells: list, out: str = "pipeline"):  # type: ignore[no-untyped-def]
    return export(write_notebook(tmp_path / "nb.ipynb", cells), tmp_path / out)


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (["from math import *", "%%mlops stage a\nx = sqrt(2)"],
         r"cell 1 \(setup\): `from math import \*` hides"),
        (["%%mlops stage a\nx = mystery + 1"],
         r"cell 1 \(stage 'a'\): `mystery` is not defined anywhere"),
        (["%%mlops stage a\nx = later * 2", "%%mlops stage b\nlater = 1"],
         r"cell 1 \(stage 'a'\): `later` is used here but defined only later, in cell 2 \(stage 'b'\)"),
        (["%%mlops stage a\nx = 1", "%%mlops stage b\ny = x + 1", "%%mlops stage a\nz = y * 2"],
         r"the stages form a cycle \('a' needs `y` from 'b'; 'b' needs `x` from 'a'\)"),
        (["threshold = 1\ndef above(v):\n    return v > threshold",
          "%%mlops stage a\nthreshold = 2\nr1 = above(3)", "%%mlops stage b\nr2 = above(1)"],
         r"cell 1 \(setup\): function `above` reads the global `threshold`, which changes between stages"),
        ([("lr = 10 ** -3", ["parameters"]), "%%mlops stage a\nx = lr"],
         r"cell 1 \(parameters\): parameter lr = 10 \*\* -3 is not a literal"),
        (["%%mlops stage a\nopen('out.txt', 'w').write('a')", "%%mlops stage b\nopen('out.txt', 'w').write('b')"],
         r"stages 'a' and 'b' both write out.txt"),
        (["%%mlops stage 9lives\nx = 1"], r"cell 1: stage name '9lives' is not allowed"),
        (["%%bash\necho hi"], r"cell 1: the %%bash cell magic cannot run outside IPython"),
        (["import mlnb\nimport pandas as pd", "%%mlops stage a\nmlnb.data.save(pd.DataFrame(), 'x')"],
         r"cell 2 \(stage 'a'\): mlnb.data.save/add and %mlops commands cannot run inside `dvc repro`"),
        (["x = 1\n!ls", "%%mlops stage a\ny = x"], r"cell 1 \(setup\): the shell command !ls"),
        (["tmp = [1]", "%%mlops stage a\ndel tmp", "%%mlops stage b\nprint(tmp)"],
         r"cell 3 \(stage 'b'\): `tmp` is used here but was deleted in cell 2 \(stage 'a'\)"),
        ([], r"has no code to export: add cells"),
        (["   ", ""], r"has no code to export"),
    ],
)
def test_errors_name_the_cell_and_the_name(tmp_path: Path, cells: list, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        _export(tmp_path, cells)
    assert not (tmp_path / "pipeline" / "dvc.yaml").exists()  # nothing half-written


def test_reexport_is_byte_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prepare = ('%%mlops stage prepare\nraw = pd.DataFrame({"x": [1.0, None, 3.0]})\nraw.dropna(inplace=True)\n'
               'raw["x2"] = raw["x"] ** 2\nraw.to_csv("data/features.csv", index=False)')
    cells = [REGRESSION[0], GRID[0], *REGRESSION[1:3], prepare, *REGRESSION[4:], *GRID[1:]]
    nb = write_notebook(tmp_path / "nb.ipynb", cells, markdown_every=2)
    export(nb, tmp_path / "pipeline")
    first = {p.name: p.read_bytes() for p in (tmp_path / "pipeline").iterdir()}
    monkeypatch.chdir(tmp_path)
    export("nb.ipynb", "pipeline")  # relative paths, another working directory
    second = {p.name: p.read_bytes() for p in (tmp_path / "pipeline").iterdir()}
    assert first == second
    assert set(first) == {"dvc.yaml", "params.yaml", "prepare.py", "train.py", "evaluate.py", "data.py",
                          "search.py", "score.py"}


def test_layout_scripts_and_cross_stage_values(tmp_path: Path) -> None:
    cells = [
        "import numpy as np\nimport json",
        "np.random.seed(0)",  # a side effect: every stage gets it
        "UNUSED = 'never read by a stage'",
        "%%mlops stage make\nfrom collections import Counter\nvalues = np.arange(5)\ncounts = Counter('aab')\n"
        "doc = '''line one\nline two'''",
        "%%mlops stage use\ntotal = int(values.sum()) + counts['a'] + Counter('b')['b']\nprint(json.dumps({'t': total, 'doc': doc}))",
    ]
    result = _export(tmp_path, cells, out=".")
    assert [r["stage"] for r in result.rows] == ["make", "use"]
    stages = yaml.safe_load((tmp_path / "dvc.yaml").read_text())["stages"]
    assert stages["use"] == {"cmd": f"{PYTHON} use.py", "deps": ["use.py", "vars/make/counts", "vars/make/doc",
                                                               "vars/make/values"]}
    use_py = (tmp_path / "use.py").read_text()
    assert "np.random.seed(0)" in use_py and "UNUSED" not in use_py
    assert "from collections import Counter" in use_py  # an import crossing stages is re-emitted
    make_py = (tmp_path / "make.py").read_text()
    assert "    doc = '''line one\nline two'''" in make_py  # the string's inside is not indented


def test_scripts_run_with_plain_python(project, capsys) -> None:  # type: ignore[no-untyped-def]
    tmp_path = project.root
    cells = ["import json\nclass Box:\n    def __init__(self, v):\n        self.v = v",
             "%%mlops stage make\ndoc = '''line one\n  line two'''\nsizes = {'a': 1, 'b': [1, 2]}\nbox = Box(3)",
             "%%mlops stage use\nprint(json.dumps({'doc': doc, 'sizes': sizes, 'box': box.v}, sort_keys=True))"]
    _export(tmp_path, cells, out="pipe")
    for script in ("make", "use"):
        runpy.run_path(str(tmp_path / "pipe" / f"{script}.py"), run_name="__main__")
    assert capsys.readouterr().out.strip() == '{"box": 3, "doc": "line one\\n  line two", "sizes": {"a": 1, "b": [1, 2]}}'


def test_globals_written_by_a_called_function_cross_stages(tmp_path: Path) -> None:
    cells = ["counter = 0\ndef bump(by):\n    global counter\n    counter += by",
             "%%mlops stage a\nbump(2)", "%%mlops stage b\nprint(counter)"]
    result = _export(tmp_path, cells)
    a, b = result.plan.stages
    assert a.outputs == ["counter"] and b.inputs == {"counter": "a"}
    assert [c.number for c in a.setup] == [1] and b.setup == []


def test_notebook_in_a_subfolder_runs_from_its_folder(tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "notebooks" / "plain.ipynb", PLAIN)
    export(nb, tmp_path / "pipelines" / "plain")
    stage = yaml.safe_load((tmp_path / "pipelines" / "plain" / "dvc.yaml").read_text())["stages"]["plain"]
    assert stage["wdir"] == "../../notebooks"
    assert stage["cmd"] == f"{PYTHON} ../pipelines/plain/plain.py"
    assert stage["outs"] == ["table.parquet"]


def test_cli_shows_one_line_and_exit_code_2(tmp_path: Path) -> None:
    write_notebook(tmp_path / "bad.ipynb", ["%%mlops stage a\nx = nope"])
    proc = run_cli("export", "bad.ipynb", "--out", "p", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "mlnb: error: cell 1 (stage 'a'): `nope` is not defined anywhere in the notebook: " \
                                  "define or import it"
    proc = run_cli("export", "p", cwd=tmp_path)
    assert proc.returncode == 2 and "pass the notebook" in proc.stderr
