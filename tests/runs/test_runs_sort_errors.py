"""A bad --sort key is reported as a sort key, not as a filter."""

from __future__ import annotations

import pytest

import mlnb
from mlnb.errors import UsageError
from tests.conftest import run_cli


def test_bad_sort_key_names_the_sort(project):
    with pytest.raises(UsageError, match=r"^invalid sort key 'bogus' at column 1: unknown field 'bogus'"):
        mlnb.runs.list(sort="-bogus")
    out = run_cli("runs", "list", "--sort", "metrics.", cwd=project.root)
    assert out.returncode == 2 and out.stderr.startswith("mlnb: error: invalid sort key 'metrics.'"), out.stderr
    assert "filter" not in out.stderr
