"""push/pull against a remote that cannot be used: one line that says what to do, nothing lost."""

from __future__ import annotations

import importlib.util

import pandas as pd
import pytest

import mlnb
from mlnb.errors import MlnbError

from tests.conftest import run_cli


def test_push_without_a_remote_is_one_line(tmp_path):
    root = tmp_path / "p"
    run_cli("init", str(root), check=True)
    pd.DataFrame({"x": [1]}).to_csv(root / "t.csv", index=False)
    run_cli("data", "add", "t.csv", cwd=root, check=True)
    out = run_cli("data", "push", cwd=root)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "mlnb init --remote URL" in out.stderr, out.stderr


@pytest.mark.skipif(importlib.util.find_spec("dvc_ssh") is not None, reason="dvc-ssh is installed here")
def test_remote_whose_dvc_plugin_is_missing(project):
    v = mlnb.data.save(pd.DataFrame({"x": [1, 2]}), "t")
    mlnb.init(remote="ssh://example.invalid/store")
    for verb in (mlnb.data.push, mlnb.data.pull):
        with pytest.raises(MlnbError, match="pip install dvc-ssh"):
            verb()
    assert mlnb.data.load(v.ref)["x"].tolist() == [1, 2]  # the local version is untouched
