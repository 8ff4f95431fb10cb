"""%mlops models through a real IPython shell: the same verbs as the CLI."""

from __future__ import annotations

from tests.conftest import cell_error


def test_models_verbs_in_a_notebook(registered, ipython, capsys):
    capsys.readouterr()
    ipython.run_line_magic("mlops", "models")
    out = capsys.readouterr().out
    assert "churn@2" in out and "champion=1" in out
    ipython.run_line_magic("mlops", "models promote churn@2 --to champion --gate 'auc >= champion.auc - 0.005'")
    assert "champion -> churn@2 (was churn@1)" in capsys.readouterr().out
    ipython.run_line_magic("mlops", "models history churn")
    assert "1/1 passed" in capsys.readouterr().out
    ipython.run_line_magic("mlops", "models promote churn@1 --to champion --gate 'auc > 0.85'")
    assert "REFUSED: churn@1 not promoted to champion" in capsys.readouterr().out
    ipython.run_line_magic("mlops", "models evaluate churn@2 --data holdout@1 --target churned")
    shown = capsys.readouterr().out
    assert "churn@2 on holdout@1" in shown and "roc_auc" in shown and "<evaluation chart>" in shown
    ipython.run_line_magic("mlops", "models show churn@2")
    shown = capsys.readouterr().out
    assert "train@1" in shown and "holdout@1" in shown and "<lineage chart>" in shown
    err = cell_error(ipython, "%mlops models promote churn@1 --to champion --gate 'auc >'", capsys)
    assert err.startswith("UsageError: %mlops: invalid gate 'auc >' at column 6")
