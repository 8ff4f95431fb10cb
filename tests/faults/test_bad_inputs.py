"""Bad input to every verb: one line on stderr, the documented exit code, nothing saved changed.

One project is shared by the table (it is made once, with a dataset version, a run, a schema,
good and damaged files); every row snapshots the project before and after its command. Rows
that damage the registry restore it afterwards and compare its bytes instead (a damaged
registry cannot be read, which is the point). Exit codes are docs/cli.md's: 1 only for a check
that ran and said no, 2 usage, 3 error.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, cell_error, run_cli
from tests.faults._harness import assert_one_line_error, snapshot

USAGE, ERROR = 2, 3

_SETUP = """
import mlnb, numpy as np, pandas as pd
rng = np.random.default_rng(0)
ref = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(list("abc"), 300)})
ref.to_parquet("ref.parquet")
ref.assign(x=ref.x + 3).to_parquet("cur.parquet")
ref.iloc[:0].to_parquet("empty.parquet")
ref.to_csv("ref.csv", index=False)
mlnb.data.save(ref, "train")
mlnb.checks.infer_schema(ref).save("s.yaml")
mlnb.checks.profile(ref).save("ref.npz")
with mlnb.start_run("one") as run:
    run.log_metric("m", 1.0)
"""


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with a dataset version, a run, a schema, a profile, and files good and bad."""
    root = tmp_path_factory.mktemp("bad_inputs") / "proj"
    root.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t.invalid"}
    env.pop("MLNB_REGISTRY_URL", None)
    run_cli("init", "--remote", str(root.parent / "remote"), cwd=root, check=True)
    subprocess.run([sys.executable, "-c", _SETUP], cwd=root, env=env, check=True, capture_output=True)
    good = (root / "ref.parquet").read_bytes()
    (root / "bad.parquet").write_bytes(b"this is not a parquet file at all")
    (root / "truncated.parquet").write_bytes(good[: len(good) // 2])
    (root / "bad.npz").write_bytes(b"PK\x03\x04 not a zip")
    (root / "bad.csv").write_text('x,c\n"1,a\n2,b\n')
    (root / "bad.yaml").write_text("columns: [unclosed\n")
    (root / "notes.txt").write_text("not a notebook\n")
    (root / "bad.ipynb").write_text('{"cells": [')
    (root / "bad.jsonl").write_text("{not json\n")
    (root / "folder").mkdir()
    (root / "folder" / "keep").write_text("x")
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-qm", "fixtures"], cwd=root, env=env, check=True)
    return root


@dataclass(frozen=True)
class Bad:
    """One bad input: the command, its exit code and a piece of the one line it must print."""

    argv: tuple[str, ...]
    code: int
    says: str
    where: str = "project"  # "project", "outside" (a folder that is no project) or "readonly"


def bad(*argv: str, code: int, says: str, where: str = "project") -> Bad:
    return Bad(tuple(argv), code, says, where)


CASES = {
    # checks: drift
    "drift-corrupt-ref": bad("drift", "bad.parquet", "cur.parquet", code=ERROR, says="cannot read bad.parquet"),
    "drift-corrupt-cur": bad("drift", "ref.parquet", "bad.parquet", code=ERROR, says="cannot read bad.parquet"),
    "drift-truncated": bad("drift", "truncated.parquet", "cur.parquet", code=ERROR, says="cannot read truncated.parquet"),
    "drift-bad-csv": bad("drift", "ref.parquet", "bad.csv", code=ERROR, says="cannot read bad.csv"),
    "drift-corrupt-profile": bad("drift", "bad.npz", "cur.parquet", code=ERROR, says="bad.npz"),
    "drift-missing-profile": bad("drift", "nope.npz", "cur.parquet", code=ERROR, says="no such file: nope.npz"),
    "drift-missing-file": bad("drift", "nope.parquet", "cur.parquet", code=ERROR, says="no such file: nope.parquet"),
    "drift-missing-outside": bad("drift", "a", "b", code=ERROR, says="no such file: a", where="outside"),
    "drift-missing-csv-outside": bad("drift", "a.csv", "b.csv", code=ERROR, says="no such file: a.csv",
                                     where="outside"),
    "drift-unknown-version": bad("drift", "train@9", "cur.parquet", code=ERROR, says="train@9"),
    "drift-html-no-folder": bad("drift", "ref.parquet", "cur.parquet", "--html", "nodir/r.html", code=ERROR,
                                says="nodir"),
    "drift-html-is-folder": bad("drift", "ref.parquet", "cur.parquet", "--html", "folder", code=USAGE,
                                says="folder"),
    "drift-threshold-garbage": bad("drift", "ref.parquet", "cur.parquet", "--threshold", "garbage", code=USAGE,
                                   says="--threshold"),
    "drift-threshold-not-number": bad("drift", "ref.parquet", "cur.parquet", "--threshold", "x=abc", code=USAGE,
                                      says="'abc'"),
    "drift-threshold-negative": bad("drift", "ref.parquet", "cur.parquet", "--threshold", "x=-1", code=USAGE,
                                    says="--threshold"),
    "drift-threshold-nan": bad("drift", "ref.parquet", "cur.parquet", "--threshold", "x=nan", code=USAGE,
                               says="--threshold"),
    "drift-alpha-range": bad("drift", "ref.parquet", "cur.parquet", "--alpha", "2", code=USAGE, says="alpha"),
    "drift-alpha-garbage": bad("drift", "ref.parquet", "cur.parquet", "--alpha", "abc", code=USAGE, says="--alpha"),
    "drift-unknown-column": bad("drift", "ref.parquet", "cur.parquet", "--columns", "nope", code=USAGE, says="nope"),
    "drift-empty-ref": bad("drift", "empty.parquet", "cur.parquet", code=USAGE, says="no rows"),
    # checks: schema infer / validate
    "infer-corrupt": bad("schema", "infer", "bad.parquet", code=ERROR, says="cannot read bad.parquet"),
    "infer-truncated": bad("schema", "infer", "truncated.parquet", code=ERROR, says="cannot read truncated.parquet"),
    "infer-missing": bad("schema", "infer", "nope.csv", code=ERROR, says="no such file: nope.csv"),
    "infer-output-is-folder": bad("schema", "infer", "ref.parquet", "-o", "folder", code=USAGE, says="is a folder"),
    "infer-output-unwritable": bad("schema", "infer", "ref.parquet", "-o", "/proc/mlnb/s.yaml", code=ERROR,
                                   says="/proc/mlnb"),
    "infer-output-readonly": bad("schema", "infer", "ref.parquet", "-o", "{ro}/s.yaml", code=ERROR, says="read-only",
                                 where="readonly"),
    "infer-max-categories": bad("schema", "infer", "ref.parquet", "--max-categories", "x", code=USAGE,
                                says="--max-categories"),
    "infer-max-categories-negative": bad("schema", "infer", "ref.parquet", "--max-categories", "-3", code=USAGE,
                                         says="whole number"),
    "validate-max-examples-negative": bad("validate", "ref.parquet", "--schema", "s.yaml", "--max-examples", "-1",
                                          code=USAGE, says="whole number"),
    "validate-corrupt": bad("validate", "bad.parquet", "--schema", "s.yaml", code=ERROR, says="cannot read bad.parquet"),
    "validate-truncated": bad("validate", "truncated.parquet", "--schema", "s.yaml", code=ERROR,
                              says="cannot read truncated.parquet"),
    "validate-missing-schema": bad("validate", "ref.parquet", "--schema", "nope.yaml", code=ERROR, says="nope.yaml"),
    "validate-corrupt-schema": bad("validate", "ref.parquet", "--schema", "bad.yaml", code=ERROR, says="bad.yaml"),
    "validate-no-schema-option": bad("validate", "ref.parquet", code=USAGE, says="--schema"),
    "validate-missing-data": bad("validate", "nope.parquet", "--schema", "s.yaml", code=ERROR,
                                 says="no such file: nope.parquet"),
    # runs
    "runs-show-short-prefix": bad("runs", "show", "1", code=USAGE, says="at least 4 characters"),
    "runs-show-unknown": bad("runs", "show", "zzzzzzzz", code=ERROR, says="no run 'zzzzzzzz'"),
    "runs-export-unwritable": bad("runs", "export", "/proc/mlnb/runs.jsonl", code=ERROR, says="/proc/mlnb"),
    "runs-export-to-folder": bad("runs", "export", "folder", code=USAGE, says="folder"),
    "runs-export-readonly": bad("runs", "export", "{ro}/runs.jsonl", code=ERROR, says="read-only", where="readonly"),
    "runs-import-missing": bad("runs", "import", "nope.jsonl", code=ERROR, says="nope.jsonl"),
    "runs-import-not-json": bad("runs", "import", "bad.jsonl", code=USAGE, says="not JSON"),
    "runs-filter": bad("runs", "list", "--filter", "((((", code=USAGE, says="filter"),
    "runs-limit": bad("runs", "list", "--limit", "x", code=USAGE, says="--limit"),
    "run-outside-a-cell": bad("run", "x", code=USAGE, says="%%mlops run"),
    # data
    "data-show-unknown": bad("data", "show", "nope@1", code=ERROR, says="nope"),
    "data-show-malformed": bad("data", "show", "train@@", code=USAGE, says="train@@"),
    "data-checkout-unknown": bad("data", "checkout", "train@9", code=ERROR, says="train@9"),
    "data-add-missing": bad("data", "add", "nope.csv", code=ERROR, says="nope.csv"),
    "data-log-unknown": bad("data", "log", "nope", code=ERROR, says="nope"),
    "data-diff-unknown": bad("data", "diff", "train@1", "train@7", code=ERROR, says="train@7"),
    "data-outside": bad("data", "list", code=ERROR, says="mlnb init", where="outside"),
    # export
    "export-missing-notebook": bad("export", "nope.ipynb", code=ERROR, says="nope.ipynb"),
    "export-corrupt-notebook": bad("export", "bad.ipynb", code=ERROR, says="not a readable notebook"),
    "export-not-a-notebook": bad("export", "notes.txt", code=USAGE, says="not a notebook"),
    "export-no-notebook": bad("export", code=USAGE, says="pass the notebook"),
    "stage-outside-a-cell": bad("stage", "x", code=USAGE, says="%%mlops stage"),
    # top level
    "unknown-command": bad("frobnicate", code=USAGE, says="invalid choice"),
    "init-readonly": bad("init", "{ro}", code=ERROR, says="read-only", where="readonly"),
    "init-readonly-subfolder": bad("init", "{ro}/sub", code=ERROR, says="read-only", where="readonly"),
}


@pytest.fixture(scope="module")
def readonly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A read-only filesystem (root ignores permission bits, so a mode is not enough)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a read-only filesystem needs root (CI runs as root)")
    point = tmp_path_factory.mktemp("readonly")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(point)], check=True)
    yield point
    subprocess.run(["umount", "-l", str(point)], check=False)


def _argv(case: Bad, request: pytest.FixtureRequest) -> list[str]:
    if case.where != "readonly":
        return list(case.argv)
    ro = request.getfixturevalue("readonly")
    return [a.replace("{ro}", str(ro)) for a in case.argv]


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_with_its_exit_code(name, shared, tmp_path, request):
    case = CASES[name]
    argv = _argv(case, request)
    cwd = tmp_path if case.where == "outside" else shared
    before = snapshot(shared)
    line = assert_one_line_error(run_cli(*argv, cwd=cwd), case.code)
    assert case.says.lower() in line.lower(), line
    assert line.startswith("mlnb: error: "), line
    assert snapshot(shared) == before
    if case.where == "readonly":
        assert not any(request.getfixturevalue("readonly").iterdir())


REGISTRY_DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda good: b"",
    "not-sqlite": lambda good: b"these bytes are no database" * 100,
    "truncated": lambda good: good[:4096],
    "malformed": lambda good: good[:4096] + bytes(range(256)) * ((len(good) - 4096) // 256 + 1),
}


@pytest.mark.parametrize("damage", list(REGISTRY_DAMAGE))
@pytest.mark.parametrize("argv", [("runs", "list"), ("data", "list"), ("init",)], ids=" ".join)
def test_damaged_registry_is_named_never_recreated(damage, argv, shared):
    before = snapshot(shared)
    db = shared / ".mlnb" / "registry.db"
    checkpoint = sqlite3.connect(db)  # everything into the file itself: no WAL left to replay over the damage
    checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    checkpoint.close()
    aside = shared.parent / "registry.good"
    shutil.copyfile(db, aside)
    damaged = REGISTRY_DAMAGE[damage](aside.read_bytes())
    db.write_bytes(damaged)
    try:
        line = assert_one_line_error(run_cli(*argv, cwd=shared), ERROR)
        assert str(db) in line and ("restore" in line or "backup" in line), line
        assert db.read_bytes() == damaged  # neither recreated nor "repaired"
    finally:
        shutil.copyfile(aside, db)
    assert snapshot(shared) == before


def test_version_prints_the_package_version():
    import mlnb

    out = run_cli("--version", check=True)
    assert out.stdout.strip() == f"mlnb {mlnb.__version__}" and out.stderr == ""


def test_cell_verbs_are_not_listed_as_commands_and_help_shows_percent_signs():
    listed = run_cli("--help", check=True).stdout
    commands = listed.split("commands:", 1)[1]
    assert "\n    run " not in commands and "\n    stage " not in commands, commands
    assert "\n    drift " in commands
    stage = run_cli("stage", "--help", check=True).stdout
    assert "%%mlops stage NAME" in stage and "%%%%" not in stage, stage
    run = run_cli("run", "--help", check=True).stdout
    assert "%%mlops run NAME" in run and "%%%%" not in run, run
    from mlnb.cli import build_parser

    in_a_notebook = build_parser("%mlops").format_help().split("commands:", 1)[1]
    assert "\n    run " in in_a_notebook and "\n    stage " in in_a_notebook, in_a_notebook


#: rows shown through ``%mlops`` in a notebook too (the registry rows are left out: the kernel keeps
#: its registry connection open, which is the library's concern, not the magic's)
MAGIC_CASES = ["drift-corrupt-ref", "drift-truncated", "drift-html-no-folder", "drift-threshold-garbage",
               "drift-threshold-not-number", "infer-corrupt", "validate-corrupt", "validate-missing-schema",
               "runs-show-short-prefix", "runs-export-unwritable", "runs-export-to-folder", "data-show-unknown",
               "infer-output-is-folder", "drift-missing-file",
               "infer-output-unwritable"]  # the last one is an OSError: the magic shows it as the CLI does


def test_the_same_errors_are_one_line_in_a_notebook(shared, ipython, monkeypatch, capsys):
    monkeypatch.chdir(shared)
    for name in MAGIC_CASES:
        case = CASES[name]
        before = snapshot(shared)
        line = cell_error(ipython, "%mlops " + " ".join(case.argv), capsys)
        assert line.startswith("UsageError: %mlops") and case.says in line, (name, line)
        assert snapshot(shared) == before, name


def test_mixed_type_columns_are_checked_not_crashed(shared, tmp_path):
    """Columns holding values of several types (sets, arrays, mixed scalars) go through every check."""
    import numpy as np
    import pandas as pd

    import mlnb.checks

    frame = pd.DataFrame({
        "mixed": [1, "a", 2.5, None] * 25,
        "sets": [{1, 2}, {3}, {1, 2}, None] * 25,
        "arrays": [np.array([1, 2]), "a", np.array([3]), None] * 25,
        "dicts": [{"a": 1}, [1, 2], (3,), "x"] * 25,
    })
    schema = mlnb.checks.infer_schema(frame)
    assert schema.validate(frame).exit_code == 0
    other = frame.assign(arrays=[np.array([9, 9]), "b", "c", None] * 25)
    result = schema.validate(other)
    assert result.exit_code == 1 and "arrays" in str(result)
    report = mlnb.checks.drift(frame, frame)
    assert report.exit_code == 0 and {r["column"] for r in report.rows} == set(frame.columns)


@pytest.mark.parametrize("url, code, says", [
    ("nonsense", USAGE, "not a database URL"),
    ("sqlite:////nonexistent-folder/registry.db", ERROR, "cannot open the registry at sqlite:////nonexistent-folder"),
    ("postgresql://user:s3cret@127.0.0.1:1/db", ERROR, "cannot open the registry at postgresql://user:***@127.0.0.1:1/db"),
], ids=["unparseable", "sqlite-no-folder", "postgres-refused"])
def test_a_registry_url_that_does_not_open_is_one_line(url, code, says, shared):
    before = snapshot(shared)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLNB_REGISTRY_URL": url}
    proc = subprocess.run([sys.executable, "-m", "mlnb", "runs", "list"], cwd=shared, capture_output=True,
                          text=True, env=env)
    line = assert_one_line_error(proc, code)
    assert says in line and "s3cret" not in line, line
    assert snapshot(shared) == before


def test_a_damaged_registry_is_one_line_in_a_notebook(tmp_path, ipython, monkeypatch, capsys):
    root = tmp_path / "proj"
    root.mkdir()
    run_cli("init", cwd=root, check=True)
    db = root / ".mlnb" / "registry.db"
    db.write_bytes(b"")
    monkeypatch.chdir(root)
    line = cell_error(ipython, "%mlops runs list", capsys)
    assert line.startswith("UsageError: %mlops: the registry") and "0 bytes" in line and str(db) in line, line
    assert db.read_bytes() == b""
