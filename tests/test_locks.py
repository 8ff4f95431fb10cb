"""Project locks stay out of the user's way: git never sees the lock files."""

import subprocess
from mlnb._lock import project_lock


def test_lock_files_never_show_in_git_status(project):
    with project_lock(project.root, "data"):
        pass
    out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=project.root,
                         capture_output=True, text=True, check=True).stdout
    assert "locks" not in out, out
    assert (project.root / ".mlnb" / "locks" / "data.lock").exists()
