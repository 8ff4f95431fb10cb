"""`mlnb schema infer` / `validate` / `drift` through the real CLI, and `%mlops` in a real IPython shell."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import cell_error, run_cli


def _frames(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({"age": rng.integers(18, 80, n), "income": rng.normal(50, 10, n),
                        "city": rng.choice(["Berlin", "Paris", "Rome"], n)})
    cur = ref.assign(income=rng.normal(58, 10, n))
    return ref, cur


@pytest.fixture
def files(tmp_path):
    ref, cur = _frames()
    ref.to_parquet(tmp_path / "ref.parquet")
    cur.to_csv(tmp_path / "cur.csv", index=False)
    bad = ref.head(50).astype({"city": object})
    bad.loc[0, "city"] = "Lyon"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    return tmp_path


def test_schema_infer_and_validate_exit_codes(files):
    out = run_cli("schema", "infer", "ref.parquet", "-o", "schemas/ref.yaml", cwd=files, check=True)
    assert "Wrote schema of 3 columns" in out.stdout
    assert "allowed:" in (files / "schemas/ref.yaml").read_text()
    ok = run_cli("validate", "ref.parquet", "--schema", "schemas/ref.yaml", cwd=files)
    assert ok.returncode == 0 and "Validation passed" in ok.stdout
    bad = run_cli("validate", "bad.csv", "--schema", "schemas/ref.yaml", "--json", cwd=files)
    assert bad.returncode == 1
    doc = json.loads(bad.stdout)
    assert doc["ok"] is False and doc["failures"] == [
        {"column": "city", "check": "allowed", "failure_case": "Lyon", "index": 0}]


def test_drift_exit_codes_json_and_html(files):
    same = run_cli("drift", "ref.parquet", "ref.parquet", cwd=files)
    assert same.returncode == 0 and "No dataset drift" in same.stdout
    moved = run_cli("drift", "ref.parquet", "cur.csv", "--json", "--html", "report.html", cwd=files)
    assert moved.returncode == 1, moved.stderr
    doc = json.loads(moved.stdout)
    assert doc["drifted"] == ["income"]
    assert "vegaEmbed" in (files / "report.html").read_text()
    only = run_cli("drift", "ref.parquet", "cur.csv", "--columns", "age,city", cwd=files)
    assert only.returncode == 0 and "income" not in only.stdout
    loose = run_cli("drift", "ref.parquet", "cur.csv", "--threshold", "income=2", cwd=files)
    assert loose.returncode == 0
    import mlnb

    mlnb.checks.profile(files / "ref.parquet").save(files / "ref-profile.npz")
    saved = run_cli("drift", "ref-profile.npz", "cur.csv", "--json", cwd=files)
    assert saved.returncode == 1 and json.loads(saved.stdout)["drifted"] == ["income"]


def test_cli_errors_are_one_line(files):
    for args in (("drift", "ref.parquet", "nope.parquet"), ("validate", "ref.parquet", "--schema", "nope.yaml"),
                 ("drift", "ref.parquet", "cur.csv", "--columns", "zzz")):
        proc = run_cli(*args, cwd=files)
        assert proc.returncode != 0 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    ref_outside = run_cli("drift", "train@1", "cur.csv", cwd=files)
    assert ref_outside.returncode == 3 and "mlnb init" in ref_outside.stderr


def test_dataset_references_in_a_project(project):
    import mlnb

    ref, cur = _frames(seed=1)
    mlnb.data.save(ref, "customers")
    mlnb.data.save(cur, "customers")
    proc = run_cli("drift", "customers@1", "customers@2", "--json", cwd=project.root)
    assert proc.returncode == 1 and json.loads(proc.stdout)["drifted"] == ["income"]
    run_cli("schema", "infer", "customers@1", "-o", "schemas/customers.yaml", cwd=project.root, check=True)
    assert run_cli("validate", "customers@latest", "--schema", "schemas/customers.yaml", cwd=project.root).returncode == 1


def test_magic_uses_notebook_variables(files, monkeypatch, ipython, capsys):
    from IPython.utils.capture import capture_output

    monkeypatch.chdir(files)
    shell = ipython
    ref, cur = _frames(seed=2)
    shell.user_ns.update(train=ref, new_batch=cur, not_a_frame=3)
    with capture_output() as cap:
        shell.run_line_magic("mlops", "schema infer train -o s.yaml")
        shell.run_line_magic("mlops", "validate new_batch --schema s.yaml")
        shell.run_line_magic("mlops", "drift train new_batch --columns income,city")
    html = "\n".join(o.data.get("text/html", "") for o in cap.outputs)
    assert "Validation FAILED" in html  # income moved outside the inferred range
    assert "DRIFT DETECTED" in html
    assert any("application/vnd.vegalite.v6+json" in o.data for o in cap.outputs)
    err = cell_error(shell, "%mlops validate not_a_frame --schema s.yaml", capsys)
    assert "not a DataFrame" in err
