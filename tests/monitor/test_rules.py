"""Alert rules in monitoring.yaml: the CLI adds, lists and removes them keeping a reviewer's comments
and order; a rule that does not parse is one line naming what is wrong and changes nothing."""

from __future__ import annotations

import pytest

import mlnb
from mlnb.errors import MlnbError, NotFound, UsageError
from mlnb.monitor._rules import FILE, Condition, load_rules, parse_condition
from tests.conftest import run_cli


@pytest.mark.parametrize("text, expected", [
    ("accuracy < 0.85", Condition("accuracy", "<", 0.85)),
    ("drift.share > 0.3", Condition("drift.share", ">", 0.3)),
    ("estimated.roc_auc<0.7", Condition("estimated.roc_auc", "<", 0.7)),
    ("latency.p99 >= 200", Condition("latency.p99", ">=", 200.0)),
    ("missing.age > 0.1", Condition("missing.age", ">", 0.1)),
    ("accuracy outside band", Condition("accuracy", "band")),
    ("  rmse   OUTSIDE   band ", Condition("rmse", "band")),
])
def test_rule_forms_parse(text, expected):
    assert parse_condition(text) == expected


@pytest.mark.parametrize("text, says", [
    ("accuracy", "expected a comparison"),
    ("accuracy = 0.85", "'=' where a comparison"),
    ("accuracy < high", "'high' is not a finite number"),
    ("accuracy < nan", "not a finite number"),
    ("accuracy < 0.8 0.9", "a single number after"),
    ("acuracy < 0.85", "unknown metric 'acuracy'"),
    ("estimated.mae_x < 1", "estimated.mae_x is not estimated"),
    ("drift. > 0.3", "unknown metric"),
    ("", "empty rule"),
    ("accuracy inside band", "'inside' where a comparison"),
])
def test_bad_rules_say_what_is_wrong_and_the_forms(text, says):
    with pytest.raises(UsageError) as info:
        parse_condition(text)
    message = str(info.value)
    assert says in message and "\n" not in message
    assert 'METRIC outside band' in message


def test_cli_edits_monitoring_yaml_keeping_comments_and_order(project):
    path = project.root / FILE
    path.write_text("# reviewed by the ML team\nrules:\n  # the churn SLO\n  - name: slo\n    model: churn\n"
                    "    when: accuracy < 0.9\n    window: 1D\n    severity: critical\n    cooldown: 1h\n"
                    "channels: []  # none yet\n")
    for args in (["accuracy < 0.85", "--model", "churn", "--window", "1D"],
                 ["drift.share > 0.3", "--model", "churn", "--severity", "critical", "--cooldown", "1h"],
                 ["latency.p99 > 200", "--model", "churn", "--window", "6h", "--name", "p99"],
                 ["accuracy outside band", "--model", "churn", "--window", "10000"]):
        proc = run_cli("monitor", "rule", "add", *args)
        assert proc.returncode == 0, proc.stderr
    text = path.read_text()
    assert text.startswith("# reviewed by the ML team\n") and "# the churn SLO" in text and "# none yet" in text
    rules = load_rules(project.root)
    assert [r.name for r in rules] == ["slo", "churn.accuracy", "churn.drift.share", "p99", "churn.accuracy-2"]
    assert (rules[2].severity, rules[2].cooldown_seconds, rules[3].window, rules[4].when) == (
        "critical", 3600, "6h", "accuracy outside band")

    listed = run_cli("monitor", "rule", "list", "--json")
    assert [r["name"] for r in __import__("json").loads(listed.stdout)] == [r.name for r in rules]
    assert run_cli("monitor", "rule", "remove", "p99").returncode == 0
    assert [r.name for r in load_rules(project.root)] == ["slo", "churn.accuracy", "churn.drift.share",
                                                           "churn.accuracy-2"]
    assert "# the churn SLO" in path.read_text()


@pytest.mark.parametrize("args, code, says", [
    (["accuracy << 0.85", "--model", "churn"], 2, "does not parse"),
    (["accuracy < 0.85", "--model", "churn", "--window", "fortnight"], 2, "--window 'fortnight' does not parse"),
    (["accuracy < 0.85", "--model", "churn", "--severity", "page"], 2, "use warning or critical"),
    (["accuracy < 0.85", "--model", "churn", "--cooldown", "soon"], 2, "write a duration"),
    (["accuracy < 0.85", "--model", "../x"], 2, "invalid model name"),
    (["accuracy < 0.9", "--model", "churn"], 2, "already says accuracy < 0.9"),
    (["accuracy < 0.5", "--model", "churn", "--name", "slo"], 2, "a rule named slo exists"),
])
def test_refused_rules_change_nothing(project, args, code, says):
    mlnb.monitor.add_rule("accuracy < 0.9", model="churn", name="slo")
    before = (project.root / FILE).read_bytes()
    proc = run_cli("monitor", "rule", "add", *args)
    assert proc.returncode == code and says in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("mlnb: error: ")
    assert (project.root / FILE).read_bytes() == before


def test_remove_unknown_and_a_broken_file(project):
    with pytest.raises(NotFound, match="no rule named 'nope'"):
        mlnb.monitor.remove_rule("nope")
    assert not (project.root / FILE).exists()
    (project.root / FILE).write_text("rules: [ {name: x\n")
    with pytest.raises(MlnbError, match="is not valid YAML"):
        mlnb.monitor.list_rules()
    (project.root / FILE).write_text("rules:\n  - name: x\n    model: churn\n    when: accuracy ~ 1\n")
    proc = run_cli("monitor", "rule", "list")
    assert proc.returncode == 3 and "rule 1 is not valid" in proc.stderr and proc.stderr.count("\n") == 1


def test_magic_adds_a_rule(project, ipython, capsys):
    from tests.conftest import cell_error

    ipython.run_cell('%mlops monitor rule add "drift.share > 0.3" --model churn', store_history=False)
    assert [r.when for r in load_rules(project.root)] == ["drift.share > 0.3"]
    assert "rule churn.drift.share: drift.share > 0.3 for churn" in capsys.readouterr().out
    line = cell_error(ipython, '%mlops monitor rule add "drift.share >> 0.3" --model churn', capsys)
    assert "does not parse" in line


def test_magic_alerts_show_one_line_each(project, ipython, capsys):
    from mlnb.monitor._check import check
    from tests.monitor.test_alerts import T0, Reports, frame

    mlnb.monitor.add_rule("accuracy < 0.85", model="churn", severity="critical")
    check("churn", now=T0, reporter=Reports(day=frame({"accuracy": 0.8})))
    capsys.readouterr()
    assert ipython.run_cell("%mlops alerts --all", store_history=False).success
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "1 alert(s) firing" and len(lines) == 4  # title, header, rule, one alert
    assert lines[3].split()[:5] == [str(check("churn", now=T0, reporter=Reports(day=frame({"accuracy": 0.8}))).rows[0]["alert"]),
                                    "firing", "critical", "churn", "churn.accuracy"]
    assert "0.8" in lines[3] and "0.85" in lines[3]
