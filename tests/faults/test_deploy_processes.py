"""Two processes changing one model's routing at once, both planned against the same routing in
force: exactly one lands, the other changes nothing and says so in one line; the log holds one
event per change. (When one finishes before the other reads, both land in turn: also correct,
but not a race; the test counts the trials that really raced and needs most of them to.)
Trials: ``trials(3)`` (``MLNB_FAULT_TRIALS=N`` for more; tests/faults/_harness.py).
"""

from __future__ import annotations

import os
import subprocess
import sys

import mlnb
from tests.conftest import ROOT
from tests.faults._harness import trials
from tests.serve.conftest import register_two

TRIALS = trials(3)

_DEPLOYER = """
import sys
import mlnb
mlnb.models.routing("churn"); mlnb.models.load("churn@1"); mlnb.models.load("churn@2")  # warm
print("ready", flush=True)
sys.stdin.readline()
try:
    d = mlnb.models.deploy("churn", to=sys.argv[1])
    print("deployed", d.routing.extra["seq"], flush=True)
except mlnb.errors.Conflict as exc:
    print("conflict", exc, flush=True)
"""


def test_two_processes_deploying_at_once_exactly_one_lands(backend_project):
    register_two()
    mlnb.models.deploy("churn", to="champion")
    raced = 0
    for _trial in range(TRIALS):
        before = mlnb.models.routing("churn").routing.extra["seq"]
        children = [subprocess.Popen([sys.executable, "-c", _DEPLOYER, target], cwd=backend_project.root,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
                    for target in ("blue", "green")]
        for child in children:
            assert child.stdout.readline().strip() == "ready", child.stderr.read()
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        outs = [child.communicate(timeout=300)[0].strip() for child in children]
        assert all(c.returncode == 0 for c in children), outs
        landed = [o for o in outs if o.startswith("deployed")]
        history = mlnb.models.deploy_history("churn").to_dict()
        assert history[0]["routing"] == before + len(landed)  # one event per change that landed, no more
        if len(landed) == 1:
            raced += 1
            loser = next(o for o in outs if o.startswith("conflict"))
            assert "the routing of churn changed since you looked: nothing changed" in loser and "\n" not in loser
        else:
            assert sorted(int(o.split()[1]) for o in landed) == [before + 1, before + 2]
    print(f"{raced} of {TRIALS} trials raced")
    assert raced * 2 > TRIALS, f"only {raced} of {TRIALS} trials raced: the test proved little"
