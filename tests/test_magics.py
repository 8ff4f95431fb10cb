"""%mlops through a real IPython shell."""

from __future__ import annotations

import pandas as pd
import pytest
from IPython.core.error import UsageError

from tests.conftest import cell_error


@pytest.fixture
def shell(ipython):
    return ipython


def test_init_save_and_list_in_a_notebook(shell, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    shell.run_line_magic("mlops", f"init --remote {tmp_path / 'remote'}")
    shell.user_ns["df"] = pd.DataFrame({"a": [1, 2]})
    shell.run_cell("import mlnb; v = mlnb.data.save(df, 'train', message='from a cell')")
    assert shell.user_ns["v"].ref == "train@1"
    capsys.readouterr()
    shell.run_line_magic("mlops", "data list")
    out = capsys.readouterr().out
    assert "train" in out and "data/train.parquet" in out


def test_errors_are_one_line_not_a_traceback(shell, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    err = cell_error(shell, "%mlops data list", capsys)
    assert err == f"UsageError: %mlops: {tmp_path.resolve()} is not inside an mlnb project: run `%mlops init` (or `mlnb init`) first"

    err = cell_error(shell, "%mlops data frobnicate", capsys)
    assert err.startswith("UsageError: %mlops data: argument VERB: invalid choice: 'frobnicate'")

    err = cell_error(shell, "%mlops data add 'unclosed", capsys)
    assert err == "UsageError: %mlops: cannot parse the line: No closing quotation"

    # the failed cell stops "Run All": the error is the cell's, not just printed text
    error = shell.run_cell("%mlops data log x").error_in_exec
    assert type(error) is UsageError and str(error) == (
        f"%mlops: {tmp_path.resolve()} is not inside an mlnb project: run `%mlops init` (or `mlnb init`) first")


def test_help_prints_and_returns(shell, capsys):
    shell.run_line_magic("mlops", "--help")
    assert "usage: %mlops" in capsys.readouterr().out
    shell.run_line_magic("mlops", "data --help")
    assert "usage: %mlops data" in capsys.readouterr().out


def test_html_display_escapes_user_text(shell, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shell.run_line_magic("mlops", "init")
    (tmp_path / "x.csv").write_text("a\n1\n")
    import mlnb

    v = mlnb.data.add("x.csv", name="x", message="<img src=x onerror=alert(1)>")
    html = mlnb.data.log("x")._repr_html_()
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;img" in v._repr_html_()
