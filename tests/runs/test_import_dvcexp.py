"""DVC experiments made by a real `dvc exp run` in the project, imported as runs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.conftest import run_cli


def _dvc(root, *args):
    proc = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_dvc_experiments_come_in(project):
    import mlnb

    root = project.root
    (root / "train.py").write_text(textwrap.dedent("""
        import json, yaml
        p = yaml.safe_load(open("params.yaml"))
        json.dump({"acc": 0.5 + p["train"]["lr"], "loss": {"final": 1 - p["train"]["lr"]}}, open("metrics.json", "w"))
    """))
    (root / "params.yaml").write_text("train:\n  lr: 0.1\n  opt: adam\n")
    (root / "dvc.yaml").write_text(textwrap.dedent("""
        stages:
          train:
            cmd: python train.py
            deps: [train.py]
            params: [train]
            metrics:
              - metrics.json:
                  cache: false
    """))
    _dvc(root, "repro", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "baseline")
    _dvc(root, "exp", "run", "-q", "-S", "train.lr=0.2", "-n", "exp-fast")
    _dvc(root, "exp", "run", "-q", "-S", "train.lr=0.3", "-S", "train.opt=sgd", "-n", "exp-sgd")
    shown = json.loads(_dvc(root, "exp", "show", "--json"))
    revs = {e["name"]: e["revs"][0]["rev"] for b in shown for e in (b["experiments"] or [])}
    assert set(revs) == {"exp-fast", "exp-sgd"}

    proc = run_cli("runs", "import", "--dvc-exp", "--json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["imported"] == 2
    sgd = mlnb.runs.get(revs["exp-sgd"][:32])
    assert sgd.name == "exp-sgd" and sgd.status == "finished" and sgd.git_commit == revs["exp-sgd"]
    assert sgd.params == {"train.lr": 0.3, "train.opt": "sgd"}
    assert sgd.metrics == {"acc": 0.8, "loss.final": 0.7}
    assert f"dvc.exp_rev={revs['exp-sgd']}" in sgd.tags
    listed = mlnb.runs.list("params.train.opt = 'sgd'")
    assert [r["id"] for r in listed] == [revs["exp-sgd"][:32]]  # filtered like any run

    again = mlnb.runs.import_dvc_exp()
    assert again["imported"] == 0 and again["skipped (imported before)"] == 2
