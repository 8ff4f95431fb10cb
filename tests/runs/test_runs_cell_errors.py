"""A failing `%%mlops run` cell in a real kernel: the traceback is the user's code, not mlnb's
plumbing, and a cell that does not even parse records no run."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient

import mlnb


def test_failing_run_cells_show_the_users_code(project):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in [
        "%load_ext mlnb\nimport mlnb",
        "%%mlops run boom\nx = 1\ny = x / 0",
        "%%mlops run broken\nz = (1",
    ]])
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(project.root)}}).execute()
    (boom,), (broken,) = nb.cells[1].outputs, nb.cells[2].outputs
    text = "\n".join(boom.traceback)
    assert boom.ename == "ZeroDivisionError" and "y = x / 0" in text
    for plumbing in ("mlnb/cli.py", "mlnb/notebook/magics.py", "mlnb/runs/_cli.py", "mlnb/runs/_cell.py"):
        assert plumbing not in text, plumbing
    assert broken.ename == "SyntaxError" and "was never closed" in broken.evalue
    assert [r["name"] for r in mlnb.runs.list()] == ["boom"]  # the cell that never ran recorded nothing
    assert mlnb.runs.list()[0]["status"] == "failed"
