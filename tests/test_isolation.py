"""The suite never reads the developer's home: git, DVC and mlnb see a private, empty one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def test_home_is_a_private_folder_for_this_process_and_its_children(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.getbasetemp() / "home"
    assert os.environ["HOME"] == str(home) and Path.home() == home
    child = subprocess.run([sys.executable, "-c", "from pathlib import Path; print(Path.home())"],
                           capture_output=True, text=True, check=True)
    assert child.stdout.strip() == str(home)


def test_git_and_dvc_read_no_global_config(project):
    """What a developer's ~/.gitconfig or DVC global config says cannot change a test's outcome."""
    from dvc.config import Config

    home = Path.home()
    found = subprocess.run(["git", "config", "--global", "--list"], capture_output=True, text=True)
    assert found.returncode != 0 and found.stdout == ""  # no global git config at all
    assert Path(Config.get_dir("global")).is_relative_to(home)  # DVC's global config lives there too
    # the identity git commits with is the suite's own (GIT_* variables), not one from a config file
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "probe"], cwd=project.root, check=True)
    log = subprocess.run(["git", "log", "-1", "--format=%an <%ae>"], cwd=project.root, capture_output=True,
                         text=True, check=True)
    assert log.stdout.strip() == "mlnb test <test@example.invalid>"
