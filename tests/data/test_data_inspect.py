"""A version's schema and first rows, and diffs that see category values (a renamed category)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sqlalchemy import update

import mlnb
from mlnb.data import _frames
from mlnb.errors import NotFound, UsageError
from mlnb.store import registry
from mlnb.store._schema import data_versions
from tests.conftest import run_cli
from tests.faults._harness import assert_one_line_error


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"age": [20, 30, None, 50], "plan": ["basic", "pro", "team", "team"],
                         "city": ["a", "b", "c", "d"]})


def _changes(a: str, b: str) -> list[tuple[str, str, object, object]]:
    return [(r["change"], r["column"], r["before"], r["after"]) for r in mlnb.data.diff(a, b).to_dict()]


def test_renamed_category_is_a_change(project):
    df = _frame()
    mlnb.data.save(df, "customers")
    mlnb.data.save(df.assign(plan=df["plan"].replace({"team": "business"})), "customers")
    changes = _changes("customers@1", "customers@2")
    assert ("category removed", "plan", "team", None) in changes
    assert ("category added", "plan", None, "business") in changes
    assert not [c for c in changes if c[1] in ("age", "city")]


def test_diff_columns_types_and_rows(project):
    df = _frame()
    mlnb.data.save(df, "t")
    mlnb.data.save(pd.concat([df, df]).drop(columns="city").assign(age=lambda d: d["age"].astype(str), x=1), "t")
    changes = _changes("t@1", "t@2")
    assert ("rows", "", 4, 8) in changes
    assert [c[:2] for c in changes if c[0] == "column removed"] == [("column removed", "city")]
    assert ("column added", "x", None, "int64") in changes
    assert any(c[0] == "dtype" and c[1] == "age" and c[2] == "float64" for c in changes)


def test_many_distinct_values_still_tell_a_changed_set(project):
    ids = [f"id{i}" for i in range(_frames.MAX_CATEGORIES + 50)]
    mlnb.data.save(pd.DataFrame({"id": ids}), "big")
    mlnb.data.save(pd.DataFrame({"id": [*ids[:-1], "renamed"]}), "big")
    assert ("values", "id") in [c[:2] for c in _changes("big@1", "big@2")]
    summary = mlnb.data.resolve("big@1").summary["id"]
    assert "values" not in summary and len(summary["values_md5"]) == 32  # bounded summary


def test_version_registered_before_category_values_is_summarised_again(project):
    df = _frame()
    old = mlnb.data.save(df, "c")
    mlnb.data.save(df.assign(plan=df["plan"].replace({"pro": "premium"})), "c")
    stored = dict(old.summary)
    stored["plan"] = {k: v for k, v in stored["plan"].items() if k != "values"}  # as an older mlnb wrote it
    with registry(project).write() as conn:
        conn.execute(update(data_versions).where(data_versions.c.id == old.id).values(summary=json.dumps(stored)))
    assert ("category removed", "plan", "pro", None) in _changes("c@1", "c@2")


def test_schema_and_preview(project):
    mlnb.data.save(_frame(), "customers")
    schema = {r["column"]: r for r in mlnb.data.schema("customers").to_dict()}
    assert list(schema) == ["age", "plan", "city"]
    assert schema["age"]["nulls"] == 1 and schema["age"]["dtype"] == "float64" and schema["plan"]["distinct"] == 3
    rows = mlnb.data.preview("customers@1", rows=2).to_dict()
    assert rows == [{"age": 20.0, "plan": "basic", "city": "a"}, {"age": 30.0, "plan": "pro", "city": "b"}]
    assert mlnb.data.preview("customers", rows=10).to_dict()[2]["age"] is None  # NaN as null


def test_preview_reads_only_the_head(project):
    """Lines past the head are never parsed: a CSV broken after its first rows previews fine."""
    good = "a,b\n" + "".join(f"{i},x{i}\n" for i in range(20))
    (project.root / "raw.csv").write_text(good + 'oops,"never closed\n' + "1,2,3,4,5\n" * 10)
    mlnb.data.add("raw.csv")
    assert [r["a"] for r in mlnb.data.preview("raw", rows=5).to_dict()] == [0, 1, 2, 3, 4]
    with pytest.raises(Exception):  # noqa: B017 - the whole file is not readable
        mlnb.data.load("raw")


def test_schema_of_a_parquet_file_without_summary_comes_from_its_footer(project):
    _frame().to_parquet(project.root / "big.parquet")
    version = mlnb.data.add("big.parquet")
    with registry(project).write() as conn:  # as a file too large to summarise is registered
        conn.execute(update(data_versions).where(data_versions.c.id == version.id).values(summary=None))
    schema = {r["column"]: r for r in mlnb.data.schema("big").to_dict()}
    assert schema["age"]["nulls"] == 1 and schema["plan"]["dtype"] in ("string", "large_string")


def test_bad_input(project):
    mlnb.data.save(_frame(), "customers")
    (project.root / "folder").mkdir()
    (project.root / "folder" / "f.txt").write_text("x")
    mlnb.data.add("folder")
    with pytest.raises(NotFound):
        mlnb.data.preview("nope")
    with pytest.raises(UsageError, match="is not a table"):
        mlnb.data.preview("folder")
    with pytest.raises(UsageError, match="preview 1 to"):
        mlnb.data.preview("customers", rows=0)
    assert "no dataset named 'nope'" in assert_one_line_error(run_cli("data", "diff", "nope@1", "customers@1",
                                                                      cwd=project.root), 3)
    assert "is not a table" in assert_one_line_error(run_cli("data", "schema", "folder", cwd=project.root), 2)
    out = run_cli("data", "preview", "customers", "-n", "1", "--json", cwd=project.root, check=True)
    assert json.loads(out.stdout) == [{"age": 20.0, "plan": "basic", "city": "a"}]


def test_save_and_load_from_a_folder_of_the_project(project, monkeypatch):
    """A notebook in a folder of the project (the demo's notebooks/) saves where a notebook at the root would."""
    (project.root / "notebooks").mkdir()
    monkeypatch.chdir(project.root / "notebooks")
    version = mlnb.data.save(_frame(), "from-sub")
    assert version.path == "data/from-sub.parquet" and (project.root / "data" / "from-sub.parquet.dvc").is_file()
    assert mlnb.data.load("from-sub").shape == (4, 3)
