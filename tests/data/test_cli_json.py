"""Every verb that offers --json prints JSON, and the CLI survives a closed pipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd

from tests.conftest import ROOT, run_cli


def test_data_show_json(tmp_path):
    root = tmp_path / "p"
    run_cli("init", str(root), check=True)
    pd.DataFrame({"x": [1, 2, 3]}).to_csv(root / "t.csv", index=False)
    run_cli("data", "add", "t.csv", "--name", "t", "-m", "first", cwd=root, check=True)
    shown = json.loads(run_cli("data", "show", "t@1", "--json", cwd=root, check=True).stdout)
    assert (shown["ref"], shown["rows"], shown["message"], shown["path"]) == ("t@1", 3, "first", "t.csv")


def test_output_into_a_closed_pipe_is_not_a_traceback(tmp_path):
    root = tmp_path / "p"
    run_cli("init", str(root), check=True)
    wide = pd.DataFrame({f"column_{i}": range(3) for i in range(300)})
    wide.to_csv(root / "w.csv", index=False)
    run_cli("data", "add", "w.csv", "--name", "w", cwd=root, check=True)
    (wide + 1).to_csv(root / "w.csv", index=False)
    run_cli("data", "add", "w.csv", "--name", "w", cwd=root, check=True)
    # `mlnb data diff ... | head -1`: the reader goes away before the (long) listing is written
    proc = subprocess.Popen([sys.executable, "-m", "mlnb", "data", "diff", "w@1", "w@2"], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait() != 0  # the listing was not delivered
    assert "error" not in stderr.lower() and "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
