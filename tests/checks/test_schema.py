"""Schema inference, YAML round trip, validation of a messy frame, pandera export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlnb
from mlnb.errors import MlnbError, NotFound, UsageError, ValidationFailed


@pytest.fixture
def clean() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    return pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in range(n)],
        "age": rng.integers(18, 90, n),
        "income": np.round(rng.lognormal(10, 0.5, n), 2),
        "plan": pd.Categorical(rng.choice(["basic", "pro", "team"], n)),
        "country": rng.choice(["DE", "FR", "IT", "ES"], n),
        "churned": rng.random(n) < 0.2,
        "signup": pd.date_range("2023-01-01", periods=n, freq="D", tz="UTC"),
        "score": np.where(rng.random(n) < 0.1, np.nan, rng.random(n)),
        "comment": [f"note {i}" if i % 3 else None for i in range(n)],
    })


def test_inference(clean):
    schema = mlnb.checks.infer_schema(clean)
    c = schema.columns
    assert [c[k].dtype for k in clean.columns] == [
        "string", "int", "float", "category", "string", "bool", "datetime", "float", "string"]
    assert c["customer_id"].unique and c["customer_id"].allowed is None
    assert (c["age"].min, c["age"].max) == (clean["age"].min(), clean["age"].max())
    assert c["country"].allowed == ["DE", "ES", "FR", "IT"]  # plain strings get allowed values too
    assert c["plan"].allowed == ["basic", "pro", "team"]
    assert c["score"].nullable and not c["age"].nullable
    assert c["comment"].allowed is None  # high cardinality: free text
    assert schema.validate(clean).ok


def test_yaml_round_trip_is_readable(clean, tmp_path):
    schema = mlnb.checks.infer_schema(clean)
    path = schema.save(tmp_path / "schemas" / "train.yaml")
    text = path.read_text()
    assert text.startswith("# mlnb schema") and "country:" in text and "- DE" in text
    assert "!!python" not in text  # plain YAML, no Python tags
    again = mlnb.checks.load_schema(path)
    assert again.to_dict() == schema.to_dict()
    assert again.validate(clean).ok


def test_messy_frame_reports_every_failure(clean):
    schema = mlnb.checks.infer_schema(clean, strict=True)
    messy = clean.copy()
    messy["age"] = messy["age"].astype(object)
    messy.loc[[3, 4], "age"] = ["n/a", "forty"]          # unreadable numbers
    messy.loc[5, "age"] = 250                             # out of range
    messy.loc[[6, 7, 8], "country"] = ["UK", "UK", None]  # unseen and null
    messy.loc[9, "customer_id"] = messy.loc[10, "customer_id"]  # duplicate id
    messy.loc[11, "signup"] = pd.Timestamp("2030-01-01", tz="UTC")
    messy = messy.drop(columns="churned").assign(extra=1)
    messy["income"] = messy["income"].astype(str)         # whole column of strings: still read as numbers
    result = mlnb.checks.load_schema(_save(schema)).validate(messy)
    failed = {(r["column"], r["check"]): r["failures"] for r in result.failed_checks}
    assert failed == {
        ("customer_id", "unique"): 2, ("age", "dtype"): 2, ("age", "max"): 1,
        ("country", "not_null"): 1, ("country", "allowed"): 2, ("churned", "column_present"): 1,
        ("signup", "max"): 1, ("extra", "no_extra_columns"): 1,
    }
    f = result.failures
    assert list(f.columns) == ["column", "check", "failure_case", "index"]
    assert set(f[(f.column == "age") & (f.check == "dtype")]["index"]) == {3, 4}
    assert f[(f.column == "country") & (f.check == "allowed")]["failure_case"].tolist() == ["UK", "UK"]
    assert f[f.check == "column_present"]["index"].isna().all()
    assert result.exit_code == 1 and "FAILED" in str(result) and "#fde0dd" in result._repr_html_()
    with pytest.raises(ValidationFailed, match="age:dtype"):
        result.raise_for_failures()


def _save(schema, _n=[0]):
    import tempfile
    from pathlib import Path

    _n[0] += 1
    return schema.save(Path(tempfile.mkdtemp()) / f"s{_n[0]}.yaml")


def test_counts_all_failures_but_caps_examples():
    df = pd.DataFrame({"x": np.arange(1000)})
    schema = mlnb.checks.infer_schema(df)
    bad = pd.DataFrame({"x": np.arange(1000) + 5000})
    result = schema.validate(bad, max_examples=10)
    assert result.n_failures == 1000 * 1  # every value is above max ...
    assert len(result.failures) == 10     # ... but only 10 examples are kept
    assert result.to_dict()["n_failures"] == 1000


def test_dtype_mismatch_is_a_failure_not_a_crash():
    schema = mlnb.checks.infer_schema(pd.DataFrame({"when": pd.date_range("2024-01-01", periods=3), "n": [1, 2, 3]}))
    result = schema.validate(pd.DataFrame({"when": [1.5, 2.5, 3.5], "n": [1.5, 2.0, None]}))
    failed = {(r["column"], r["check"]) for r in result.failed_checks}
    assert failed == {("when", "dtype"), ("n", "dtype"), ("n", "not_null")}


@pytest.mark.parametrize("text, message", [
    ("columns: [a, b]", "needs a 'columns:' mapping"),
    ("columns:\n  a: {nullable: true}", "needs at least 'dtype:'"),
    ("columns:\n  a: {dtype: decimal}", "unknown dtype 'decimal'"),
    ("columns:\n  a: {dtype: int, minimum: 3}", "unknown key"),
])
def test_bad_schema_files(tmp_path, text, message):
    p = tmp_path / "s.yaml"
    p.write_text(text)
    with pytest.raises(UsageError, match=message):
        mlnb.checks.load_schema(p)


def test_schema_file_that_is_not_yaml_is_an_error_not_usage(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("columns: {a: [")
    with pytest.raises(MlnbError, match="not valid YAML") as damaged:
        mlnb.checks.load_schema(p)
    assert damaged.value.exit_code == 3


def test_missing_schema_file_says_how_to_make_one(tmp_path):
    with pytest.raises(NotFound, match="mlnb schema infer"):  # a missing file: exit 3
        mlnb.checks.load_schema(tmp_path / "nope.yaml")


def test_empty_frame_cannot_be_inferred():
    with pytest.raises(UsageError, match="no rows"):
        mlnb.checks.infer_schema(pd.DataFrame({"a": []}))


def test_to_pandera_agrees(clean):
    pandera = pytest.importorskip("pandera.pandas")
    schema = mlnb.checks.infer_schema(clean.drop(columns=["signup"]))
    ps = schema.to_pandera()
    assert isinstance(ps, pandera.DataFrameSchema)
    ps.validate(clean.drop(columns=["signup"]))
    bad = clean.drop(columns=["signup"]).copy()
    bad.loc[0, "age"] = 500
    bad.loc[1, "country"] = "UK"
    with pytest.raises(pandera.errors.SchemaErrors) as err:
        ps.validate(bad, lazy=True)
    cases = err.value.failure_cases
    assert set(cases["column"]) == {"age", "country"}
    assert schema.validate(bad).n_failures == len(cases)


def _messy_parquet(clean, root):
    """``clean`` written as parquet, and a messy copy (as a folder of two files) that parquet can hold."""
    clean.to_parquet(root / "clean.parquet", row_group_size=64)
    messy = clean.drop(columns="churned").assign(extra=1)
    messy["age"] = messy["age"].astype(str)
    messy.loc[[3, 250], "age"] = ["n/a", "forty"]             # unreadable numbers, in two files
    messy.loc[5, "age"] = "250"                               # out of range
    messy.loc[[6, 7, 300], "country"] = ["UK", "UK", None]    # unseen and null
    messy.loc[390, "customer_id"] = messy.loc[9, "customer_id"]  # a duplicate id far apart
    messy.loc[[11, 12], "customer_id"] = ["X", "X"]              # and a duplicate within a batch
    messy.loc[[10, 11], "signup"] = pd.Timestamp("2030-01-01", tz="UTC")
    (root / "messy").mkdir()
    messy.iloc[:200].to_parquet(root / "messy" / "a.parquet", row_group_size=64)
    messy.iloc[200:].to_parquet(root / "messy" / "b.parquet", row_group_size=64)
    return pd.read_parquet(root / "clean.parquet"), messy


@pytest.mark.parametrize("strict", [False, True])
def test_parquet_is_inferred_and_validated_in_batches_as_in_memory(clean, tmp_path, strict):
    from mlnb.checks._stream_schema import infer_parquet, validate_parquet

    read_back, messy = _messy_parquet(clean, tmp_path)
    streamed = infer_parquet(tmp_path / "clean.parquet", strict=strict, batch_size=50)
    assert streamed.to_dict() == mlnb.checks.infer_schema(read_back, strict=strict).to_dict()
    assert mlnb.checks.infer_schema(tmp_path / "clean.parquet", strict=strict).to_dict() == streamed.to_dict()
    assert streamed.columns["customer_id"].unique and streamed.columns["country"].allowed == ["DE", "ES", "FR", "IT"]
    for max_examples in (100, 1):
        got = validate_parquet(streamed, tmp_path / "messy", max_examples, batch_size=50)
        want = streamed.validate(messy.reset_index(drop=True), max_examples)
        assert got.summary == want.summary
        assert got.failures.equals(want.failures)
    assert {(r["column"], r["check"]): r["failures"] for r in got.failed_checks} == {
        ("customer_id", "unique"): 4, ("age", "dtype"): 2, ("age", "max"): 1, ("country", "not_null"): 1,
        ("country", "allowed"): 2, ("churned", "column_present"): 1, ("signup", "max"): 2,
        **({("extra", "no_extra_columns"): 1} if strict else {})}
    assert streamed.validate(str(tmp_path / "messy")).summary == got.summary  # the public entry point


def test_cli_streams_parquet_for_schema_and_validate(clean, tmp_path):
    from tests.conftest import run_cli

    _messy_parquet(clean, tmp_path)
    out = tmp_path / "s.yaml"
    proc = run_cli("schema", "infer", str(tmp_path / "clean.parquet"), "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("validate", str(tmp_path / "messy"), "--schema", str(out), "--json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    import json

    assert json.loads(proc.stdout)["n_failures"] == 4 + 2 + 1 + 1 + 2 + 1 + 2
