"""Serving registered models: routings (which versions answer, with what share), ``mlnb serve``,
and manifests for KServe, Seldon Core 2 and BentoML.

>>> mlnb.serve.deploy("churn", canary="challenger", traffic=10)   # doctest: +SKIP
>>> mlnb.serve.routing("churn")                                   # doctest: +SKIP
>>> mlnb.serve.serve("churn", port=8080)                          # doctest: +SKIP
>>> mlnb.serve.manifests(mlnb.serve.routing("churn"), "seldon", "deploy/")  # doctest: +SKIP
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "Arm": "_routing",
    "Routing": "_routing",
    "Deployment": "_deploy",
    "deploy": "_deploy",
    "deploy_history": "_deploy",
    "routing": "_deploy",
    "read_predictions": "_predlog",
    "serve": "_server",
    "Server": "_process",
    "start": "_process",
    "manifests": "_manifests",
    "storage_uri": "_manifests",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
