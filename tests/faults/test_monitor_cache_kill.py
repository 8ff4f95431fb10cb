"""The monitor's kept reports under SIGKILL: a writer killed mid-write leaves each entry whole
(never torn), and the next `mlnb monitor check` gives what a computation without any cache
gives; so does a check killed at any point while it computes and keeps its windows."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mlnb
from tests.faults._harness import assert_most_landed, delays, interrupt, spawn, time_child, trials
from tests.monitor import _month

RULES = ["accuracy < 0.2", "drift.share > 0.99", "estimated.accuracy < 0.2", "prediction.drift > 0.99"]

#: 8 MiB of trailing blanks: JSON ignores them, and so does pickle after its STOP opcode
PAD = 8 << 20

#: every kept entry rewritten again and again, padded so that writing is most of the time: a kill
#: leaves the old bytes or the new ones, never a part
REWRITER = f"""
import sys
from pathlib import Path
from mlnb.monitor._cache import write_whole
entries = [(p, p.read_bytes().rstrip(b" ") + b" " * {PAD}) for p in sorted(Path(sys.argv[1]).rglob("*"))
           if p.suffix in (".json", ".pickle")]
print("start", flush=True)
for _ in range(int(sys.argv[2])):
    for p, data in entries:
        print("writing", flush=True)
        write_whole(p, data)
        print("written", flush=True)
print("done", flush=True)
"""

CHECKER = """
import mlnb
print("start", flush=True)
mlnb.monitor.check("churn", send=False)
print("done", flush=True)
"""


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory):
    with _month.module_project(tmp_path_factory, "mcachekill") as proj:
        model, X, _ = _month.fit_model()
        mlnb.models.register("churn", model, data=X)
        logged = _month.log_month(model, days=8, per_day=150, shift_day=4, outcomes=False)
        early = logged[logged["day"] < 7]
        mlnb.monitor.log_outcomes("churn", early["id"], early["outcome"])
        for rule in RULES:
            mlnb.monitor.add_rule(rule, model="churn")
        yield proj


def _expected(monkeypatch) -> list:
    """The rules' values computed with no cache at all."""
    from mlnb.monitor._check import evaluate
    from mlnb.monitor._latest import LatestWindow
    from mlnb.monitor._report import latest_report
    from mlnb.monitor._rules import load_rules

    rules = load_rules(mlnb._project.current_project().root, "churn")
    with monkeypatch.context() as m:
        m.setenv("MLNB_MONITOR_CACHE", "0")
        latest = LatestWindow.from_rows(latest_report("churn", "1D", {r.condition.metric for r in rules}).rows)
    return [(ev.rule.name, ev.value) for ev in evaluate(rules, {"1D": latest})]


def _check_cli(root: Path) -> list:
    proc = subprocess.run([sys.executable, "-m", "mlnb", "monitor", "check", "churn", "--no-send", "--json"],
                          cwd=root, capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    return [(r["rule"], r["value"]) for r in json.loads(proc.stdout)["rules"]]


def _rewriter(cache: Path, rounds: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", REWRITER, str(cache), str(rounds)], cwd=cache.parents[1],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _entries_sound(cache: Path) -> None:
    for p in cache.rglob("*.json"):
        json.loads(p.read_text())  # whole: parses
    assert not list(cache.rglob("*.pickle"))  # nothing kept that could run code when read


def test_a_writer_killed_mid_write_leaves_entries_whole(logged, monkeypatch):
    root = logged.root
    cache = root / ".mlnb" / "monitor-cache"
    expected = _expected(monkeypatch)
    assert _check_cli(root) == expected  # computed and kept
    kept = {p: p.read_bytes() for p in cache.rglob("*") if p.suffix in (".json", ".pickle")}
    assert len(kept) >= 4  # the latest window, the check's windows, the baseline fit, monitoring.yaml's parse
    child = _rewriter(cache, 3)  # 3 rounds uninterrupted (the killed ones never end): the span to aim in
    assert child.stdout.readline().strip() == "start", child.stderr.read()
    began = time.monotonic()
    out, err = child.communicate(timeout=120)
    span = time.monotonic() - began
    assert out.split()[-1] == "done", err
    count, landed = trials(5), 0
    for delay in delays(count, span, "monitor-cache-write"):
        was_killed, out = interrupt(_rewriter(cache, 10**6), signal.SIGKILL, delay)
        landed += was_killed and out.split()[-1:] == ["writing"]  # killed inside write_whole
        leftovers = list(cache.rglob(".*.tmp"))
        for p, data in kept.items():
            assert p.read_bytes() in (data, data + b" " * PAD), f"{p.name} torn by the kill"
        _entries_sound(cache)
        assert _check_cli(root) == expected
        for p in leftovers:
            p.unlink()
    assert_most_landed(landed, count, "writing a kept entry")


def test_a_check_killed_while_it_keeps_its_windows_leaves_the_next_check_right(logged, monkeypatch):
    root = logged.root
    cache = root / ".mlnb" / "monitor-cache"
    expected = _expected(monkeypatch)
    shutil.rmtree(cache, ignore_errors=True)
    span = time_child(spawn(CHECKER, root))
    count, landed = trials(3), 0
    for delay in delays(count, 0.6 * span, "monitor-check-kill"):  # a later run may be quicker than the timed one
        shutil.rmtree(cache, ignore_errors=True)
        was_killed, _ = interrupt(spawn(CHECKER, root), signal.SIGKILL, delay)
        landed += was_killed
        _entries_sound(cache) if cache.exists() else None
        assert _check_cli(root) == expected
    assert_most_landed(landed, count, "a check computing its windows")
