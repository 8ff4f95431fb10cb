"""Live metric charts: drawn in a real kernel while the cell runs, at most about once a second,
kept in the saved notebook with their static image, stable under nbval; nothing outside a kernel."""

from __future__ import annotations

import math
import random
import subprocess
import sys
from typing import Any

import nbformat
from nbclient import NotebookClient

import mlnb
from mlnb._charts import SVG_MIME, V5_MIME, V6_MIME
from mlnb.runs._downsample import Series, m4

#: logs two metrics for ~2.5 s: enough for a few redraws at one a second
CELLS = [
    "%load_ext mlnb\nimport mlnb, time",
    "%%mlops run live-demo --param lr=0.1\n"
    "for i in range(50):\n"
    "    mlnb.log_metrics({'loss': 1 / (i + 1), 'accuracy': i / 50})\n"
    "    time.sleep(0.05)\n",
    "run = mlnb.start_run('across-cells')\nrun.log_metric('loss', 0.5)",
    "run.log_metric('loss', 0.25)\nrun.end()",
]


class RecordingClient(NotebookClient):
    """nbclient, also keeping each cell's iopub message types in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.messages: dict[int, list[tuple[str, dict[str, Any], Any]]] = {}

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        kind = msg["header"]["msg_type"]
        if kind in ("display_data", "update_display_data"):
            self.messages.setdefault(cell_index, []).append((kind, msg["content"]["data"], msg["header"]["date"]))
        return super().process_message(msg, cell, cell_index)


def _points(spec: dict[str, Any], metric: str) -> list[tuple[float, float]]:
    return [(v["step"], v["value"]) for v in spec["data"]["values"] if v["metric"] == metric]


def test_a_run_cell_draws_live_and_keeps_the_final_chart(project) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = RecordingClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(project.root)}})
    client.execute()

    kinds = [k for k, _, _ in client.messages[1]]
    # an empty placeholder, redraws while it runs, the placeholder emptied again, the final display
    assert kinds[0] == "display_data" and kinds[-2:] == ["update_display_data", "display_data"], kinds
    redraws = [(data, when) for kind, data, when in client.messages[1] if kind == "update_display_data" and V6_MIME in data]
    grown = [len(_points(data[V6_MIME], "loss")) for data, _ in redraws]
    assert len(grown) >= 2 and grown == sorted(grown) and grown[0] < grown[-1] < 50, grown  # growing while it ran
    gaps = [(b - a).total_seconds() for (_, a), (_, b) in zip(redraws, redraws[1:])]
    assert min(gaps) >= 0.9, gaps  # at most about once a second (kernel clock)

    # saved: the emptied live output, then the final chart with all 50 points and its static image
    placeholder, final = nb.cells[1].outputs
    assert placeholder.data == {"text/plain": ""}
    assert final.metadata == placeholder.metadata == {"mlnb": {"live_chart": True}}  # export --check skips it
    assert set(final.data) == {V6_MIME, V5_MIME, SVG_MIME, "text/plain"}
    spec = final.data[V6_MIME]
    assert _points(spec, "loss") == [(i, 1 / (i + 1)) for i in range(50)]
    assert spec["title"] == {"text": "live-demo", "subtitle": "100 points logged"}
    assert "<svg" in final.data[SVG_MIME] and final.data["text/plain"].endswith("2 metric(s), 100 point(s)>")

    # a run ended in a later cell updates its chart in place, where it was drawn
    (across,) = nb.cells[2].outputs
    assert _points(across.data[V6_MIME], "loss") == [(0, 0.5), (1, 0.25)] and SVG_MIME in across.data
    assert nb.cells[3].outputs == []
    assert [r["status"] for r in mlnb.runs.list(sort="name")] == ["finished", "finished"]

    # nbval re-executes the saved run cell and finds the outputs it saved (the run across cells
    # is not nbval-stable: its first output is the placeholder, then updated in place)
    nb.cells = nb.cells[:2]
    nbformat.write(nb, project.root / "live.ipynb")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--nbval", "live.ipynb"],
                          cwd=project.root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "2 passed" in proc.stdout, proc.stdout[-500:]


def test_outside_a_kernel_nothing_is_drawn(project) -> None:
    script = ("import mlnb\nwith mlnb.start_run('script') as run:\n"
              "    for i in range(100): run.log_metric('loss', 1 / (i + 1))\n"
              "    assert run._live is None\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=project.root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert mlnb.runs.get(mlnb.runs.list()[0]["id"])["history"]["loss"]["value"][-1] == 0.01


def test_m4_keeps_the_envelope_first_and_last_of_a_long_series() -> None:
    rnd = random.Random(3)
    values = [math.sin(i / 500) + rnd.gauss(0, 0.1) for i in range(100_000)]
    values[31_337] = 25.0  # a spike
    values[77_777] = -25.0  # a dip
    values[4_242] = float("nan")  # stored by the run, not drawable
    steps = list(range(len(values)))
    xs, ys = m4(steps, values, buckets=250)
    assert len(xs) <= 1000 and len(xs) == len(ys)
    assert (xs[0], ys[0]) == (0, values[0]) and (xs[-1], ys[-1]) == (99_999, values[-1])
    assert 25.0 in ys and -25.0 in ys and all(math.isfinite(y) for y in ys)
    assert xs == sorted(xs) and 4_242 not in xs
    # every kept point is a real point of the series
    assert all(values[x] == y for x, y in zip(xs, ys))
    # per 1/250 of the series, the drawn min and max are the true ones
    finite = [v if math.isfinite(v) else 0.0 for v in values]
    for lo in range(0, 100_000, 20_000):
        window = [y for x, y in zip(xs, ys) if lo <= x < lo + 20_000]
        assert max(window) == max(finite[lo:lo + 20_000]) and min(window) == min(finite[lo:lo + 20_000])


def test_series_memory_stays_bounded_while_points_arrive() -> None:
    series = Series(buckets=100)
    for i in range(50_000):
        series.add(i, float(i % 97))
        assert len(series.buckets) <= 100
    assert series.count == 50_000 and 50 <= len(series.buckets) <= 100
    assert series.points()[-1] == (49_999, float(49_999 % 97))


def test_a_chart_that_cannot_draw_never_breaks_logging(project) -> None:
    """Forced on where no display works (no IPython shell): the chart gives up, every point is stored."""
    script = ("import mlnb\nfrom mlnb.runs import _live\n"
              "with mlnb.start_run('forced') as run:\n"
              "    run._live = chart = _live.attach(run.name, force=True)\n"
              "    for i in range(100): run.log_metric('loss', 1 / (i + 1))\n"
              "    assert chart._broken and chart.series['loss'].count == 100\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=project.root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    run = mlnb.runs.get(mlnb.runs.list()[0]["id"])
    assert run["status"] == "finished" and len(run["history"]["loss"]["step"]) == 100
