"""A run records the code that started it: the module behind a console script, not the launcher."""

from __future__ import annotations

import subprocess
import sys

import mlnb
from tests.conftest import ROOT


def test_a_run_started_by_a_package_behind_a_launcher_records_the_package_module(project):
    package = project.root / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    train = package / "train.py"
    train.write_text("import mlnb\n\ndef main():\n    with mlnb.start_run('from-package') as run:\n"
                     "        run.log_metric('x', 1)\n    print(run.id)\n")
    launcher = project.root / "bin-train"  # what pip writes for a console script entry point
    launcher.write_text("import sys\nfrom mypkg.train import main\nsys.exit(main())\n")
    out = subprocess.run([sys.executable, str(launcher)], cwd=project.root, capture_output=True, text=True,
                         env={"PYTHONPATH": f"{ROOT}:{project.root}", "HOME": str(project.root), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    record = mlnb.runs.get(out.stdout.strip())
    assert record.notebook == str(train.resolve()) and record.code == train.read_text()


def test_python_c_records_no_file(project):
    out = subprocess.run([sys.executable, "-c", "import mlnb\nwith mlnb.start_run('inline') as r: pass\nprint(r.id)"],
                         cwd=project.root, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    record = mlnb.runs.get(out.stdout.strip())
    assert record.notebook is None and record.code is None
