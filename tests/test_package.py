"""The package surface: lazy imports and the public names."""

from __future__ import annotations

import json
import subprocess
import sys

import mlnb
from tests.conftest import ROOT

HEAVY = ("pandas", "sqlalchemy", "dvc", "altair", "scipy", "sklearn", "pyarrow")


def test_import_and_load_ext_import_nothing_heavy():
    code = (
        "import json, sys, mlnb\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.instance().run_line_magic('load_ext', 'mlnb')\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_public_names_resolve():
    """Each public name is what its name says: an area is the module ``mlnb.<area>``, a function
    is a callable of that name, and the version is the one the package metadata declares."""
    import tomllib
    import types

    for name in mlnb.__all__:
        value = getattr(mlnb, name)
        if isinstance(value, types.ModuleType):
            assert value.__name__ == f"mlnb.{name}" and value is sys.modules[f"mlnb.{name}"], name
        elif name == "__version__":
            assert value == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
        else:
            assert callable(value) and value.__name__ == name and value.__module__.startswith("mlnb"), name
    assert {n for n in mlnb.__all__ if isinstance(getattr(mlnb, n), types.ModuleType)} == {
        "checks", "data", "errors", "export", "models", "monitor", "runs", "serve", "sync"}
    assert set(mlnb.data.__all__) <= set(dir(mlnb.data))


def test_every_area_is_reachable_after_a_plain_import():
    """`import mlnb; mlnb.export.export(...)` as the docs write it, in a fresh process."""
    code = "import mlnb\nfor area in ('data', 'runs', 'export', 'checks'):\n    getattr(mlnb, area)\nprint('ok')\n"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr
