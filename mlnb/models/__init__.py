"""A model registry through DVC: versions, aliases, promotion gates, rollback.

>>> mv = mlnb.models.register("churn", model, data=X_train, metrics={"auc": 0.91})   # doctest: +SKIP
>>> model = mlnb.models.load("churn@champion")                                        # doctest: +SKIP
>>> mlnb.models.promote("churn@4", to="champion", gates=["auc >= champion.auc - 0.005"])  # doctest: +SKIP
>>> mlnb.models.rollback("churn", "champion")                                         # doctest: +SKIP
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "ab_test": "_abtest",
    "Promotion": "_aliases",
    "history": "_aliases",
    "promote": "_aliases",
    "remove_alias": "_aliases",
    "rollback": "_aliases",
    "set_alias": "_aliases",
    "evaluate": "_evaluate",
    "export_mlflow": "_mlflow",
    "import_mlflow": "_mlflow",
    "list": "_query:list_models",  # `mlnb.models.list()` reads like the CLI verb
    "list_models": "_query",
    "load": "_query",
    "log": "_query",
    "path": "_query",
    "predict": "_query",
    "show": "_query",
    "ModelVersion": "_refs",
    "resolve": "_refs",
    "register": "_register",
    "register_path": "_register",
    "deploy": "_serving",
    "deploy_history": "_serving",
    "log_outcomes": "_serving",
    "routing": "_serving",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
