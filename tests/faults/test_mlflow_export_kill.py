"""SIGKILL at random points of `mlnb runs export --mlflow`, against a real MLflow server: after the
next export, each mlnb run is in MLflow exactly once, complete (every param and point), and the
half-written run a kill left behind is gone. Read back with MLflow's own client.
Trials: ``trials(4)`` (``MLNB_FAULT_TRIALS=N`` for more).
"""

from __future__ import annotations

import json
import signal
import textwrap

import pytest

import mlnb
from tests._mlflow_server import mlflow_script, start_mlflow
from tests.faults._harness import assert_most_landed, delays, interrupt, spawn, time_child, trials

TRIALS = trials(4)
RUNS, POINTS = 12, 40


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory):
    yield from start_mlflow(tmp_path_factory.mktemp("mlflow-kill"))


def _child(uri: str, experiment: str) -> str:
    return textwrap.dedent(f"""
        import mlnb, mlnb.runs._mlflow
        print("start", flush=True)
        mlnb.runs.export_mlflow({uri!r}, experiment={experiment!r})
        print("done", flush=True)
    """)


def test_killed_export_is_completed_by_the_next(project, mlflow_uri):
    for r in range(RUNS):
        with mlnb.start_run(f"fit-{r}", params={"r": r, "lr": 0.1}) as run:
            for step in range(POINTS):
                run.log_metric("loss", 1.0 / (step + 1 + r), step=step)
    span = 0.6 * min(time_child(spawn(_child(mlflow_uri, f"timing-{i}"), project.root)) for i in range(3))
    landed = 0
    experiments = []
    for trial, delay in enumerate(delays(TRIALS, span, "mlflow-export")):
        experiment = f"trial-{trial}"
        hit, _ = interrupt(spawn(_child(mlflow_uri, experiment), project.root), signal.SIGKILL, delay)
        landed += hit
        mlnb.runs.export_mlflow(mlflow_uri, experiment=experiment)  # the next export, not killed
        experiments.append(experiment)
    seen = json.loads(mlflow_script("""
import json, sys, mlflow
c = mlflow.MlflowClient(sys.argv[1])
out = {}
for name in sys.argv[2:]:
    exp = c.get_experiment_by_name(name)
    runs = c.search_runs([exp.experiment_id], max_results=1000)
    out[name] = sorted((json.loads(r.data.tags.get("mlnb.id", "null")), r.data.tags.get("mlnb.export"), r.info.status,
                        len(r.data.params), len(c.get_metric_history(r.info.run_id, "loss"))) for r in runs)
print(json.dumps(out))
""", mlflow_uri, *experiments).splitlines()[-1])
    ids = sorted(r["id"] for r in mlnb.runs.list())
    for experiment, runs in seen.items():
        assert [r[0] for r in runs] == ids, f"{experiment}: runs missing or twice: {runs}"
        assert all(r[1:] == ["complete", "FINISHED", 2, POINTS] for r in runs), f"{experiment}: {runs}"
    assert_most_landed(landed, TRIALS, f"export to MLflow (kills within {span:.2f} s)")
