"""Helpers defined anywhere, and mutation through loop variables and aliases (issue 12, items 1-2).

Each notebook runs in a real kernel, is exported, and runs under a real `dvc repro` in a clean copy
(`--check`); the pipeline's metrics must equal the notebook's own.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import mlnb
from mlnb.errors import UsageError
from mlnb.export import export
from tests.export.shapes import SETUP, dvc, execute, write_notebook
from tests.export.test_export_roundtrip import _assert_reproduced

#: helpers defined inside stages and used by later ones: a default, a decorator, a nested function
#: reading a parameter, a class whose base comes from another stage, an instance of it crossing
#: stages, and `score` redefined: each stage sees the version the notebook used at that point.
HELPERS = [
    SETUP + "\nimport functools",
    ("scale = 2.0", ["parameters"]),
    "%%mlops stage prepare\n"
    "def clip(v, lo=0.0):\n    return np.clip(v, lo, None)\n\n"
    "@functools.lru_cache(maxsize=None)\ndef weight(k):\n    def inner(j):\n        return j * scale\n"
    "    return inner(k) + 1\n\n"
    "class Scaler:\n    def __init__(self, f):\n        self.f = f\n    def apply(self, v):\n"
    "        return clip(v) * self.f\n\n"
    "data = np.linspace(-1, 1, 21)\nmlnb.log_metric('prep_sum', float(clip(data).sum()))",
    "%%mlops stage train\n"
    "class DoubleScaler(Scaler):\n    def apply(self, v):\n        return 2 * super().apply(v)\n\n"
    "s = DoubleScaler(weight(3))\nmlnb.log_metric('train_total', float(s.apply(data).sum()))\n"
    "def score(v):\n    return float(np.mean(v))\nmlnb.log_metric('score_v1', score(data))",
    "%%mlops stage early\nmlnb.log_metric('early_score', score(data + 1))",
    "%%mlops stage tune\ndef score(v):\n    return float(np.max(v))",
    "%%mlops stage report\nmlnb.log_metric('report_score', score(data))\n"
    "mlnb.log_metric('report_scaled', float(s.apply(data).sum()))\nmlnb.log_metric('report_w', weight(2))",
]

_LOOP_SETUP = (SETUP + "\nfrom sklearn.datasets import make_classification\n"
               "from sklearn.linear_model import LogisticRegression\nfrom sklearn.tree import DecisionTreeClassifier\n"
               "from sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler\n"
               "def fit_all(ms, X, y):\n    for m in ms:\n        m.fit(X, y)")
#: containers of models built in one stage and fitted in the next through every pattern of item 2;
#: `evaluate` reads each: an unfitted copy would raise NotFittedError or give other numbers.
LOOPS = [
    _LOOP_SETUP,
    "%%mlops stage data\nX, y = make_classification(n_samples=120, n_features=5, random_state=0)\n"
    "print(X.shape)",
    "%%mlops stage build\n"
    "models = {'lr': LogisticRegression(max_iter=500), 'tree': DecisionTreeClassifier(max_depth=2, random_state=0)}\n"
    "pipes = [make_pipeline(StandardScaler(), LogisticRegression(C=0.1))]\n"
    "extra = [DecisionTreeClassifier(max_depth=1, random_state=0)]\n"
    "more = {'a': LogisticRegression(C=0.5, max_iter=500)}\n"
    "chain = make_pipeline(StandardScaler())\n"
    "zipped = [DecisionTreeClassifier(max_depth=3, random_state=1)]\n"
    "by_fn = [LogisticRegression(C=2.0, max_iter=500)]\n"
    "by_value = {'v': DecisionTreeClassifier(max_depth=4, random_state=2)}\n"
    "bag = {'k': []}\n"
    "untouched = {'n': 3}",
    "%%mlops stage fit\n"
    "for name, model in models.items():\n    model.fit(X, y)\n"
    "for i, p in enumerate(pipes):\n    p.fit(X, y)\n"
    "_ = [m.fit(X, y) for m in extra]\n"
    "m = more['a']\nm.fit(X, y)\n"
    "chain.steps[0][1].fit(X)\n"
    "for mm, (a, b) in zip(zipped, [(X, y)]):\n    mm.fit(a, b)\n"
    "fit_all(by_fn, X, y)\n"
    "for mdl in by_value.values():\n    mdl.fit(X, y)\n"
    "bag['k'].append(len(X))\n"
    "print(untouched['n'], models['lr'].predict(X[:2]), X.shape)",
    "%%mlops stage evaluate\n"
    "for name, model in sorted(models.items()):\n    mlnb.log_metric(f'acc_{name}', model.score(X, y))\n"
    "mlnb.log_metric('acc_pipe', pipes[0].score(X, y))\n"
    "mlnb.log_metric('acc_extra', extra[0].score(X, y))\n"
    "mlnb.log_metric('acc_more', more['a'].score(X, y))\n"
    "mlnb.log_metric('chain_mean', float(chain.transform(X).mean() + chain.steps[0][1].mean_.sum()))\n"
    "mlnb.log_metric('acc_zipped', zipped[0].score(X, y))\n"
    "mlnb.log_metric('acc_by_fn', by_fn[0].score(X, y))\n"
    "mlnb.log_metric('acc_by_value', by_value['v'].score(X, y))\n"
    "mlnb.log_metric('bag', bag['k'][0] + untouched['n'])",
]


def _stages(root: Path) -> dict:
    return yaml.safe_load((root / "pipeline" / "dvc.yaml").read_text())["stages"]


def test_helpers_defined_in_stages_reach_later_stages(project) -> None:  # type: ignore[no-untyped-def]
    nb = write_notebook(project.root / "helpers.ipynb", HELPERS)
    execute(nb)

    result = export(nb, "pipeline", check=True)

    _assert_reproduced(result, {"prep_sum", "train_total", "score_v1", "early_score", "report_score",
                                "report_scaled", "report_w"})
    by_name = {r["metric"]: r["notebook"] for r in result.rows}
    assert by_name["early_score"] == pytest.approx(1.0)  # mean of data + 1: the first `score`
    assert by_name["report_score"] == pytest.approx(1.0)  # max of data: the redefined `score`
    assert by_name["report_w"] == 5.0  # 2 * scale + 1, the parameter read inside a nested function
    pipeline = project.root / "pipeline"
    early, report = (pipeline / "early.py").read_text(), (pipeline / "report.py").read_text()
    assert "return float(np.mean(v))" in early and "np.max" not in early
    assert "return float(np.max(v))" in report and "np.mean" not in report
    # the class of a value read from another stage is defined before the value is read
    assert report.index("class DoubleScaler(Scaler)") < report.index("s = _mlnb_export.read_var")
    assert "@functools.lru_cache(maxsize=None)" in report and "import functools" in report
    stages = _stages(project.root)
    # a copied definition is part of the script, so editing it reruns the stages using it
    assert stages["report"]["deps"] == sorted(["pipeline/report.py", "pipeline/vars/prepare/data",
                                               "pipeline/vars/train/s"])
    assert stages["report"]["params"] == [{"pipeline/params.yaml": ["scale"]}]


def test_models_fitted_through_loops_and_aliases_flow_to_later_stages(project) -> None:  # type: ignore[no-untyped-def]
    nb = write_notebook(project.root / "loops.ipynb", LOOPS)
    execute(nb)

    result = export(nb, "pipeline", check=True)

    _assert_reproduced(result, {"acc_lr", "acc_tree", "acc_pipe", "acc_extra", "acc_more", "chain_mean",
                                "acc_zipped", "acc_by_fn", "acc_by_value", "bag"}, known={"bag": 123.0})
    stages = _stages(project.root)
    evaluate = stages["evaluate"]["deps"]
    for name in ("models", "pipes", "extra", "more", "chain", "zipped", "by_fn", "by_value", "bag"):
        assert f"pipeline/vars/fit/{name}" in evaluate, name  # the fitted version, from `fit`
    assert "pipeline/vars/build/untouched" in evaluate  # only read in `fit`: still build's
    # read-only uses (`print(X.shape)`, `.predict`, `.score`) write no value files
    assert "outs" not in stages["evaluate"]
    assert sorted(stages["data"]["outs"]) == ["pipeline/vars/data/X", "pipeline/vars/data/y"]


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (["%%mlops stage a\nk = 3\ndef scale(v, by=k):\n    return v * by", "%%mlops stage b\nr = scale(2)"],
         r"cell 2 \(stage 'b'\): `scale` is defined in cell 1 \(stage 'a'\) with a definition line \(decorators, "
         r"defaults, bases\) that reads `k`, which stage 'a' computes, so stage 'b' cannot get a copy: read `k` "
         r"inside the body instead, or define `scale` in stage 'b'"),
        (["%%mlops stage a\nbase = dict\nclass Box(base):\n    pass", "%%mlops stage b\nr = Box()"],
         r"`Box` is defined in cell 1 \(stage 'a'\) with a definition line .* reads `base`, which stage 'a'"),
        (["K = 1", "%%mlops stage a\ndef f(v, k=K):\n    return v + k", "%%mlops stage b\nK = 2",
          "%%mlops stage c\nr = f(1)"],
         r"cell 4 \(stage 'c'\): `f` is defined in cell 2 \(stage 'a'\) with a definition line .* reads `K`, "
         r"which cell 3 \(stage 'b'\) changes after the definition"),
        (["%%mlops stage a\nif True:\n    def f(v):\n        return v", "%%mlops stage b\nr = f(1)"],
         r"cell 2 \(stage 'b'\): `f` is defined in cell 1 \(stage 'a'\) inside a block: define it at the top level"),
        (["%%mlops stage a\ndef f(v):\n    return v", "%%mlops stage b\nf.calls = 0", "%%mlops stage c\nr = f(1)"],
         r"cell 3 \(stage 'c'\): `f` is defined in cell 1 \(stage 'a'\) and changed in cell 2 \(stage 'b'\)"),
    ],
)
def test_a_definition_that_cannot_move_is_one_clear_error(tmp_path: Path, cells: list, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        export(write_notebook(tmp_path / "nb.ipynb", cells), tmp_path / "pipeline")
    assert not (tmp_path / "pipeline").exists()


def test_a_body_reading_a_stage_value_reads_it_like_a_setup_helper(tmp_path: Path) -> None:
    """Call-time reads are resolved where the function is called, as for setup helpers: no pin."""
    cells = ["import numpy as np", "%%mlops stage a\nw = np.arange(3)\ndef dot(v):\n    return float(w @ v)",
             "%%mlops stage b\nr = dot(np.ones(3))"]
    result = export(write_notebook(tmp_path / "nb.ipynb", cells), tmp_path / "p")
    a, b = result.plan.stages
    assert b.inputs == {"w": "a"} and a.outputs == ["w"]
    assert "def dot(v):" in (tmp_path / "p" / "b.py").read_text()
    # a global changed in two stages would make the function behave differently per script
    cells.insert(2, "%%mlops stage a2\nw.sort()")
    with pytest.raises(UsageError, match=r"cell 2 \(stage 'a'\): function `dot` reads the global `w`, which "
                                         r"changes between stages \(cell 2 \(stage 'a'\), cell 3 \(stage 'a2'\)\): "
                                         r"pass `w` to `dot` as an argument"):
        export(write_notebook(tmp_path / "nb2.ipynb", cells), tmp_path / "p2")


@pytest.mark.parametrize(
    ("code", "changed"),
    [
        ("for name, model in models.items():\n    model.fit(X, y)", {"models"}),
        ("for model in models.values():\n    model.fit(X, y)", {"models"}),
        ("for i, model in enumerate(models):\n    model.fit(X, y)", {"models"}),
        ("for model, (a, b) in zip(models, pairs):\n    model.fit(a, b)", {"models", "pairs"}),
        ("[m.fit(X, y) for m in models]", {"models"}),
        ("{k: m.fit(X, y) for k, m in models.items()}", {"models"}),
        ("m = models['lr']\nm.fit(X, y)", {"models"}),
        ("pipe.steps[0][1].fit(X)", {"pipe"}),
        ("d['k'].append(1)", {"d"}),
        ("fitted = model.fit(X, y)\nfitted.set_params(C=1)", {"model"}),
        ("n = 3\nm = Ridge(alpha=n)\nm.fit(X, y)", set()),
        ("rng.shuffle(rows)", {"rng", "rows"}),
        ("import random\nrandom.shuffle(rows)", {"rows"}),
        ("obj.anything_unknown()", {"obj"}),
        # read-only uses change nothing
        ("print(df.head(), df.describe(), x.shape)\np = model.predict(X)\ns = model.score(X, y)", set()),
        ("for col in df.columns:\n    print(col.upper(), df[col].mean())", set()),
        ("import numpy as np\nnp.random.seed(0)\narr = np.zeros(3)\nnp.random.seed(1)", set()),
    ],
)
def test_mutation_through_loops_comprehensions_aliases_and_chains(code: str, changed: set[str]) -> None:
    from mlnb.export.defuse import analyze

    facts = analyze(code)
    assert facts.mutated - facts.defs == changed


def test_aliases_and_parameter_mutation_across_cells(tmp_path: Path) -> None:
    cells = [
        "def fit_one(m, X):\n    m.fit(X)\ndef fit_via(m, X):\n    fit_one(m, X)\ndef show(m):\n    print(m)",
        "%%mlops stage a\nmodels = {'lr': object()}\nbest = models['lr']\nother = [1]\nX = [0]",
        "%%mlops stage b\nbest.fit(X)\nshow(other)",  # an alias bound in an earlier cell
        "%%mlops stage c\nfit_via(other, X)",  # a parameter changed by a function the function calls
        "%%mlops stage d\nprint(models, other)",
    ]
    result = export(write_notebook(tmp_path / "nb.ipynb", cells), tmp_path / "p")
    stages = {s.name: s for s in result.plan.stages}
    assert stages["d"].inputs == {"models": "b", "other": "c"}
    assert stages["b"].outputs == ["models"] and stages["c"].outputs == ["other"]
    assert stages["c"].inputs == {"X": "a", "other": "a"}  # `show` in b only reads `other`


# -- property: wherever helpers and stage markers sit, the pipeline computes what the notebook did ---

#: statements in notebook order; `defs` may sit anywhere before their first use
_DEFS = {
    "f1": "def f1(v):\n    return v + K",
    "f2": "def f2(v):\n    return f1(v) * 2",
    "Acc": "class Acc:\n    def __init__(self):\n        self.items = []\n    def add(self, v):\n"
           "        self.items.append(f2(v))\n        return self",
    "f3": "def f3(v, off=base):\n    return v + off",
}
_BODY = [  # (statement, the definitions it needs)
    ("a = f1(1)", {"f1"}),
    ("base = 10", set()),
    ("acc = Acc()\nfor v in [a, 2]:\n    acc.add(v)", {"Acc", "f2", "f1"}),
    ("b = f3(a)", {"f3"}),
    ("accs = {'x': acc}\nfor _, one in accs.items():\n    one.add(b)", set()),
    ("def f1(v):\n    return v - K", set()),  # redefinition: later calls see this one
    ("c = f2(sum(acc.items)) + f1(0)", {"f2"}),
    ("import json\nwith open('results.json', 'w') as fh:\n    json.dump({'a': a, 'b': b, 'c': c, "
     "'items': acc.items}, fh, sort_keys=True)", set()),
]


@st.composite
def _notebooks(draw):  # type: ignore[no-untyped-def]
    """Cells with each helper at a random place before its first use and random stage markers."""
    first_use = {name: min(i for i, (_, needs) in enumerate(_BODY) if name in needs) for name in _DEFS}
    slots: list[list[str]] = [[] for _ in _BODY]
    for name in _DEFS:  # f2 needs f1 only when called, Acc needs f2 only when called: any order works
        earliest = 2 if name == "f3" else 0  # f3's default reads `base` when the def runs
        slots[draw(st.integers(earliest, first_use[name]))].append(_DEFS[name])
    cells: list[str] = ["K = 5"]
    for i, (stmt, _) in enumerate(_BODY):
        cells += slots[i] + [stmt]
    starts = draw(st.lists(st.integers(1, len(cells) - 1), min_size=1, max_size=4, unique=True))
    out, stage = [], 0
    for i, code in enumerate(cells):
        if i in starts:
            stage += 1
            code = f"%%mlops stage s{stage}\n{code}"
        out.append(code)
    return out


def _run_as_notebook(cells: list[str], folder: Path) -> dict:
    """The notebook's own semantics: the cells one after another in one namespace."""
    namespace: dict = {}
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        for code in cells:
            exec(compile(code.split("\n", 1)[1] if code.startswith("%%") else code, "cell", "exec"), namespace)
        return json.loads(Path("results.json").read_text())
    finally:
        os.chdir(cwd)


@settings(max_examples=int(os.environ.get("MLNB_EXPORT_EXAMPLES", "3")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(cells=_notebooks())
def test_helpers_and_markers_anywhere_give_the_notebooks_results(project, cells: list[str]) -> None:  # type: ignore[no-untyped-def]
    folder = project.root / f"nb{len(list(project.root.glob('nb*')))}"
    folder.mkdir()
    expected = _run_as_notebook(cells, folder)
    (folder / "results.json").unlink()
    nb = write_notebook(folder / "nb.ipynb", cells)
    try:
        export(nb, folder / "pipeline")
    except UsageError as exc:  # the only refusal this family can meet: f3's default reads a stage's `base`
        assert "reads `base`, which stage" in str(exc), str(exc)
        event("refused: f3's default reads a stage's value")
        return
    first_stage = next(i for i, c in enumerate(cells) if c.startswith("%%"))
    in_setup = sum(c in _DEFS.values() for c in cells[:first_stage])
    event(f"ran: {sum(c.startswith('%%') for c in cells)} stages, {in_setup} helpers in setup")
    proc = dvc(project.root, "repro", str((folder / "pipeline" / "dvc.yaml").relative_to(project.root)))
    assert proc.returncode == 0, textwrap.shorten(proc.stderr + proc.stdout, 3000)
    assert json.loads((folder / "results.json").read_text()) == expected


def test_a_typical_training_notebook_writes_no_extra_values(tmp_path: Path) -> None:
    """Being conservative costs nothing on read-only uses: each value crosses from the stage that made it."""
    cells = [
        "import pandas as pd\nfrom sklearn.model_selection import train_test_split\n"
        "from sklearn.preprocessing import StandardScaler\nfrom sklearn.linear_model import LogisticRegression\n"
        "from sklearn.metrics import accuracy_score",
        ("seed = 0\nC = 1.0", ["parameters"]),
        "%%mlops stage prepare\ndf = pd.DataFrame({'a': range(20), 'target': [i % 2 for i in range(20)]})\n"
        "print(df.head(), df.describe(), df.shape)\nX = df.drop(columns='target')\ny = df['target']\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)",
        "%%mlops stage train\nscaler = StandardScaler()\nXs = scaler.fit_transform(X_train)\n"
        "model = LogisticRegression(C=C, random_state=seed)\nmodel.fit(Xs, y_train)\nprint(model.coef_.shape)",
        "%%mlops stage evaluate\npred = model.predict(scaler.transform(X_test))\n"
        "acc = accuracy_score(y_test, pred)\nprint(acc, pred.shape, df.head())",
    ]
    result = export(write_notebook(tmp_path / "nb.ipynb", cells), tmp_path / "p")
    prepare, train, evaluate = result.plan.stages
    assert prepare.outputs == ["X_test", "X_train", "df", "y_test", "y_train"]
    assert train.outputs == ["model", "scaler"] and evaluate.outputs == []
    assert evaluate.inputs == {"model": "train", "scaler": "train", "X_test": "prepare", "y_test": "prepare",
                               "df": "prepare"}
    assert train.params == ["C", "seed"]  # the parameters stay parameters: a number is never changed in place


def test_a_helper_inside_a_run_cell_is_lifted_out_whole(tmp_path: Path) -> None:
    cells = [("%%mlops run fit\n@staticmethod\ndef f(v):\n    def g(w):\n        return w * 2\n    return g(v)\nx = 1",
              ["stage:a"]), "%%mlops stage b\nr = f(3)"]
    export(write_notebook(tmp_path / "nb.ipynb", cells), tmp_path / "p")
    script = (tmp_path / "p" / "b.py").read_text()
    assert ("    # --- `f`, defined in cell 1 (stage 'a')\n    @staticmethod\n    def f(v):\n        def g(w):\n"
            "            return w * 2\n        return g(v)\n\n    # --- cell 2\n    _mlnb_export.cell(2)\n    r = f(3)\n") in script
    compile(script, "b.py", "exec")


def test_editing_a_helper_changes_exactly_the_scripts_that_use_it(tmp_path: Path) -> None:
    """The copy lives in each user's script, a dependency of its stage: `dvc repro` reruns just those."""
    cells = ["%%mlops stage a\ndef f(v):\n    return v + 1\nx = f(1)", "%%mlops stage b\ny = f(2)",
             "%%mlops stage c\nz = 3"]
    nb = write_notebook(tmp_path / "nb.ipynb", cells)
    export(nb, tmp_path / "p")
    before = {p.name: p.read_text() for p in (tmp_path / "p").glob("*.py")}
    write_notebook(nb, [cells[0].replace("v + 1", "v + 2"), *cells[1:]])
    export(nb, tmp_path / "p")
    after = {p.name: p.read_text() for p in (tmp_path / "p").glob("*.py")}
    assert sorted(n for n in before if before[n] != after[n]) == ["a.py", "b.py"]
    assert "return v + 2" in after["b.py"]
