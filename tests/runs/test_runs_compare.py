"""Comparing runs: differences first, identical params folded, best values marked, and the charts
(histories overlaid, parallel coordinates of params → a metric, param-vs-metric scatter)."""

from __future__ import annotations

import json
import re

import pytest

import mlnb
from mlnb.errors import UsageError
from mlnb.runs._compare_charts import POINTS

from tests.conftest import run_cli


def _seed() -> list[str]:
    ids = []
    for i, (lr, opt) in enumerate([(0.1, "adam"), (0.01, "sgd"), (0.001, "adam")]):
        with mlnb.start_run(f"r{i}", params={"lr": lr, "opt": opt, "seed": 7, "data": "train@1"}) as run:
            for step in range(3000):
                loss = 1 / (step + 1) + i / 10
                run.log_metric("loss", 99.0 if (i, step) == (1, 1234) else loss)  # one spike mid-way
            run.log_metric("accuracy", 0.8 + i / 20)
            run.log_metric("val_err", 0.3 - i / 20 if i != 2 else 0.25)
        ids.append(run.id)
    return ids


def test_compare_orders_marks_and_draws(project) -> None:
    ids = _seed()
    comparison = mlnb.runs.compare(ids)
    rows = {r["field"]: r for r in comparison.rows}
    fields = [r["field"] for r in comparison.rows]
    # differences first, then identical params, then metrics
    assert fields[:2] == ["params.lr", "params.opt"] and set(fields[2:4]) == {"params.data", "params.seed"}
    assert not rows["params.seed"]["differs"]
    # best: highest accuracy, lowest loss and val_err (by name); ties all best; params never
    assert rows["metrics.accuracy"]["best"] == ["r2"]
    assert rows["metrics.loss"]["best"] == ["r0"]
    assert rows["metrics.val_err"]["best"] == ["r1", "r2"]
    assert rows["params.lr"]["best"] == []
    assert mlnb.runs.compare(ids, minimize=["accuracy"]).rows[-3]["best"] == ["r0"]

    page = comparison._repr_html_()
    main, folded = page.split("<details>")
    assert "params.seed" in folded and "params.seed" not in main and "2 identical param(s)" in folded
    assert re.search(r"<td style='[^']*bold[^']*' title='best'>0\.9 ★</td>", main)

    # the metric the charts use: the one every run has that differs, first by name
    assert comparison.metric == "accuracy"
    history, parallel, scatter = comparison.charts()
    assert history["title"] == "metric history" and history["transform"] == [{"flatten": ["step", "value"]}]
    series = {(v["run"], v["metric"]): v for v in history["data"]["values"]}
    assert set(series) == {(f"r{i}", "loss") for i in range(3)}  # single-step metrics have no history
    drawn = sum(len(v["step"]) for v in series.values())
    assert drawn <= POINTS < 3 * 3000  # downsampled ...
    spiked = series[("r1", "loss")]
    assert 99.0 in spiked["value"] and spiked["step"][spiked["value"].index(99.0)] == 1234  # ... keeping the spike
    assert spiked["step"][0] == 0 and spiked["step"][-1] == 2999

    lines = parallel["layer"][1]["data"]["values"]
    assert [v["axis"] for v in lines if v["run"] == "r0"] == ["lr", "opt", "accuracy"]  # identical params folded away
    assert {v["run"]: v["score"] for v in lines if v["axis"] == "accuracy"} == pytest.approx({"r0": 0.8, "r1": 0.85, "r2": 0.9})
    assert {(t["axis"], t["label"]) for t in parallel["layer"][2]["data"]["values"]} >= {("lr", "0.001"), ("lr", "0.1"), ("opt", "adam"), ("opt", "sgd")}
    assert [p["title"] for p in scatter["concat"]] == ["lr", "opt"]
    assert scatter["concat"][0]["encoding"]["x"]["type"] == "quantitative"
    # lr spans 100x: a log scale, where 0.01 sits half-way between 0.001 and 0.1
    assert scatter["concat"][0]["encoding"]["x"]["scale"] == {"type": "log"}
    assert {v["run"]: v["pos"] for v in lines if v["axis"] == "lr"} == pytest.approx({"r0": 1.0, "r1": 0.5, "r2": 0.0})
    assert scatter["concat"][1]["encoding"]["x"]["type"] == "nominal"

    panel = json.loads(json.dumps(comparison.panel(), allow_nan=False))
    assert panel["metric"] == "accuracy" and panel["lower_is_better"] is False
    assert panel["metrics"] == ["accuracy", "loss", "val_err"] and set(panel["charts"]) == {"history", "parallel", "scatter"}
    assert {r["field"]: r["best"] for r in panel["rows"]}["metrics.val_err"] == [1, 2]

    loss_view = mlnb.runs.compare(ids, metric="loss")
    assert loss_view.charts()[1]["title"] == "params → loss"


def test_compare_refuses_bad_requests_in_one_line(project) -> None:
    ids = _seed()[:2]
    with pytest.raises(UsageError, match="no run in the comparison has metric 'nope': choose one of accuracy, loss, val_err"):
        mlnb.runs.compare(ids, metric="nope")
    with pytest.raises(UsageError, match="at most 100 runs, got 101"):
        mlnb.runs.compare([f"{n:012x}" for n in range(101)])
    proc = run_cli("runs", "compare", *ids, "--metric", "nope")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "choose one of" in proc.stderr
    shown = run_cli("runs", "compare", *ids, "--metric", "loss", "--json", check=True).stdout
    rows = {r["field"]: r for r in json.loads(shown)}
    assert rows["metrics.loss"]["best"] == ["r0"] and rows["params.lr"]["differs"] is True
