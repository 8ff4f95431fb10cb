"""Record every experiment: params, metrics, artifacts, code, environment and data lineage.

>>> with mlnb.start_run("baseline", params={"lr": 0.1}, tags=["churn"]) as run:  # doctest: +SKIP
...     run.log_metric("accuracy", 0.91)
>>> mlnb.runs.list("metrics.accuracy > 0.8", sort="-metrics.accuracy")           # doctest: +SKIP
>>> mlnb.runs.lineage("train@3")                                                  # doctest: +SKIP

In a notebook: ``%%mlops run NAME --param k=v --tag t`` records the cell as a run.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "record_cell": "_cell",
    "RunComparison": "_compare",
    "export_mlflow": "_mlflow",
    "import_mlflow": "_mlflow",
    "compare": "_compare",
    "archive": "_curate",
    "delete": "_curate",
    "history": "_curate",
    "note": "_curate",
    "rename": "_curate",
    "restore": "_curate",
    "set_experiment": "_curate",
    "RunRecord": "_display",
    "RunTable": "_display",
    "get": "_query",
    "lineage": "_query",
    "list": "_query:list_runs",  # `mlnb.runs.list()` reads like the CLI verb
    "list_runs": "_query",
    "import_wandb": "_wandb",
    "import_dvc_exp": "_dvcexp",
    "reap": "_query",
    "Run": "_run",
    "active_run": "_run",
    "log_artifact": "_run",
    "log_metric": "_run",
    "log_metrics": "_run",
    "log_param": "_run",
    "log_params": "_run",
    "set_tags": "_run",
    "start_run": "_run",
    "export": "_transfer",
    "import_": "_transfer",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
