"""Paths in variables, outputs git already tracks, two exports of one notebook, and the commands
an export writes and prints — each through a real kernel, real git and a real `dvc repro`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml

import mlnb
from mlnb.errors import UsageError
from tests.conftest import git, run_cli
from tests.export.shapes import PLAIN, SETUP, execute, write_notebook
from tests.faults._harness import assert_one_line_error, snapshot

#: every way of building a path the export resolves: a variable, os.path.join, Path / ..., f-strings
#: and .format of parameters, constants from setup and from an earlier stage, a folder made by mkdir
PATHS = [
    SETUP + "\nimport json, os, pickle\nimport joblib\nimport skops.io as sio\nfrom pathlib import Path\n"
    "from sklearn.linear_model import LinearRegression\nOUT = 'models'\nDATA = Path('data')",
    ("prefix = 'feat'\nseed = 3\nreport_dir = 'reports'", ["parameters"]),
    "%%mlops stage prepare\nos.makedirs(DATA, exist_ok=True)\nrng = np.random.default_rng(seed)\n"
    "df = pd.DataFrame({'x': rng.normal(size=40)})\ndf['y'] = 2 * df.x + 1 + rng.normal(scale=0.1, size=40)\n"
    "features = DATA / f'{prefix}_{seed:02d}.parquet'\ndf.to_parquet(features)\n"
    "df.to_csv(os.path.join('data', 'table.csv'), index=False)\nnp.save(DATA / 'x.npy', df.x.to_numpy())\n"
    "summary = 'data/summary_%s.json' % prefix\ndf.describe().to_json(summary)\nmlnb.log_metric('rows', len(df))",
    "%%mlops stage train\ntable = pd.read_parquet(DATA / f'{prefix}_{seed:02d}.parquet')\n"
    "model = LinearRegression().fit(table[['x']], table.y)\nPath(OUT).mkdir(exist_ok=True)\n"
    "path = os.path.join(OUT, 'model.pkl')\njoblib.dump(model, path)\n"
    "pickle.dump(model, open('{}/model.pickle'.format(OUT), 'wb'))\nsio.dump(model, OUT + '/model.skops')\n"
    "with open(Path(OUT) / 'coef.json', 'w') as f:\n    json.dump({'coef': float(model.coef_[0])}, f)\n"
    "mlnb.log_metric('coef', float(model.coef_[0]))",
    "%%mlops stage report\nm = joblib.load(f'{OUT}/model.pkl')\nos.makedirs(report_dir, exist_ok=True)\n"
    "for name in ['a', 'b']:\n    grid = pd.DataFrame({'x': [1.0, 2.0]})\n"
    "    grid.assign(p=m.predict(grid)).to_csv(os.path.join(report_dir, f'{name}.csv'), index=False)\n"
    "Path(report_dir, 'note.txt').write_text(f'seed {seed}')\nstats = pd.read_json(summary)  # a path set in an earlier stage\n"
    "mlnb.log_metric('x_mean', float(stats['x']['mean']))\nmlnb.log_metric('pred1', float(m.predict(pd.DataFrame({'x': [1.0]}))[0]))",
]
#: what each stage must declare (paths relative to the notebook's folder, the project root here)
OUTS = {
    "prepare": ["data/feat_03.parquet", "data/summary_feat.json", "data/table.csv", "data/x.npy"],
    "train": ["models/coef.json", "models/model.pickle", "models/model.pkl", "models/model.skops"],
    "report": ["reports"],  # files named in a loop, inside a folder the stage makes
}
#: files compared byte for byte between the notebook's run and the pipeline's
SAME_BYTES = ["data/table.csv", "data/x.npy", "data/summary_feat.json", "models/coef.json",
              "reports/a.csv", "reports/b.csv", "reports/note.txt"]

CLEAN_PATH = "/usr/bin:/bin"  # no virtualenv's bin: `dvc repro` as `.venv/bin/dvc` with nothing activated
VENV_DVC = Path(sys.executable).parent / "dvc"


def dvc_without_venv(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``.venv/bin/dvc`` by its absolute path, with a PATH that holds no virtualenv."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = CLEAN_PATH
    return subprocess.run([str(VENV_DVC), *args], cwd=cwd, env=env, capture_output=True, text=True)


def commit_all(root: Path) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "x")


def _stage_outs(root: Path, out: str = "pipeline") -> dict[str, list[str]]:
    stages = yaml.safe_load((root / out / "dvc.yaml").read_text())["stages"]
    return {name: [o for o in s.get("outs", []) if not o.startswith(f"{out}/vars/")] for name, s in stages.items()}


def test_paths_in_variables_are_outputs_and_repro_rebuilds_them_equal(project) -> None:
    root = project.root
    nb = write_notebook(root / "paths.ipynb", PATHS)
    execute(nb)
    notebook_bytes = {p: (root / p).read_bytes() for p in SAME_BYTES}
    notebook_frame = pd.read_parquet(root / "data/feat_03.parquet")
    notebook_coef = json.loads(notebook_bytes["models/coef.json"])["coef"]

    result = mlnb.export.export(nb, "pipeline")

    assert _stage_outs(root) == OUTS
    assert "warnings" not in result.columns  # every write was resolved
    stages = yaml.safe_load((root / "pipeline/dvc.yaml").read_text())["stages"]
    assert "data/feat_03.parquet" in stages["train"]["deps"] and "models/model.pkl" in stages["report"]["deps"]
    assert "data/summary_feat.json" in stages["report"]["deps"]
    assert stages["train"]["params"] == [{"pipeline/params.yaml": ["prefix", "seed"]}]
    # the notebook's outputs are ignored as DVC ignores them, so `git add -A` leaves them out
    commit_all(root)
    tracked = git(root, "ls-files").splitlines()
    assert not [p for p in tracked if p.startswith(("data/", "models/", "reports/")) and not p.endswith(".gitignore")]
    assert "/model.pkl" in (root / "models/.gitignore").read_text().splitlines()
    for path in notebook_bytes:  # the pipeline writes them again, from nothing
        (root / path).unlink()

    proc = dvc_without_venv(root, "repro", "pipeline/dvc.yaml")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {p: (root / p).read_bytes() for p in SAME_BYTES} == notebook_bytes
    pd.testing.assert_frame_equal(pd.read_parquet(root / "data/feat_03.parquet"), notebook_frame)
    assert np.array_equal(np.load(root / "data/x.npy"), notebook_frame.x.to_numpy())
    assert float(joblib.load(root / "models/model.pkl").coef_[0]) == notebook_coef
    for stage in ("prepare", "train", "report"):  # every metric equals the notebook run's
        (run,) = mlnb.runs.list(f"name = '{stage}' and tags.mlnb-stage")
        pipeline = json.loads((root / f"pipeline/metrics/{stage}.json").read_text())
        assert pipeline == mlnb.runs.get(run["id"]).metrics and pipeline, stage
    assert json.loads((root / "pipeline/metrics/train.json").read_text()) == {"coef": notebook_coef}
    # and the repository stays committable and reproducible: DVC added nothing git would track
    commit_all(root)
    assert dvc_without_venv(root, "repro", "pipeline/dvc.yaml").returncode == 0
    assert "Data and pipelines are up to date" in dvc_without_venv(root, "status", "pipeline/dvc.yaml").stdout


def test_plan_resolves_writers_and_warns_about_computed_paths(tmp_path: Path) -> None:
    cells = [
        "import os, random\nfrom pathlib import Path\nimport pandas as pd\nFIG = 'figs'",
        ("name = 'run1'", ["parameters"]),
        "%%mlops stage a\ndf = pd.DataFrame({'v': [1]})\nfig = object()\n"
        "fig.savefig(os.path.join(FIG, f'{name}.png'))\nPath(FIG, 'b.txt').write_text('x')\n"
        "target = 'c.csv'\nif len(df) > 5:\n    target = 'd.csv'\ndf.to_csv(target)\n"
        "df.to_csv(f'out_{random.random()}.csv')\nimport io, sys\nbuf = io.StringIO()\ndf.to_csv(buf)\n"
        "df.to_csv(sys.stdout)\nwith pd.ExcelWriter(f'{FIG}/t.xlsx') as sheets:\n    df.to_excel(sheets)",
    ]
    nb = write_notebook(tmp_path / "w.ipynb", cells)
    result = mlnb.export.export(nb, tmp_path / "p")
    (row,) = result.rows
    assert sorted(row["writes"]) == ["figs/b.txt", "figs/run1.png", "figs/t.xlsx"]  # buffers are not files
    assert row["warnings"] == [
        "cell 3 (stage 'a'), line 9: `df.to_csv(target)` writes a file whose path is computed at run time, so it "
        "is not an output of the stage: add `--outs PATH` to the stage marker, or build the path from literals "
        "and parameters",
        "cell 3 (stage 'a'), line 10: `df.to_csv(f'out_{random.random()}.csv')` writes a file whose path is "
        "computed at run time, so it is not an output of the stage: add `--outs PATH` to the stage marker, or "
        "build the path from literals and parameters",
    ]
    assert "line 9: `df.to_csv(target)`" in str(result)
    declared = [cells[0], cells[1], "%%mlops stage a --outs c.csv d.csv\n" + cells[2].split("\n", 1)[1]]
    write_notebook(nb, declared)
    assert "warnings" not in mlnb.export.export(nb, tmp_path / "p").columns  # the marker declares them


def test_an_output_git_tracks_is_refused_until_untracked(project) -> None:
    root = project.root
    write_notebook(root / "plain.ipynb", PLAIN)
    pd.DataFrame({"a": [1]}).to_parquet(root / "table.parquet")  # an earlier notebook run, committed
    commit_all(root)
    before, head = snapshot(root), git(root, "rev-parse", "HEAD")

    refused = run_cli("export", "plain.ipynb", "--out", "pipeline", cwd=root)

    line = assert_one_line_error(refused, 2)
    assert "git tracks table.parquet" in line and "--untrack" in line
    assert snapshot(root) == before  # nothing written, nothing untracked

    done = run_cli("export", "plain.ipynb", "--out", "pipeline", "--untrack", cwd=root)

    assert done.returncode == 0, done.stderr
    assert "table.parquet" not in git(root, "ls-files").splitlines() and (root / "table.parquet").exists()
    assert git(root, "rev-parse", "HEAD") == head  # --untrack commits nothing
    commit_all(root)
    proc = dvc_without_venv(root, "repro", "pipeline/dvc.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(pd.read_parquet(root / "table.parquet")) == 40  # the pipeline's table, not the committed one


def test_a_second_export_elsewhere_is_refused_and_the_same_folder_is_replaced(project) -> None:
    root = project.root
    write_notebook(root / "plain.ipynb", PLAIN)
    assert run_cli("export", "plain.ipynb", "--out", "pipeline", cwd=root).returncode == 0
    before = snapshot(root)

    second = run_cli("export", "plain.ipynb", "--out", "other", cwd=root)

    line = assert_one_line_error(second, 2)
    assert line.startswith("mlnb: error: pipeline/dvc.yaml already declares table.parquet as an output")
    assert snapshot(root) == before and not (root / "other").exists()
    again = run_cli("export", "plain.ipynb", "--out", "pipeline", cwd=root)
    assert again.returncode == 0, again.stderr
    assert snapshot(root) == before  # the same stages, replaced by themselves


def test_an_output_a_dvc_file_tracks_is_refused(project) -> None:
    mlnb.data.save(pd.DataFrame({"a": [1, 2]}), "raw")  # data/raw.parquet, tracked by data/raw.parquet.dvc
    nb = write_notebook(project.root / "nb.ipynb", [
        "import pandas as pd\nimport os", "%%mlops stage s\npd.DataFrame({'a': [3]}).to_parquet(os.path.join('data', 'raw.parquet'))"])
    with pytest.raises(UsageError, match=r"^data/raw.parquet.dvc already declares data/raw.parquet as an output"):
        mlnb.export.export(nb, "pipeline")
    assert not (project.root / "pipeline").exists()


def test_the_next_step_works_from_where_the_user_is(project) -> None:
    root = project.root
    write_notebook(root / "plain.ipynb", PLAIN)
    from_root = run_cli("export", "plain.ipynb", "--out", "pipeline", cwd=root)
    assert "run `dvc repro pipeline/dvc.yaml`" in from_root.stdout
    (root / "sub").mkdir()
    from_sub = run_cli("export", "../plain.ipynb", "--out", "../pipeline", cwd=root / "sub")
    command = from_sub.stdout.split("run `", 1)[1].split("`", 1)[0]
    assert command == "dvc repro ../pipeline/dvc.yaml"
    assert dvc_without_venv(root / "sub", *command.split()[1:]).returncode == 0  # it runs as printed
    outside = run_cli("export", str(root / "plain.ipynb"), "--out", str(root / "pipeline"), cwd=root.parent)
    assert f"run `cd {root} && dvc repro pipeline/dvc.yaml`" in outside.stdout, outside.stderr
    write_notebook(root / "solo" / "solo.ipynb", ["x = 1", "%%mlops stage s\ny = x + 1"])
    here = run_cli("export", "solo.ipynb", "--out", ".", cwd=root / "solo")
    assert "run `dvc repro`" in here.stdout, here.stderr


def test_the_interpreter_can_be_chosen_and_must_be_one_line(tmp_path: Path, monkeypatch) -> None:
    nb = write_notebook(tmp_path / "nb.ipynb", ["x = 1", "%%mlops stage s\ny = x + 1"])
    monkeypatch.setenv("MLNB_EXPORT_PYTHON", "python3")
    mlnb.export.export(nb, tmp_path)
    assert yaml.safe_load((tmp_path / "dvc.yaml").read_text())["stages"]["s"]["cmd"] == "python3 s.py"
    monkeypatch.setenv("MLNB_EXPORT_PYTHON", "python\nrm -rf x")
    with pytest.raises(UsageError, match=r"\(MLNB_EXPORT_PYTHON, else this Python\) has a line break"):
        mlnb.export.export(nb, tmp_path / "other")


def test_a_hostile_format_is_not_folded(tmp_path: Path) -> None:
    """A width of a billion would build a gigabyte string: such a path stays unknown (a warning)."""
    cells = ["import pandas as pd\nn = 5", "%%mlops stage s\ndf = pd.DataFrame({'a': [1]})\n"
             "df.to_csv(f'{n:>999999999}.csv')\ndf.to_csv('{:>99999999}.csv'.format(n))\ndf.to_csv('x_%02d.csv' % n)"]
    (row,) = mlnb.export.export(write_notebook(tmp_path / "h.ipynb", cells), tmp_path / "p").rows
    assert row["writes"] == ["x_05.csv"] and len(row["warnings"]) == 2


@pytest.mark.parametrize("code, writes, unknown", [
    ("p = 'a.csv'\ntry:\n    df.to_csv(p)\n    p = 'b.csv'\nexcept ValueError:\n    df.to_csv('e.csv')\ndf.to_csv(p)",
     ["a.csv", "e.csv"], 1),  # after a try, a name it rebinds is unknown
    ("p = 'a.csv'\nfor i in range(2):\n    df.to_csv(p)\n    p = f'{i}.csv'\ndf.to_csv(p)", [], 2),  # loops
    ("p = 'a.csv'\nif c:\n    p = 'a.csv'\ndf.to_csv(p)", ["a.csv"], 0),  # both branches agree
    ("d = {'k': 'x.csv'}\nd['k'] = 'y.csv'\ndf.to_csv(d['k'])", [], 1),  # a changed dict
    ("p = Path('m')\nnp.savez_compressed(p.with_suffix('.npz'), a=a)\ntorch.save(m, p / 'w.pt')",
     ["m.npz", "m/w.pt"], 0),
    ("def save(x, path):\n    x.to_csv(path)\nsave(df, 'f.csv')", [], 0),  # function bodies are not followed
    ("p = 'a.csv'\nprint(p := q)\ndf.to_csv(p)", [], 1),  # a walrus rebinds
])
def test_folding_is_conservative(code: str, writes: list[str], unknown: int) -> None:
    from types import SimpleNamespace

    from mlnb.export._paths import scan

    (found,) = scan([SimpleNamespace(number=1, code=code)], {}).values()
    assert (found.writes, len(found.unresolved)) == (writes, unknown)
