"""`promote --git-tag`: the tags DVC's GTO reads, checked with the real `gto` in a venv of its own.

The venv is made once and kept (``MLNB_GTO_VENV``, default ``$TMPDIR/mlnb-gto-venv``) so reruns
are fast. When pip cannot install gto the test is skipped, saying so; with ``MLNB_REQUIRE_GTO=1``
(CI, .ci/run) it fails instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import mlnb
from mlnb.errors import UsageError
from tests.conftest import git, run_cli
from tests.faults._harness import snapshot

#: the gto the test installs: the 1.x line, whose tag format mlnb writes
GTO_REQUIREMENT = "gto>=1.7,<2"


@pytest.fixture(scope="session")
def gto() -> Path:
    """The `gto` command of a venv kept between runs."""
    venv = Path(os.environ.get("MLNB_GTO_VENV") or Path(tempfile.gettempdir()) / "mlnb-gto-venv")
    command = venv / "bin" / "gto"
    if not command.exists():
        made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True)
        installed = made.returncode == 0 and subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", GTO_REQUIREMENT],
            capture_output=True, text=True, timeout=600).returncode == 0
        if not installed or not command.exists():
            reason = f"pip could not install {GTO_REQUIREMENT!r} into {venv}"
            if os.environ.get("MLNB_REQUIRE_GTO") == "1":
                pytest.fail(f"gto is required here (MLNB_REQUIRE_GTO=1) but {reason}")
            pytest.skip(f"{reason}; set MLNB_REQUIRE_GTO=1 to fail instead")
    return command


def _gto_show(gto: Path, root: Path) -> dict:
    out = subprocess.run([str(gto), "show", "--json"], cwd=root, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def _gto_versions(gto: Path, root: Path, name: str) -> dict[str, list[str]]:
    """``{version: [stages]}`` of artifact ``name`` as `gto show NAME` reads it."""
    out = subprocess.run([str(gto), "show", name, "--json"], cwd=root, capture_output=True, text=True,
                         check=True).stdout
    return {row["version"]: sorted(s["stage"] for s in row["stages"] if s["is_active"]) for row in json.loads(out)}


def _mlnb_view(name: str) -> tuple[str, dict[str, str], dict[str, list[str]]]:
    """mlnb's own answer in GTO's terms: latest, {alias: version}, {version: [aliases]}."""
    rows = mlnb.models.log(name).to_dict()
    holders = {a: f"v{r['version']}.0.0" for r in rows for a in r["aliases"]}
    return (f"v{rows[0]['version']}.0.0", holders,
            {f"v{r['version']}.0.0": sorted(r["aliases"]) for r in rows})


def _assert_agree(gto: Path, root: Path, name: str) -> None:
    latest, holders, versions = _mlnb_view(name)
    shown = _gto_show(gto, root)[name]
    assert (shown["version"], shown["stage"]) == (latest, holders)
    assert _gto_versions(gto, root, name) == versions


def test_gto_show_agrees_after_register_promote_and_rollback(registered, project, gto):
    root = project.root
    git(root, "commit", "--allow-empty", "-q", "-m", "models registered")
    mlnb.models.register("churn", type(registered.strong)(C=0.05).fit(registered.X, registered.y),
                         data=registered.X, metrics={"auc": 0.85})  # churn@3, a later commit
    worktree = (git(root, "rev-parse", "HEAD"), git(root, "status", "--porcelain"))
    moved = mlnb.models.promote("churn@2", to="champion", gates=["auc >= champion.auc"], git_tag=True)
    assert moved.moved
    tags = git(root, "tag", "--list", "churn*").split()
    assert sorted(tags) == ["churn#champion!#1", "churn#champion#2", "churn@v1.0.0", "churn@v2.0.0", "churn@v3.0.0"]
    assert git(root, "cat-file", "-t", "churn#champion#2") == "tag"  # annotated, as GTO writes them
    assert git(root, "tag", "-l", "--format=%(contents:subject)", "churn#champion#2") == \
        "Assigning stage champion to artifact churn version v2.0.0"
    assert git(root, "tag", "-l", "--format=%(contents:subject)", "churn@v3.0.0") == \
        "Registering artifact churn version v3.0.0"
    _assert_agree(gto, root, "churn")

    run_cli("models", "alias", "churn@3", "staging", "--git-tag", cwd=root, check=True)
    _assert_agree(gto, root, "churn")
    run_cli("models", "promote", "churn@3", "--to", "champion", "--git-tag", cwd=root, check=True)
    _assert_agree(gto, root, "churn")  # churn@3 holds both aliases
    mlnb.models.rollback("churn", "champion", git_tag=True)
    _assert_agree(gto, root, "churn")
    assert _gto_show(gto, root)["churn"]["stage"]["champion"] == "v2.0.0"
    run_cli("models", "rollback", "churn", "--alias", "champion", "--git-tag", cwd=root, check=True)
    assert _gto_show(gto, root)["churn"]["stage"]["champion"] == "v1.0.0"
    _assert_agree(gto, root, "churn")
    mlnb.models.remove_alias("churn", "staging", git_tag=True)
    _assert_agree(gto, root, "churn")
    assert (git(root, "rev-parse", "HEAD"), git(root, "status", "--porcelain")) == worktree  # tags only


def test_git_tag_refuses_what_gto_cannot_read_and_changes_nothing(registered, project):
    git(project.root, "commit", "--allow-empty", "-q", "-m", "models registered")
    mlnb.models.register("Churn_X", registered.strong, metrics={"auc": 0.9})
    before = snapshot(project.root)
    with pytest.raises(UsageError, match="GTO cannot read the model name 'Churn_X'"):
        mlnb.models.promote("Churn_X@1", to="champion", git_tag=True)
    with pytest.raises(UsageError, match="GTO cannot read the alias 'Prod_A'"):
        mlnb.models.promote("churn@2", to="Prod_A", git_tag=True)
    assert snapshot(project.root) == before
    assert git(project.root, "tag", "--list") == ""
