"""Def/use analysis of cells and the translation of IPython syntax."""

from __future__ import annotations

import pytest

from mlnb.errors import UsageError
from mlnb.export.cells import translate
from mlnb.export.defuse import analyze


def test_uses_are_reads_before_binding_in_evaluation_order() -> None:
    f = analyze("x = x + 1\ny = 2\nz = y * w\nfor i in range(n):\n    total += i")
    assert f.uses == ["x", "w", "range", "n", "total"]
    assert f.defs == {"x", "y", "z", "i", "total"}


def test_augmented_assignment_reads_and_binds() -> None:
    f = analyze("count += 1")
    assert f.uses == ["count"] and f.defs == {"count"}


def test_comprehension_variables_stay_inside_and_free_names_leak() -> None:
    f = analyze("ys = [v * k for v in vals if v > lo]\nd = {a: b for a, b in pairs}\ng = sum(q for q in qs)")
    assert set(f.uses) == {"k", "vals", "lo", "pairs", "sum", "qs"}
    assert "v" not in f.defs and "a" not in f.defs and "q" not in f.defs


def test_functions_read_globals_when_called_not_when_defined() -> None:
    f = analyze(
        "def helper(a, b=default):\n"
        "    global counter\n"
        "    counter += 1\n"
        "    local = a * scale\n"
        "    results.append(local)\n"
        "    return [local + t for t in range(limit)]\n"
    )
    assert f.uses == ["default"]  # defaults are evaluated at definition
    fn = f.functions["helper"]
    assert fn.reads == {"counter", "scale", "results", "range", "limit"}
    assert fn.writes == {"counter", "results"}
    assert f.defs == {"helper"}


def test_classes_and_lambdas() -> None:
    f = analyze("class Model(Base):\n    size = width\n    def run(self):\n        return other\nsq = lambda t: t * factor")
    assert f.uses == ["Base", "factor"]
    assert f.functions["Model"].reads == {"width", "other"}
    assert f.defs == {"Model", "sq"}


def test_imports_are_bound_and_remembered_one_name_each() -> None:
    f = analyze("import numpy as np, os.path\nfrom sklearn.linear_model import Ridge as R")
    assert f.defs == {"np", "os", "R"}
    assert f.imports == {"np": "import numpy as np", "os": "import os.path",
                         "R": "from sklearn.linear_model import Ridge as R"}


def test_star_import_is_flagged() -> None:
    assert analyze("from math import *").star_import == "math"


def test_del_removes_a_name() -> None:
    f = analyze("del tmp\ndel frame['col']")
    assert f.deleted == {"tmp"} and f.mutated == {"frame"}


@pytest.mark.parametrize(
    ("code", "mutated"),
    [
        ("df.drop(columns=['a'], inplace=True)", {"df"}),
        ("df['c'] = 1", {"df"}),
        ("df.loc[0, 'c'] = 1", {"df"}),
        ("model.coef_ = None", {"model"}),
        ("model.fit(X, y)", {"model"}),
        ("rows.append(1)", {"rows"}),
        ("frame[0] += 1", {"frame"}),
        ("preds = model.predict(X)", set()),
        ("print(df.head(), df.describe(), df.shape)", set()),
        ("df.to_csv('out.csv')", set()),
        ("import numpy as np\nnp.random.seed(0)", set()),
        ("fitted = Ridge().fit(X, y)", set()),
    ],
)
def test_in_place_mutation_counts_as_redefinition(code: str, mutated: set[str]) -> None:
    assert analyze(code).mutated == mutated


def test_string_literal_paths_become_file_reads_and_writes() -> None:
    f = analyze(
        "a = pd.read_csv('data/in.csv')\n"
        "b = pd.read_parquet(path='data/in.parquet')\n"
        "a.to_parquet('data/out.parquet')\n"
        "joblib.dump(m, 'models/m.joblib')\n"
        "m2 = joblib.load('models/old.joblib')\n"
        "np.save('arr.npy', x)\n"
        "with open('notes.txt') as fh, open('report.txt', 'w') as out:\n    pass\n"
        "raw = mlnb.data.load('raw@2')\n"
        "dynamic = pd.read_csv(name)\n"
    )
    assert f.reads_files == ["data/in.csv", "data/in.parquet", "models/old.joblib", "notes.txt"]
    assert f.writes_files == ["data/out.parquet", "models/m.joblib", "arr.npy", "report.txt"]
    assert f.datasets == ["raw@2"]


def test_magics_become_plain_python_or_are_refused() -> None:
    code = translate("%matplotlib inline\nx = %mlops data list\n%mlops data add 'a b.csv' --name t\ny = 1", "cell 1")
    assert "get_ipython" not in code
    assert "x = _mlnb_export.mlops('data list')" in code
    assert "_mlnb_export.mlops(\"data add 'a b.csv' --name t\")" in code
    compile(code, "cell", "exec")
    with pytest.raises(UsageError, match=r"cell 3: the shell command !ls .*subprocess"):
        translate("!ls", "cell 3")
    with pytest.raises(UsageError, match=r"cell 4: the %timeit magic"):
        translate("%timeit f()", "cell 4")
    with pytest.raises(UsageError, match="cell 5: syntax error on line 1"):
        translate("def (:", "cell 5")


def test_run_cells_start_the_same_run_in_the_script(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mlnb.export.cells import read_notebook
    from tests.export.shapes import write_notebook

    nb = write_notebook(tmp_path / "nb.ipynb", ["%%time\nx = 1", "%%mlops run fit --param lr=0.1 --tag t\ny = x\nz = '''a\nb'''"])
    first, second = read_notebook(nb).cells
    assert first.code == "x = 1\n"
    assert second.code == "with _mlnb_export.run('fit --param lr=0.1 --tag t'):\n    y = x\n    z = '''a\nb'''\n"
