"""`mlnb deploy ...` in a real process and `%mlops deploy ...` in a real IPython shell."""

from __future__ import annotations

import json

import pytest

from tests.conftest import cell_error, run_cli
from tests.faults._harness import assert_one_line_error, snapshot


def test_the_issues_examples_in_a_real_process(two_versions, project):
    root = project.root

    def deploy(*args: str) -> dict:
        return json.loads(run_cli("deploy", "churn", *args, "--json", cwd=root, check=True).stdout)

    assert [(a["name"], a["weight"]) for a in deploy("--to", "champion")["arms"]] == [("champion", 100)]
    canary = deploy("--canary", "challenger", "--traffic", "10")
    assert [(a["name"], a["weight"]) for a in canary["arms"]] == [("champion", 90), ("challenger", 10)]
    assert canary["resolved"] == {"champion": 1, "challenger": 2} and canary["previous"]["strategy"] == "single"
    ab = deploy("--ab", "champion,challenger", "--key", "customer_id")
    assert (ab["strategy"], ab["key"], [a["weight"] for a in ab["arms"]]) == ("ab", "customer_id", [50, 50])
    twice = run_cli("deploy", "churn", "--shadow", "challenger", cwd=root)  # it is live in the A/B already
    assert twice.returncode == 2 and "arm 'challenger' appears twice" in twice.stderr
    shadow = deploy("--to", "champion", "--shadow", "challenger")
    assert [(a["name"], a["shadow"]) for a in shadow["arms"]] == [("champion", False), ("challenger", True)]
    green = deploy("--to", "green")
    assert (green["strategy"], green["resolved"]) == ("single", {"green": 2})
    back = run_cli("deploy", "churn", "--rollback", "--reason", "latency", cwd=root, check=True)
    assert "churn: " in back.stdout and "churn@" in back.stdout
    shown = json.loads(run_cli("deploy", "churn", "--json", cwd=root, check=True).stdout)
    assert shown["extra"] == {"seq": 6, "action": "rollback"} and shown["reason"] == "latency"

    history = json.loads(run_cli("deploy", "history", "churn", "--json", cwd=root, check=True).stdout)
    assert [h["action"] for h in history] == ["rollback", "deploy", "deploy", "deploy", "deploy", "deploy"]
    text = run_cli("deploy", "history", "churn", cwd=root, check=True).stdout
    assert "routings of churn" in text and "champion=1 90%, challenger=2 10%" in text


def test_shadow_alone_keeps_the_live_arms(two_versions, project):
    root = project.root
    run_cli("deploy", "churn", "--to", "champion", cwd=root, check=True)
    out = json.loads(run_cli("deploy", "churn", "--shadow", "challenger", "--json", cwd=root, check=True).stdout)
    assert out["strategy"] == "shadow"
    assert [(a["name"], a["weight"], a["shadow"]) for a in out["arms"]] == [("champion", 100, False),
                                                                            ("challenger", 0, True)]


BAD = [
    (["deploy", "churn", "--to", "nobody"], 3, "deploy refused: arm 'nobody'"),
    (["deploy", "churn", "--canary", "challenger", "--traffic", "ten"], 2, "is not a number"),
    (["deploy", "churn", "--traffic", "10"], 2, "--traffic is the canary's share"),
    (["deploy", "churn", "--rollback"], 3, "no earlier routing"),
    (["deploy", "churn", "--to", "champion", "--shadow", "champion"], 2, "arm 'champion' appears twice"),
    (["deploy", "nomodel", "--to", "champion"], 3, "no model named 'nomodel'"),
    (["deploy", "churn", "extra", "--to", "x"], 2, "unexpected argument 'extra'"),
    (["deploy", "history", "nomodel"], 3, "no model named 'nomodel'"),
    (["deploy", "bad name!", "--to", "x"], 2, "invalid model name"),
    (["serve", "churn@2"], 2, "serve a model, not a version"),
    (["serve", "nomodel"], 3, "no model named 'nomodel'"),
    (["serve", "churn", "--port", "70000"], 2, "use a port number"),
]


def test_serving_a_model_never_deployed_says_how(two_versions, project):
    proc = run_cli("serve", "churn", "--port", "0", cwd=project.root)
    assert_one_line_error(proc, 3)
    assert "churn is not deployed: `mlnb deploy churn --to champion` routes it first" in proc.stderr


@pytest.mark.parametrize(("argv", "code", "words"), BAD)
def test_bad_deploys_are_one_line_and_change_nothing(two_versions, project, argv, code, words):
    import mlnb

    mlnb.models.deploy("churn", to="champion")
    before = snapshot(project.root)
    proc = run_cli(*argv, cwd=project.root)
    assert_one_line_error(proc, code)
    assert words in proc.stderr
    assert snapshot(project.root) == before


def test_deploy_in_a_notebook(two_versions, ipython, capsys):
    capsys.readouterr()
    ipython.run_line_magic("mlops", "deploy churn --canary challenger --traffic 20 --to champion")
    out = capsys.readouterr().out
    assert "churn: canary (routing #1)" in out and "churn@2" in out
    ipython.run_line_magic("mlops", "deploy history churn")
    assert "champion=1 80%, challenger=2 20%" in capsys.readouterr().out
    err = cell_error(ipython, "%mlops deploy churn --to nobody", capsys)
    assert "deploy refused: arm 'nobody'" in err


def test_a_server_started_from_a_notebook_runs_beside_the_kernel(two_versions, ipython, capsys):
    import httpx

    import mlnb
    from mlnb.serve import _process

    mlnb.models.deploy("churn", to="champion")
    capsys.readouterr()
    ipython.run_line_magic("mlops", "serve churn --port 0 --no-log")
    out = capsys.readouterr().out
    server = _process.STARTED[-1]
    try:
        assert f"mlnb serve churn: serving on {server.url} (pid {server.proc.pid})" in out
        assert server.url.startswith("http://127.0.0.1:")
        r = httpx.post(f"{server.url}/v1/models/churn:predict", json={"instances": [[1.0, 0.0]]})
        assert (r.status_code, r.json()["arm"]) == (200, "champion")
    finally:
        server.stop()
    assert not server.running and "stopped" in str(server)
    with pytest.raises(mlnb.errors.MlnbError, match="mlnb serve other did not start: mlnb: error: no model named"):
        mlnb.serve.start("other")
