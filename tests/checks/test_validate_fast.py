"""The CLI's pandas-free validate path (mlnb/checks/_validate_fast.py) against the pandas path.

Every file here is built so that pyarrow's and pandas' readers could disagree; wherever the fast
path answers, its result (summary, JSON, text) must equal the pandas path's, and it must answer
for the plain files CI validates.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mlnb.checks._inputs import resolve_source
from mlnb.checks._validate_fast import PANDAS_NA, validate_fast
from mlnb.checks.schema import ColumnSchema, Schema, infer_schema
from tests.conftest import run_cli


def pandas_path(schema: Schema, path) -> object:
    """What `mlnb validate` answers without the fast path."""
    return schema.validate(resolve_source(str(path), prefer_path=True))


def same_or_none(schema: Schema, path) -> bool:
    """True when the fast path answered (and then equals the pandas path); False when it declined."""
    fast = validate_fast(schema, str(path))
    if fast is None:
        return False
    slow = pandas_path(schema, path)
    assert slow.ok, f"the fast path passed what pandas fails on {path}: {slow}"
    assert fast.to_dict() == slow.to_dict() and str(fast) == str(slow) and fast.exit_code == slow.exit_code
    return True


def test_missing_words_are_pandas_own():
    from pandas._libs.parsers import STR_NA_VALUES

    assert set(PANDAS_NA) == set(STR_NA_VALUES)


CSVS = {  # name -> CSV text; the schema is inferred by pandas, then each is also checked with hand schemas
    "plain": "a,b,c,d\n" + "".join(f"{i},{i * 0.25},{'xy'[i % 2]},{'True' if i % 3 else 'false'}\n" for i in range(300)),
    "int_nulls": "a,b\n1,x\n,y\nNA,x\nNone,y\n5,x\n",
    "none_word_in_text": "a\nfoo\nNone\nbar\n<NA>\n",
    "spaces_around_numbers": "a,b\n 1,x\n2 ,y\n 3 ,x\n",
    "upper_nan": "a\n1.5\nNAN\n2.5\n",
    "infinities": "a\n1.5\ninf\n-inf\n",
    "huge_ints": "a\n18446744073709551615\n1\n",
    "bool_words": "a,b\ntrue,TRUE\nFalse,false\nTRUE,True\n",
    "bool_with_null": "a\nTrue\n\nFalse\n",
    "numbers_as_text": "a\n1_000\n2_000\n",
    "quoted_newline": 'a,b\n1,"two\nlines"\n2,x\n',
    "duplicate_header": "a,a\n1,2\n3,4\n",
    "empty_header": ",b\n1,2\n3,4\n",
    "header_only": "a,b\n",
    "quoted_numbers": 'a,b\n"1","x"\n"2","y"\n',
    "dates": "a\n2024-01-01\n2024-02-03\n",
    "mixed_text": "a\n1\nx\n2.5\n",
    "duplicates": "a,b\n1,x\n1,x\n2,y\n",
    "plus_signs": "a\n+1\n+2\n",
    "overflow": "a\n1e400\n1.5\n",
    "float_digits": "a\n" + "".join(f"{v!r}\n" for v in np.random.default_rng(1).normal(0, 1e3, 2000)),
    "float_17g": "a\n" + "".join(f"{v:.17g}\n" for v in np.random.default_rng(2).lognormal(0, 5, 2000)),
}

HAND = [  # schemas written by hand: every dtype against every file, bounds, allowed, unique, strict
    Schema({"a": ColumnSchema("int")}),
    Schema({"a": ColumnSchema("float", nullable=False, min=0, max=1e6)}),
    Schema({"a": ColumnSchema("string", allowed=["x", "y", "foo", "bar"])}),
    Schema({"a": ColumnSchema("bool", nullable=False)}),
    Schema({"a": ColumnSchema("object")}),
    Schema({"a": ColumnSchema("int", unique=True)}),
    Schema({"a": ColumnSchema("string", unique=True)}),
    Schema({"a": ColumnSchema("float")}, strict=True),
    Schema({"a": ColumnSchema("datetime", min="2024-01-01")}),
]


@pytest.mark.parametrize("name", sorted(CSVS))
def test_csv_fast_path_equals_pandas_path(tmp_path, name):
    path = tmp_path / f"{name}.csv"
    path.write_text(CSVS[name])
    schemas = list(HAND)
    try:
        schemas.append(infer_schema(pd.read_csv(path)))
    except Exception:  # noqa: BLE001 - files pandas cannot infer from (no rows) are checked with the hand schemas
        pass
    answered = [same_or_none(s, path) for s in schemas]
    if name in ("plain", "int_nulls", "float_digits", "float_17g", "bool_words", "quoted_numbers", "mixed_text"):
        assert answered[-1], f"the fast path declined the schema pandas inferred from {name}"


def test_parquet_fast_path_equals_pandas_path(tmp_path):
    n = 500
    rng = np.random.default_rng(0)
    frames = {
        "plain": pd.DataFrame({"i": np.arange(n), "f": rng.normal(size=n), "s": rng.choice(["a", "b"], n),
                               "b": rng.random(n) > 0.5, "i32": np.arange(n, dtype="int32"),
                               "f32": rng.normal(size=n).astype("float32")}),
        "nullable": pd.DataFrame({"i": pd.array([1, None] * (n // 2), dtype="Int64"),
                                  "s": pd.array(["a", None] * (n // 2), dtype="string")}),
        "category": pd.DataFrame({"c": pd.Categorical(rng.choice(["a", "b"], n))}),
        "dates": pd.DataFrame({"t": pd.date_range("2024-01-01", periods=n, freq="h")}),
        "nan_floats": pd.DataFrame({"f": [1.0, np.nan] * (n // 2)}),
        "object_bool_null": pd.DataFrame({"b": pd.Series([True, None] * (n // 2), dtype=object)}),
    }
    answered = {}
    for name, frame in frames.items():
        path = tmp_path / f"{name}.parquet"
        frame.to_parquet(path)
        schemas = [infer_schema(frame), *(Schema({c: ColumnSchema(d)}) for c in frame.columns
                                          for d in ("int", "float", "string", "bool", "category"))]
        answered[name] = [same_or_none(s, path) for s in schemas]
    assert answered["plain"][0] and answered["nan_floats"][0]
    import pyarrow as pa
    import pyarrow.parquet as pq

    bare = tmp_path / "bare.parquet"  # written by Arrow, no pandas metadata: ints with nulls
    pq.write_table(pa.table({"i": pa.array([1, None, 3]), "s": pa.array(["x", None, "y"])}), bare)
    assert same_or_none(infer_schema(pd.read_parquet(bare)), bare)


def test_failing_file_gets_the_pandas_answer_and_exit_code(tmp_path):
    (tmp_path / "train.csv").write_text("a,b\n" + "".join(f"{i},{'xy'[i % 2]}\n" for i in range(100)))
    (tmp_path / "new.csv").write_text("a,b\n1,x\n-5,z\n1,y\n")
    run_cli("schema", "infer", "train.csv", "-o", "schema.yaml", cwd=tmp_path, check=True)
    schema_path = tmp_path / "schema.yaml"
    from mlnb.checks.schema import load_schema

    assert validate_fast(load_schema(schema_path), str(tmp_path / "new.csv")) is None
    out = run_cli("validate", "new.csv", "--schema", "schema.yaml", "--json", cwd=tmp_path)
    assert out.returncode == 1
    assert json.loads(out.stdout) == pandas_path(load_schema(schema_path), tmp_path / "new.csv").to_dict()
    assert run_cli("validate", "missing.csv", "--schema", "schema.yaml", cwd=tmp_path).returncode == 3


def test_cli_validate_of_a_passing_small_file_never_imports_pandas(tmp_path):
    (tmp_path / "train.csv").write_text("a,b\n" + "".join(f"{i},{'xy'[i % 2]}\n" for i in range(100)))
    run_cli("schema", "infer", "train.csv", "-o", "schema.yaml", cwd=tmp_path, check=True)
    code = ("import sys; from mlnb.cli import main; rc = main(['validate', 'train.csv', '--schema', 'schema.yaml']);"
            "print('pandas imported' if 'pandas' in sys.modules else 'no pandas', rc)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "no pandas 0"
    assert "Validation passed: 8 checks on 100 rows" in out.stdout
