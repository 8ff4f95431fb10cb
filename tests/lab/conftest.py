"""Fixtures for the JupyterLab tests: one seeded project, one real server, headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._lab import CHROMIUM, CHROMIUM_ARGS, Lab, child_env, run_python, start_lab

XSS_NAME = "<img src=x onerror=alert(1)>"

ARTIFACT_TEXT = "lr=0.001 accuracy=0.9"

#: the ``error`` codes an API refusal may carry, per status (mlnb/server/_routes.py, _files.py)
ERROR_CODES = {400: {"bad_request"}, 403: {"outside_root", "private", "hidden"},
               404: {"not_found", "not_an_artifact", "not_a_project"}}

#: two models: churn@1..3 (trained in the run "train-churn" on churn-train@1, churn@3 evaluated on
#: churn-holdout@1 and promoted to champion past two metric gates, churn@2 set to staging) and
#: fraud@1..2 (fraud@2 champion); hostile text in a message and a reason
MODELS_SEED = f"""
import numpy as np
from sklearn.linear_model import LogisticRegression
rng = np.random.default_rng(0)
frame = pd.DataFrame({{"tenure": rng.normal(size=300), "spend": rng.normal(size=300)}})
frame["churned"] = (frame.tenure + 0.5 * rng.normal(size=300) > 0).astype(int)
mlnb.data.save(frame[:200], "churn-train")
mlnb.data.save(frame[200:], "churn-holdout")
train = mlnb.data.load("churn-train@1")
X, y = train[["tenure", "spend"]], train["churned"]
with mlnb.start_run("train-churn", params={{"model": "logistic"}}):
    for C, auc in [(1e-4, 0.71), (0.01, 0.83), (1.0, 0.9)]:
        mlnb.models.register("churn", LogisticRegression(C=C).fit(X, y), data=X,
                             metrics={{"auc": auc, "f1": round(auc - 0.05, 2)}}, message={XSS_NAME!r})
mlnb.models.promote("churn@1", to="champion")
mlnb.models.evaluate("churn@3", data="churn-holdout@1", target="churned")
mlnb.models.promote("churn@3", to="champion", gates=["auc >= champion.auc - 0.005", "f1 > 0.8"],
                    reason="<script>x</script>")
mlnb.models.set_alias("churn@2", "staging")
for C, precision in [(0.1, 0.61), (10.0, 0.77)]:
    mlnb.models.register("fraud", LogisticRegression(C=C).fit(X[["spend"]], y), metrics={{"precision": precision}})
mlnb.models.promote("fraud@2", to="champion", gates=["precision > 0.7"])
"""

#: alerts: churn's rule firing (critical), fraud's fired and resolved; checked over report-shaped
#: frames (one row per window and metric), so the panel's Alerts tab has one of each state
ALERTS_SEED = """
from mlnb.monitor._check import check
def _frame(value):
    start = pd.Timestamp("2026-11-27", tz="UTC")
    return pd.DataFrame([{"window": 0, "start": start, "end": start + pd.Timedelta(days=1), "n": 500,
                          "metric": "accuracy", "value": value, "lower": float("nan"), "upper": float("nan"),
                          "alert": False, "note": ""}])
mlnb.monitor.add_rule("accuracy < 0.85", model="churn", severity="critical")
mlnb.monitor.add_rule("accuracy < 0.85", model="fraud")
check("fraud", reporter=lambda model, window: _frame(0.7))
check("fraud", reporter=lambda model, window: _frame(0.9))
check("churn", reporter=lambda model, window: _frame(0.8))
"""

SEED = f"""
import os, mlnb, pandas as pd
ARTIFACT_TEXT = {ARTIFACT_TEXT!r}
mlnb.init(remote="../remote")
mlnb.data.save(pd.DataFrame({{"x": [1, 2, 3], "y": [0, 1, 0]}}), "train", message="first")
mlnb.data.save(pd.DataFrame({{"x": [1, 2, 3, 4], "y": [0, 1, 0, 1]}}), "train", message="more rows")
for i, lr in enumerate([0.1, 0.01, 0.001]):
    with mlnb.start_run(f"baseline-{{i}}", params={{"lr": lr, "depth": 3}}, tags=["seed"]) as run:
        run.log_metric("accuracy", 0.8 + i / 20)
        if i == 2:  # lineage and an artifact for the detail view
            mlnb.data.load("train@1")
            os.makedirs("reports", exist_ok=True)
            with open("reports/summary.txt", "w") as fh:
                fh.write(ARTIFACT_TEXT)
            run.log_artifact("reports/summary.txt")
            for step, loss in enumerate([0.9, 0.5, 0.3, 0.25]):
                run.log_metric("loss", loss, step=step)
{MODELS_SEED}
{ALERTS_SEED}
with mlnb.start_run({XSS_NAME!r}, params={{"note": "<b>bold</b>"}}, tags=["<script>x</script>"]) as run:
    run.log_metric("accuracy", 0.5)
"""


@pytest.fixture(scope="session")
def lab_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A project with two versions of a dataset, five finished runs (one with a hostile name) and
    the two models of ``MODELS_SEED``."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "proj"
    root.mkdir()
    (base / "home").mkdir()
    env = child_env(base / "home")
    run_python(SEED, root, env)
    return root, env


@pytest.fixture(scope="session")
def lab(lab_project: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root, env = lab_project
    server = start_lab(root, tmp_path_factory.mktemp("lab-server"), env)
    yield server
    server.stop()


#: versions of the model "big" in the paging tests (the issue's scale for the REST listing)
BIG = 10_000
#: runs in the same project: more than the server's largest page (500)
BIG_RUNS = 700

#: one real registration, then the same row 9,999 times more with distinct hashes (registering
#: 10,000 models through DVC would take minutes), then real alias moves
BIG_SEED = f"""
import mlnb, pandas as pd
from sklearn.linear_model import LogisticRegression
from mlnb.store import registry
from mlnb.store._schema import model_versions as mv
mlnb.init()
X = pd.DataFrame({{"a": [0.0, 1.0, 2.0, 3.0]}})
first = mlnb.models.register("big", LogisticRegression().fit(X, [0, 1, 0, 1]), data=X, metrics={{"auc": 0.5}})
from mlnb._project import current_project
project = current_project()
with registry(project).read() as conn:
    row = dict(conn.execute(mv.select().where(mv.c.id == first.id)).first()._mapping)
rows = [{{**row, "id": None, "version": n, "md5": f"{{n:032x}}", "metrics": f'{{{{"auc": {{n / {BIG}}}}}}}',
          "created_at": row["created_at"] + n}} for n in range(2, {BIG} + 1)]
with registry(project).write() as conn:
    conn.execute(mv.insert(), [{{k: v for k, v in r.items() if k != "id"}} for r in rows])
mlnb.models.promote("big@9000", to="champion", gates=["auc > 0.8"])
mlnb.models.set_alias("big@{BIG}", "staging")
from mlnb.store._schema import runs
with mlnb.start_run("seed") as seed:
    pass
with registry(project).read() as conn:
    run = dict(conn.execute(runs.select().where(runs.c.id == seed.id)).first()._mapping)
with registry(project).write() as conn:  # more runs than the server's largest page, as for versions
    conn.execute(runs.insert(), [{{**run, "id": f"{{n:032x}}", "name": f"bulk-{{n}}", "started_at": run["started_at"] - n}}
                                 for n in range(1, {BIG_RUNS} + 1)])
"""


def seeded_lab(lab_project: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory, name: str,
               seed: str) -> Iterator[Lab]:
    """A server over a fresh project that ``seed`` (Python run in it) filled, for a fixture to yield."""
    _, env = lab_project  # the same private HOME and git identity
    root = tmp_path_factory.mktemp(name) / "proj"
    root.mkdir()
    run_python(seed, root, env)
    server = start_lab(root, tmp_path_factory.mktemp(f"{name}-server"), env)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def big_lab(lab_project: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A server over a project whose model "big" has 10,000 versions."""
    yield from seeded_lab(lab_project, tmp_path_factory, "big", BIG_SEED)


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("MLNB_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing and MLNB_REQUIRE_BROWSER is set: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); set MLNB_REQUIRE_BROWSER=1 to fail instead")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
