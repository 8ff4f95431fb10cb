"""`mlnb demo` from a built wheel, installed into a fresh venv: the example notebooks ship with it.

The wheel is built from this checkout (`pip wheel --no-deps`; the labextension build is skipped
when it is already built, see pyproject's ``skip-if-exists``) and installed without dependencies
into a new venv; the dependencies come from this test's own environment through a ``.pth`` line,
so nothing is downloaded but the build backend (pip's cache). The child runs with no PYTHONPATH,
so the wheel's copy of mlnb is the one that runs (asserted).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """(bin folder, environment) of a fresh venv holding only the wheel built from this checkout."""
    if not (ROOT / "mlnb" / "labextension" / "static" / "style.js").exists():
        pytest.skip("the labextension is not built (pip install -e . builds it); the wheel build would need node")
    base = tmp_path_factory.mktemp("wheel")
    started = time.perf_counter()
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT), "-w", str(base / "dist")], base)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next((base / "dist").glob("mlnb-*.whl"))
    venv = base / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], base)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
                     base)
    assert installed.returncode == 0, installed.stderr[-3000:]
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        base).stdout.strip())
    (purelib / "zz_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # after the wheel's mlnb
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MLNB_REGISTRY_URL")}
    env["HOME"] = str(base / "home")
    (base / "home").mkdir()
    where = _run([str(python), "-c", "import mlnb; print(mlnb.__file__)"], base, env)
    assert where.stdout.strip() == str(purelib / "mlnb" / "__init__.py"), where.stdout + where.stderr
    print(f"\nwheel built and installed in a fresh venv in {time.perf_counter() - started:.1f} s")
    return venv / "bin", env


def test_demo_from_the_wheel_copies_the_notebooks_and_seeds_the_project(wheel_venv, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bin_dir, env = wheel_venv
    target = tmp_path / "demo"
    proc = _run([str(bin_dir / "mlnb"), "demo", str(target), "--no-lab"], tmp_path, env)
    assert proc.returncode == 0, proc.stderr

    shipped = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(p.name for p in (target / "project").glob("*.ipynb")) == shipped and len(shipped) == 7
    for name in shipped:
        assert (target / "project" / name).read_bytes() == (ROOT / "notebooks" / name).read_bytes()
    project = target / "project"
    versions = json.loads(_run([str(bin_dir / "mlnb"), "data", "log", "customers", "--json"], project, env).stdout)
    assert [v["message"] for v in versions] == ["drop the over-75s", "raw export"]
    runs = json.loads(_run([str(bin_dir / "mlnb"), "runs", "list", "--json"], project, env).stdout)
    assert sorted(r["name"] for r in runs) == ["tree-depth-2", "tree-depth-4", "tree-depth-8"]
    assert all(r["status"] == "finished" for r in runs)


def test_demo_without_its_notebooks_fails_loudly_and_writes_nothing(wheel_venv, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bin_dir, env = wheel_venv
    python = bin_dir / "python"
    package = Path(_run([str(python), "-c", "import mlnb, os; print(os.path.dirname(mlnb.__file__))"],
                        tmp_path, env).stdout.strip())
    shutil.move(package / "_notebooks", tmp_path / "kept")  # an install that lost them
    try:
        proc = _run([str(bin_dir / "mlnb"), "demo", str(tmp_path / "demo"), "--no-lab"], tmp_path, env)
    finally:
        shutil.move(tmp_path / "kept", package / "_notebooks")
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlnb: error: the example notebooks are missing"), proc.stderr
    assert not (tmp_path / "demo").exists()
