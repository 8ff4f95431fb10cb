"""`mlnb models ...`: JSON output, exit codes, and bad input refused in one line with nothing changed."""

from __future__ import annotations

import json

import pytest

from mlnb.cli import main
from tests.conftest import run_cli
from tests.faults._harness import assert_one_line_error, snapshot


def test_verbs_in_a_real_process(registered, project):
    root = project.root
    listing = json.loads(run_cli("models", "list", "--json", cwd=root, check=True).stdout)
    assert [(m["name"], m["latest"], m["aliases"]) for m in listing] == [("churn", "churn@2", ["champion=1"])]
    log = json.loads(run_cli("models", "log", "churn", "--json", cwd=root, check=True).stdout)
    assert [(v["version"], v["aliases"], v["data"]) for v in log] == [(2, [], ["train@1"]), (1, ["champion"], ["train@1"])]

    refused = run_cli("models", "promote", "churn@1", "--to", "staging", "--gate", "auc > 0.85", "--json", cwd=root)
    assert refused.returncode == 1, refused.stderr
    assert json.loads(refused.stdout)["moved"] is False

    moved = run_cli("models", "promote", "churn@2", "--to", "champion", "--gate", "auc >= champion.auc - 0.005",
                    "--gate", "not worse than champion on holdout@1", "--gate", "drift.share < 0.5",
                    "--target", "churned", cwd=root)
    assert moved.returncode == 0, moved.stderr
    assert "champion -> churn@2 (was churn@1)" in moved.stdout

    evaluated = json.loads(run_cli("models", "evaluate", "churn@2", "--data", "holdout@1", "--target", "churned",
                                   "--json", cwd=root, check=True).stdout)
    assert evaluated["data"] == "holdout@1" and evaluated["accuracy"] > 0.7
    shown = json.loads(run_cli("models", "show", "churn@champion", "--json", cwd=root, check=True).stdout)
    assert shown["version"] == 2 and shown["evaluations"][0]["data"] == "holdout@1"
    where = json.loads(run_cli("models", "path", "churn@champion", "--json", cwd=root, check=True).stdout)
    assert where["ref"] == "churn@2" and where["format"] == "skops"
    import hashlib
    from pathlib import Path

    assert hashlib.md5(Path(where["path"]).read_bytes()).hexdigest() == shown["md5"]  # the version's own bytes

    run_cli("models", "alias", "churn@1", "staging", cwd=root, check=True)
    back = run_cli("models", "rollback", "churn", "--alias", "champion", "--reason", "latency", cwd=root, check=True)
    assert "champion -> churn@1 (was churn@2)" in back.stdout
    history = json.loads(run_cli("models", "history", "churn", "--json", cwd=root, check=True).stdout)
    assert [(e["alias"], e["action"], e["to"]) for e in history] == [
        ("champion", "rollback", "churn@1"), ("staging", "set", "churn@1"), ("champion", "promote", "churn@2"),
        ("champion", "promote", "churn@1")]
    assert history[0]["reason"] == "latency" and len(history[2]["gates"]) == 3
    removed = run_cli("models", "alias", "churn", "staging", "--remove", cwd=root, check=True)
    assert "staging" in removed.stdout


BAD_INPUTS = [
    # (argv, exit code, words the one line must hold)
    (["models", "path", "churn@9"], 3, "no model version 'churn@9'"),
    (["models", "log", "nope"], 3, "no model named 'nope'"),
    (["models", "show", "churn@9"], 3, "no model version 'churn@9'"),
    (["models", "show", "churn@prod"], 3, "model churn has no alias 'prod'"),
    (["models", "promote", "churn@2", "--to", "champion", "--gate", "auc >= champion.auc -"], 2,
     "invalid gate 'auc >= champion.auc -' at column 22: expected a number"),
    (["models", "promote", "churn@2", "--to", "champion", "--gate", "auc >> 1"], 2, "at column 6"),
    (["models", "promote", "churn@2", "--to", "champion", "--gate", "f1 > 0.5"], 2,
     "churn@2 has no metric 'f1' (it has: auc)"),
    (["models", "promote", "churn@2", "--to", "champion", "--gate", "auc > champion.recall"], 2,
     "churn@1 has no metric 'recall'"),
    (["models", "promote", "churn@2", "--to", "champion", "--gate", "accuracy > 0.5 on holdout@1"], 2,
     "and churn@2 has none: run `mlnb models evaluate churn@2 --data holdout@1` first"),
    (["models", "promote", "churn@2", "--to", "champion", "--gate", "accuracy > 0.5 on holdout@9"], 3,
     "holdout@9"),
    (["models", "promote", "churn@1", "--to", "champion"], 2, "churn@1 already holds champion: nothing to move"),
    (["models", "promote", "churn@2", "--to", "latest"], 2, "invalid alias 'latest'"),
    (["models", "promote", "churn@2", "--to", "champion", "--gate", "schema"], 2, "needs holdout data"),
    (["models", "promote", "churn@2", "--to", "champion", "--force"], 2, "a forced promotion needs a reason"),
    (["models", "rollback", "churn", "--alias", "champion"], 3, "champion of churn has no earlier holder"),
    (["models", "rollback", "churn", "--alias", "staging"], 3, "staging of churn has no earlier holder"),
    (["models", "evaluate", "churn@2", "--data", "holdout@1", "--target", "nope"], 2, "the data has no column 'nope'"),
    (["models", "evaluate", "churn@2", "--data", "holdout@7"], 3, "no data version 'holdout@7'"),
    (["models", "alias", "churn", "staging", "--remove"], 3, "model churn has no alias 'staging'"),
]


@pytest.mark.parametrize(("argv", "code", "words"), BAD_INPUTS, ids=[" ".join(a[1:3]) + f"-{i}" for i, (a, _, _) in enumerate(BAD_INPUTS)])
def test_bad_input_is_one_line_and_changes_nothing(registered, project, capsys, argv, code, words):
    before = snapshot(project.root)
    capsys.readouterr()
    returned = main(argv)
    err = capsys.readouterr().err
    line = assert_one_line_error(_Proc(returned, err), code)
    assert words in line
    assert snapshot(project.root) == before


class _Proc:
    """``main()``'s outcome in the shape the harness reads."""

    def __init__(self, returncode: int, stderr: str) -> None:
        self.returncode, self.stderr = returncode, stderr


def test_a_frame_missing_signature_columns_is_one_line(registered, project):
    import mlnb
    from mlnb.errors import ValidationFailed

    before = snapshot(project.root)
    with pytest.raises(ValidationFailed) as caught:
        mlnb.models.predict("churn@champion", registered.X.drop(columns=["spend"]))
    assert "\n" not in str(caught.value) and "columns spend fail" in str(caught.value)
    assert caught.value.exit_code == 1
    assert snapshot(project.root) == before


def test_a_pickle_without_trusted_is_one_line_and_changes_nothing(registered, project):
    import mlnb
    from mlnb.errors import UsageError

    mlnb.models.register("churn", registered.strong.set_params(C=0.5).fit(registered.X, registered.y),
                         format="pickle")
    before = snapshot(project.root)
    for call in (lambda: mlnb.models.load("churn@3"), lambda: mlnb.models.predict("churn@3", registered.X)):
        with pytest.raises(UsageError) as caught:
            call()
        assert "\n" not in str(caught.value) and "is a pickle" in str(caught.value)
        assert "trusted=True" in str(caught.value)
    proc = run_cli("models", "evaluate", "churn@3", "--data", "holdout@1", "--target", "churned", cwd=project.root)
    assert "is a pickle" in assert_one_line_error(proc, 2)
    assert snapshot(project.root) == before
    trusted = run_cli("models", "evaluate", "churn@3", "--data", "holdout@1", "--target", "churned", "--trusted",
                      "--json", cwd=project.root, check=True)
    assert json.loads(trusted.stdout)["accuracy"] > 0.7
