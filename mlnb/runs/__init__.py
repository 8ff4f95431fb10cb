"""Record every experiment: params, metrics, artifacts, code, environment and data lineage.

>>> with mlnb.start_run("baseline", params={"lr": 0.1}, tags=["churn"]) as run:  # doctest: +SKIP
...     run.log_metric("accuracy", 0.91)
>>> mlnb.runs.list("metrics.accuracy > 0.8", sort="-metrics.accuracy")           # doctest: +SKIP
>>> mlnb.runs.lineage("train@3")                                                  # doctest: +SKIP

In a notebook: ``%%mlops run NAME --param k=v --tag t`` records the cell as a run.
"""

from ._cell import record_cell
from ._compare import RunComparison, compare
from ._display import RunRecord, RunTable
from ._query import get, lineage, list_runs, reap
from ._run import (
    Run,
    active_run,
    log_artifact,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    set_tags,
    start_run,
)
from ._transfer import export, import_

list = list_runs  # noqa: A001 - `mlnb.runs.list()` reads like the CLI verb

__all__ = [
    "Run",
    "RunComparison",
    "RunRecord",
    "RunTable",
    "active_run",
    "compare",
    "export",
    "get",
    "import_",
    "lineage",
    "list",
    "list_runs",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "reap",
    "record_cell",
    "set_tags",
    "start_run",
]
