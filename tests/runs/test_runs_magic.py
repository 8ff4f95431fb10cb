"""``%%mlops run`` and ``%mlops runs`` in a real IPython shell, and the ``mlnb runs`` command."""

from __future__ import annotations

import json

import pytest
import mlnb
from tests.conftest import cell_error, run_cli


@pytest.fixture
def shell(project, ipython):
    ipython.run_cell("import mlnb", store_history=False)
    return ipython


def test_cell_magic_records_the_cell_as_a_run(shell, capsys):
    cell = "x = 41\nmlnb.log_metric('accuracy', 0.9)\nmlnb.log_metric('loss', 0.5, step=3)\nx + 1\n"
    result = shell.run_cell("%%mlops run baseline --param lr=0.1 --param opt=adam --tag churn\n" + cell)
    assert result.success, result.error_in_exec
    assert "42" in capsys.readouterr().out  # the last expression is shown, as in a plain cell
    assert shell.user_ns["x"] == 41
    (row,) = mlnb.runs.list().rows
    rec = mlnb.runs.get(row["id"])
    assert rec.name == "baseline" and rec.status == "finished" and rec.code == cell
    assert rec.params == {"lr": 0.1, "opt": "adam"} and rec.tags == ["churn"]
    assert rec.metrics == {"accuracy": 0.9, "loss": 0.5} and rec.history["loss"]["step"] == [3]
    assert mlnb.active_run() is None


def test_a_failing_cell_fails_its_run_and_the_cell(shell, capsys):
    result = shell.run_cell("%%mlops run broken\nmlnb.log_metric('before', 1)\n1 / 0\n")
    assert type(result.error_in_exec) is ZeroDivisionError and str(result.error_in_exec) == "division by zero"
    assert "ZeroDivisionError" in capsys.readouterr().out  # IPython shows the traceback as usual
    (row,) = mlnb.runs.list().rows
    rec = mlnb.runs.get(row["id"])
    assert rec.status == "failed" and rec.error == "ZeroDivisionError: division by zero"
    assert rec.metrics == {"before": 1.0}
    err = cell_error(shell, "%%mlops run bad-metric\nmlnb.log_metric('acc', 'high')\n", capsys)
    assert err.startswith("UsageError: %mlops: metric 'acc' must be a number")
    err = cell_error(shell, "%%mlops run twice --param lr=0.1 --param lr=0.2\nx = 1\n", capsys)
    assert err == "UsageError: %mlops: --param lr is given twice (0.1 and 0.2): keep one"
    assert mlnb.runs.list("name = 'twice'").rows == []  # no run was started
    assert mlnb.runs.list("name = 'bad-metric'")[0]["status"] == "failed"


def test_start_run_in_a_cell_records_that_cell(shell):
    shell.run_cell("with mlnb.start_run('inline') as r:\n    r.log_metric('m', 1)\n", store_history=True)
    rec = mlnb.runs.get(shell.user_ns["r"].id)
    assert rec.code.startswith("with mlnb.start_run('inline')")


def test_line_magic_lists_shows_and_reports_errors(shell, capsys):
    shell.run_cell("%%mlops run one --param lr=0.5\nmlnb.log_metric('acc', 0.7)\n")
    shell.run_cell("%%mlops run two --param lr=0.1\nmlnb.log_metric('acc', 0.8)\n")
    capsys.readouterr()
    shell.run_cell("%mlops runs --filter \"metrics.acc > 0.75\" --json")
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["two"]
    shell.run_cell("%mlops runs list --sort metrics.acc --json")
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["one", "two"]
    shell.run_cell(f"%mlops runs show {rows[0]['id'][:6]}")
    out = capsys.readouterr().out
    assert "two" in out and "lr" in out
    shell.run_cell("%mlops runs --filter 'metrics.acc >'")
    err = capsys.readouterr().err
    assert "at column 14" in err and err.count("\n") == 1
    shell.run_cell("%mlops runs show nosuchrun")
    assert "no run 'nosuchrun'" in capsys.readouterr().err
    shell.run_cell("%mlops run no-cell")
    assert "records a notebook cell" in capsys.readouterr().err


def test_cli_verbs(project, tmp_path):
    with mlnb.start_run("cli-a", params={"lr": 0.1}) as a:
        a.log_metric("acc", 0.9)
    with mlnb.start_run("cli-b", params={"lr": 0.2}) as b:
        b.log_metric("acc", 0.6)
    listed = run_cli("runs", "list", "--filter", "metrics.acc > 0.8", "--json", check=True)
    assert [r["id"] for r in json.loads(listed.stdout)] == [a.id]
    plain = run_cli("runs", check=True).stdout
    assert "cli-a" in plain and "cli-b" in plain
    shown = json.loads(run_cli("runs", "show", b.id, "--json", check=True).stdout)
    assert shown["params"] == {"lr": 0.2} and shown["status"] == "finished"
    compared = run_cli("runs", "compare", a.id, b.id, check=True).stdout
    assert "params.lr" in compared and "metrics.acc" in compared
    run_cli("runs", "export", str(tmp_path / "r.jsonl"), check=True)
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 2
    assert "skipped" in run_cli("runs", "import", str(tmp_path / "r.jsonl"), check=True).stdout
    bad = run_cli("runs", "--filter", "params.lr ~")
    assert bad.returncode == 2 and bad.stderr.startswith("mlnb: error: invalid filter") and bad.stderr.count("\n") == 1
    missing = run_cli("runs", "show", "zzzzzz")
    assert missing.returncode == 3 and "no run 'zzzzzz'" in missing.stderr
