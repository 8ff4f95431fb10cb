"""An MlnbError raised by API code in a cell is one line in the notebook, like the magic's errors."""

from __future__ import annotations

import re

import nbformat
from nbclient import NotebookClient


def _run(cells: list[str], cwd) -> list:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb.cells


def test_api_errors_in_a_real_kernel_are_one_line_and_fail_the_cell(tmp_path):
    cells = _run([
        "%load_ext mlnb\nimport mlnb",
        "x = 1\nmlnb.log_metric('accuracy', 0.9)",  # no active run
        "mlnb.data.list()",  # not inside a project
        "1/0",  # not mlnb's: the usual traceback
    ], tmp_path)
    (metric,), (listing,), (other,) = (c.outputs for c in cells[1:])
    assert metric.output_type == "error" and metric.ename == "UsageError"  # the cell still fails (Run All stops)
    assert metric.traceback == [
        "UsageError: mlnb.log_metric needs an active run: wrap the code in `with mlnb.start_run(NAME):` "
        "or a `%%mlops run NAME` cell (cell line 2)"
    ]
    assert listing.ename == "NotAProject" and len(listing.traceback) == 1
    assert "run `%mlops init`" in listing.traceback[0]
    assert (other.ename, other.evalue) == ("ZeroDivisionError", "division by zero")
    plain = re.sub(r"\x1b\[[0-9;]*m", "", "".join(other.traceback))  # the usual traceback, to the line
    assert len(other.traceback) > 1 and "----> 1 1/0" in plain, plain
