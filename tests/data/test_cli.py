"""The `mlnb` command in a real child process."""

from __future__ import annotations

import json

import pandas as pd

from tests.conftest import run_cli


def test_cli_round_trip(tmp_path):
    root = tmp_path / "p"
    out = run_cli("init", str(root), "--remote", str(tmp_path / "remote"), check=True)
    assert "mlnb project ready" in out.stdout
    pd.DataFrame({"x": [1, 2, 3]}).to_csv(root / "t.csv", index=False)
    added = run_cli("data", "add", "t.csv", "--name", "t", "-m", "first", cwd=root, check=True)
    assert "t@1" in added.stdout
    (root / "t.csv").write_text("x\n1\n2\n3\n4\n")
    run_cli("data", "add", "t.csv", "--name", "t", "-m", "more rows", cwd=root, check=True)

    listing = json.loads(run_cli("data", "list", "--json", cwd=root, check=True).stdout)
    assert [(d["name"], d["latest"], d["rows"], d["versions"]) for d in listing] == [("t", 2, 4, 2)]
    log = json.loads(run_cli("data", "log", "t", "--json", cwd=root, check=True).stdout)
    assert [(v["version"], v["message"]) for v in log] == [(2, "more rows"), (1, "first")]
    diff = json.loads(run_cli("data", "diff", "t@1", "t@2", "--json", cwd=root, check=True).stdout)
    assert {"change": "rows", "column": "", "before": 3, "after": 4} in diff

    run_cli("data", "push", cwd=root, check=True)
    run_cli("data", "checkout", "t@1", cwd=root, check=True)
    assert (root / "t.csv").read_text() == "x\n1\n2\n3\n"
    status = json.loads(run_cli("data", "status", "--json", cwd=root, check=True).stdout)
    assert status == [{"name": "t", "path": "t.csv", "checked_out": "t@1", "latest": "t@2", "state": "older version"}]


def test_cli_errors_are_one_line_with_exit_codes(tmp_path):
    outside = run_cli("data", "list", cwd=tmp_path)
    assert outside.returncode == 3
    assert outside.stderr.strip().count("\n") == 0
    assert "run `%mlops init` (or `mlnb init`)" in outside.stderr

    root = tmp_path / "p"
    run_cli("init", str(root), check=True)
    bad = run_cli("data", "log", "missing", cwd=root)
    assert bad.returncode == 3 and bad.stderr.strip() == (
        "mlnb: error: no dataset named 'missing': `mlnb data list` shows the datasets there are"
    )
    usage = run_cli("data", "add", cwd=root)
    assert usage.returncode == 2 and "the following arguments are required: path" in usage.stderr
    assert "Traceback" not in usage.stderr + bad.stderr + outside.stderr
    debug = run_cli("--debug", "data", "log", "missing", cwd=root)
    assert "Traceback" in debug.stderr


def test_help_lists_the_verbs():
    out = run_cli("data", "--help", check=True).stdout
    for verb in ("add", "list", "log", "diff", "checkout", "push", "pull"):
        assert f"    {verb}" in out
