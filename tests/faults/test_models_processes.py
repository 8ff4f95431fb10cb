"""The model registry under concurrent and killed processes.

Two processes promote different versions to the same alias at once: exactly one moves it, the
other is refused in one line naming where the alias went, and the log holds one event per move.
A process killed with SIGKILL while registering leaves either no version or a complete one (its
bytes in the cache, loadable), never half of one; the next register works (no stale lock).
Trials: ``trials(3)`` races, ``trials(8)`` kills (``MLNB_FAULT_TRIALS=N`` runs N of each;
tests/faults/_harness.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

import mlnb
from tests.conftest import ROOT
from tests.faults._harness import assert_most_landed, delays, interrupt, time_child, trials
from tests.models.conftest import make_churn

RACES = trials(3)
KILLS = trials(8)

_PROMOTER = """
import sys
import mlnb
mlnb.models.resolve("churn@champion"); mlnb.data.resolve("holdout@1")  # warm: imports, registry, DVC
print("ready", flush=True)
sys.stdin.readline()
try:
    result = mlnb.models.promote(sys.argv[1], to="champion", target="churned",
                                 gates=["not worse than champion on holdout@1 by 0.5", "auc > 0"])
    print("moved" if result.moved else "refused", flush=True)
except mlnb.errors.Conflict as exc:
    print("conflict", exc, flush=True)
"""


def _promoter(ref: str, cwd) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", _PROMOTER, ref], cwd=cwd, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_two_processes_promoting_at_once_exactly_one_wins(backend_project):
    churn = make_churn()
    mlnb.models.register("churn", churn.weak, data=churn.X, metrics={"auc": 0.8})
    mlnb.models.register("churn", churn.strong, data=churn.X, metrics={"auc": 0.9})
    mlnb.models.register("churn", type(churn.strong)(C=0.05).fit(churn.X, churn.y), data=churn.X,
                         metrics={"auc": 0.85})
    mlnb.models.promote("churn@1", to="champion")
    for _trial in range(RACES):
        events = len(mlnb.models.history("churn"))
        children = [_promoter(ref, backend_project.root) for ref in ("churn@2", "churn@3")]
        for child in children:
            assert child.stdout.readline().strip() == "ready", child.stderr.read()
        for child in children:  # both have read nothing yet; go together
            child.stdin.write("go\n")
            child.stdin.flush()
        outs = [child.communicate(timeout=120) for child in children]
        lines = [out.strip() for out, _err in outs]
        assert all(child.returncode == 0 for child in children), [err for _out, err in outs]
        winners = [i for i, line in enumerate(lines) if line == "moved"]
        assert len(winners) == 1, lines
        winner = ("churn@2", "churn@3")[winners[0]]
        loser_line = lines[1 - winners[0]]
        assert loser_line.startswith(f"conflict champion moved to {winner} since you looked: nothing changed")
        assert "\n" not in loser_line
        assert mlnb.models.resolve("churn@champion").ref == winner
        assert len(mlnb.models.history("churn")) == events + 1  # one move, one event
        mlnb.models.set_alias("churn@1", "champion")  # the next race starts from churn@1 again


_REGISTER = """
import sys
import numpy as np, pandas as pd
import mlnb
from sklearn.ensemble import RandomForestClassifier
rng = np.random.default_rng(int(sys.argv[1]))
X = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.normal(size=3000)})
model = RandomForestClassifier(n_estimators=30, random_state=int(sys.argv[1])).fit(X, X.a > 0)
mlnb.models.resolve  # the area imported before the clock starts
print("start", flush=True)
mlnb.models.register("forest", model, data=X, metrics={"auc": 0.5})
print("done", flush=True)
"""


def _timed_register(cwd, seed: int) -> float:
    return time_child(subprocess.Popen([sys.executable, "-c", _REGISTER, str(seed)], cwd=cwd, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}))


def test_sigkill_mid_register_leaves_no_half_version(project):
    from mlnb.store import registry
    from mlnb.store._schema import model_versions as mv
    from sqlalchemy import select

    duration = _timed_register(project.root, 10_000)  # also version 1, complete
    landed = 0
    for seed, delay in enumerate(delays(KILLS, duration, 7)):
        child = subprocess.Popen([sys.executable, "-c", _REGISTER, str(seed)], cwd=project.root,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)})
        hit, _out = interrupt(child, signal.SIGKILL, delay)
        landed += hit
    # every version the registry holds is whole: numbered without gaps, bytes cached, loadable
    project.close()
    with registry(project).read() as conn:
        rows = conn.execute(select(mv.c.version, mv.c.md5, mv.c.profile_md5).order_by(mv.c.version)).fetchall()
    assert [r.version for r in rows] == list(range(1, len(rows) + 1))
    for number, _md5, profile in rows:
        assert profile is not None
        assert type(mlnb.models.load(f"forest@{number}")).__name__ == "RandomForestClassifier"
    assert_most_landed(landed, KILLS, "register")
    print(f"{landed} of {KILLS} SIGKILLs landed mid-register; {len(rows) - 1} registers completed")
    # the kernel dropped every killed holder's lock: the next register does not wait, and it
    # sweeps the scratch folders the killed processes left
    assert _timed_register(project.root, 20_000) < 60
    assert len(mlnb.models.log("forest")) == len(rows) + 1
    assert list((project.mlnb_dir / "tmp" / "models").iterdir()) == []




_REGISTER_MANY = """
import sys
import numpy as np, pandas as pd
import mlnb
from sklearn.linear_model import LogisticRegression
X = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 7})
models = [LogisticRegression(C=float(sys.argv[1]) + i).fit(X, X.a > 20) for i in range(4)]
mlnb.models.resolve  # imported before the start line
print("ready", flush=True)
sys.stdin.readline()
print(" ".join(mlnb.models.register("shared", m).ref for m in models), flush=True)
"""


@pytest.mark.postgres
def test_two_machines_registering_into_one_postgresql_registry(tmp_path, postgres_url, monkeypatch):
    """Two projects (two clones: separate locks and caches) share one registry: every model gets a
    version of its own, numbered without gaps, and neither process fails."""
    monkeypatch.setenv("MLNB_REGISTRY_URL", postgres_url)
    roots = []
    for clone in ("a", "b"):
        root = tmp_path / clone
        root.mkdir()
        monkeypatch.chdir(root)
        mlnb.init(remote=str(tmp_path / "remote"))
        roots.append(root)
    children = [subprocess.Popen([sys.executable, "-c", _REGISTER_MANY, seed], cwd=root, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)})
                for seed, root in (("1", roots[0]), ("100", roots[1]))]
    for child in children:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    outs = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0, 0], [err for _out, err in outs]
    refs = sorted(ref for out, _err in outs for ref in out.split())
    assert sorted(refs, key=lambda r: int(r.split("@")[1])) == [f"shared@{n}" for n in range(1, 9)]
