"""Two clones working at once — each logging runs, adding data versions and moving an alias,
pushing and pulling in its own interleaved order — end with identical registries."""

from __future__ import annotations

import os
import subprocess
import sys

import mlnb
from tests.conftest import ROOT

from .conftest import registry_records

ROUNDS = int(os.environ.get("MLNB_SYNC_ROUNDS", "5"))

WORKER = r"""
import random, sys
import numpy as np, pandas as pd
import mlnb
from mlnb.errors import MlnbError

who, rounds, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
for i in range(rounds):
    with mlnb.start_run(name=f"{who}-{i}") as run:
        run.log_params({"who": who, "i": i})
        for step in range(10):
            run.log_metric("loss", rng.random(), step=step)
    if rng.random() < 0.5:
        mlnb.data.save(pd.DataFrame({"v": np.arange(5) + 100 * i + (0 if who == "a" else 50)}), "feat")
    try:
        mlnb.models.set_alias(f"clf@{rng.choice([1, 2])}", "staging")
    except MlnbError:
        pass  # it already held that version
    for verb in rng.sample(["push", "pull"], 2):
        try:
            getattr(mlnb, verb)()
        except MlnbError as exc:  # a conflict refuses a push until resolved: the end resolves it
            print(verb, "refused:", exc, flush=True)
print("done", flush=True)
"""


def _register_two(clones) -> None:
    from sklearn.dummy import DummyClassifier

    import pandas as pd

    X, y = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]}), [0, 1, 0, 1]
    with clones.at(clones.a):
        for strategy in ("most_frequent", "stratified"):
            mlnb.models.register("clf", DummyClassifier(strategy=strategy).fit(X, y))
        mlnb.push()
    with clones.at(clones.b):
        mlnb.pull()


def test_interleaved_work_converges(clones):
    _register_two(clones)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, who, str(ROUNDS), str(seed)], cwd=p.root, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for who, seed, p in (("a", 1, clones.a), ("b", 2, clones.b))]
    for w in workers:
        out, err = w.communicate(timeout=600)
        assert w.returncode == 0 and "done" in out, err[-3000:]
    # settle: each side pulls; a conflict is resolved explicitly on A, then both exchange again
    with clones.at(clones.a):
        pulled = mlnb.pull()
        for line in pulled["conflicts"]:
            assert "staging" in line and "--take" in line
            mlnb.sync.resolve("clf", "staging", take="mine")
        mlnb.push()
    with clones.at(clones.b):
        mlnb.pull()
        mlnb.push()
    with clones.at(clones.a):
        mlnb.pull()
    a, b = registry_records(clones.a), registry_records(clones.b)
    assert len(a["runs"]) == 2 * ROUNDS and len(a["run_metrics"]) == 20 * ROUNDS
    for table in a:
        assert a[table] == b[table], table
    numbers = sorted(r["version"] for r in a["data_versions"].values())
    assert numbers == list(range(1, len(numbers) + 1))  # no gap, no clash after the merge
