"""Hostile names through export and a real `dvc repro`: the pipeline runs, and nothing they spell runs.

The notebook's file name, its folder, the output folder, parameter names and values and the file
paths its cells read and write carry shell syntax (``$(...)``, backticks, ``;``, quotes), spaces,
newlines that would start a code line, and non-ASCII letters. Each payload, were it executed by a
shell or by Python, creates a file whose name starts with ``MARK``; none may exist afterwards.
What DVC itself cannot hold (``${`` starts DVC's own templating) is refused in one line, exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_cli
from tests.export.shapes import dvc, write_notebook
from tests.faults._harness import assert_one_line_error, snapshot

#: the pieces every hostile name is made of: shell expansions, separators, quotes, a code line
SHELL = "$(touch MARK_s1) `touch MARK_s2`; touch MARK_s3 & 'q' \"dq\""
CODE_LINE = '\n__import__("os").system("touch MARK_py") #'
PY_LINE = '__import__("os").system("touch MARK_py")'
#: a file a stage writes and the next reads, named with all of it (no newline: see the second case)
DATA_FILE = "in $(touch MARK_f1) `touch MARK_f2`;'x\" ü.txt"
LABEL = "$(touch MARK_v1)\n`touch MARK_v2`; 'v' \"w\" ${nope} ü"


def _cells(data_file: str) -> list:
    return [
        "import mlnb",
        (f"seed = 3\nlabel = {LABEL!r}\nα = 2", ["parameters"]),
        f"%%mlops stage prepare\ntext = label * α\nwith open({data_file!r}, 'w', encoding='utf-8') as fh:\n"
        "    fh.write(text)",
        f"%%mlops stage train\nwith open({data_file!r}, encoding='utf-8') as fh:\n    n = len(fh.read())\n"
        "mlnb.log_metric('n', n + seed + len(text))",
    ]


def _no_marks(root: Path) -> None:
    ran = sorted(str(p.relative_to(root)) for p in root.rglob("MARK*"))
    assert not ran, f"a hostile name was executed: {ran}"


def _export_and_repro(root: Path, notebook: Path, out: str) -> dict:
    proc = run_cli("export", str(notebook), "--out", out, cwd=root)
    assert proc.returncode == 0, proc.stderr
    folder = root / out
    for script in folder.glob("*.py"):  # plain Python, no injected line
        text = script.read_text(encoding="utf-8")
        compile(text, str(script), "exec")
        assert not any(line.lstrip().startswith(PY_LINE) for line in text.splitlines()), script
    header = (folder / "dvc.yaml").read_text(encoding="utf-8")
    assert PY_LINE not in "".join(line for line in header.splitlines() if not line.startswith("#") and "cmd" in line)
    repro = dvc(root, "repro", str(folder / "dvc.yaml"))
    assert repro.returncode == 0, repro.stderr + repro.stdout
    _no_marks(root.parent)
    return json.loads((folder / "metrics" / "train.json").read_text())


def test_hostile_notebook_out_folder_params_and_paths_run_as_plain_names(project) -> None:
    root = project.root
    expected = {"n": len(LABEL * 2) * 2 + 3}
    # 1. notebook name with shell syntax and a newline that would start a code line; out folder with
    #    shell syntax, spaces and quotes; a data file named with shell syntax
    nb = write_notebook(root / f"nb {SHELL}{CODE_LINE} ü.ipynb", _cells(DATA_FILE))
    out = "pipe $(touch MARK_o1) `touch MARK_o2`; 'q' \"dq\" ü"
    assert _export_and_repro(root, nb, out) == expected
    assert (root / DATA_FILE).read_text(encoding="utf-8") == LABEL * 2
    stages = yaml.safe_load((root / out / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    assert list(stages) == ["prepare", "train"] and stages["prepare"]["params"] == [{f"{out}/params.yaml": ["label", "α"]}]
    assert yaml.safe_load((root / out / "params.yaml").read_text(encoding="utf-8"))["label"] == LABEL

    # an unmarked notebook is one stage named after the file: the name keeps only safe letters
    plain = write_notebook(root / f"x {SHELL}{CODE_LINE}.ipynb", ["import mlnb", "mlnb.log_metric('m', 1)"])
    assert run_cli("export", str(plain), "--out", "plain", cwd=root).returncode == 0
    lines = (root / "plain" / "dvc.yaml").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# Generated") and lines[1].startswith("# Run with") and lines[2] == "stages:"
    (name,) = yaml.safe_load("\n".join(lines))["stages"]
    assert name == "x___touch_MARK_s1___touch_MARK_s2___touch_MARK_s3____q___dq____i" and len(name) == 64

    # 2. the notebook in a folder with a newline and shell syntax (the stages' wdir), a data file
    #    with a newline (an output folder with one is refused: DVC splits commands into lines)
    sub = root / f"work{CODE_LINE} $(touch MARK_w)"
    nb2 = write_notebook(sub / "analysis.ipynb", _cells("data\nfile $(touch MARK_f3).txt"))
    assert _export_and_repro(root, nb2, "out $(touch MARK_o3);`touch MARK_o4`") == expected
    assert (sub / "data\nfile $(touch MARK_f3).txt").exists()


@pytest.mark.parametrize("case", ["out folder", "notebook folder", "data file", "stage tag", "stage marker",
                                  "long out folder", "out folder with a newline"])
def test_what_dvc_cannot_hold_is_refused_in_one_line(project, case: str) -> None:
    root = project.root
    nb_folder, out, data_file, first = root, "pipe", "data.txt", "%%mlops stage prepare"
    tags: list[str] = []
    if case == "out folder":
        out = "pipe ${seed}"
    elif case == "notebook folder":
        nb_folder = root / "nb ${seed}"
    elif case == "data file":
        data_file = "data ${seed}.txt"
    elif case == "long out folder":  # DVC folds a long params.yaml key with spaces in dvc.lock
        out = f"pipe {SHELL} and more words"
    elif case == "out folder with a newline":
        out = "pipe\u2028x"
    elif case == "stage tag":
        tags, first = ["stage:$(touch MARK_t)"], ""
    else:
        first = "%%mlops stage 'a;touch MARK_m'"
    cells = _cells(data_file)
    cells[2] = (cells[2].replace("%%mlops stage prepare", first).lstrip("\n"), tags)
    nb = write_notebook(nb_folder / "analysis.ipynb", cells)
    before = snapshot(root)

    proc = run_cli("export", str(nb), "--out", out, cwd=root)

    line = assert_one_line_error(proc, 2)
    expected = "${" if "${" in out + str(nb_folder) + data_file else "lock file" if "more" in out else "line break" if "x" in out else "stage"
    assert expected in line, line
    assert snapshot(root) == before
    _no_marks(root.parent)
