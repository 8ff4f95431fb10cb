"""mlnb: notebook-first MLOps with no server.

``import mlnb`` is cheap: each area (``mlnb.data``, ``mlnb.runs``, ``mlnb.checks`` ...) and the
heavy libraries behind it load on first use. In IPython, ``%load_ext mlnb`` adds ``%mlops``.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_AREAS = {"data", "errors", "runs", "checks", "export", "models", "serve", "monitor", "sync"}
_FUNCTIONS = {
    "init": ("mlnb._api", "init"),
    "in_demo_project": ("mlnb._demo", "in_demo_project"),
    "doctor": ("mlnb.monitor._doctor", "doctor"),
    "enable_altair_renderer": ("mlnb._charts", "enable_altair_renderer"),
    "start_run": ("mlnb.runs._run", "start_run"),
    "active_run": ("mlnb.runs._run", "active_run"),
    "log_metric": ("mlnb.runs._run", "log_metric"),
    "log_metrics": ("mlnb.runs._run", "log_metrics"),
    "log_param": ("mlnb.runs._run", "log_param"),
    "log_params": ("mlnb.runs._run", "log_params"),
    "log_artifact": ("mlnb.runs._run", "log_artifact"),
    "set_tags": ("mlnb.runs._run", "set_tags"),
    "push": ("mlnb.sync", "push"),
    "pull": ("mlnb.sync", "pull"),
}

__all__ = sorted([*_AREAS, *_FUNCTIONS, "load_ipython_extension", "unload_ipython_extension", "__version__"])


def __getattr__(name: str) -> Any:
    if name in _AREAS:
        module = importlib.import_module(f"mlnb.{name}")
        globals()[name] = module
        return module
    if name in _FUNCTIONS:
        module_name, attr = _FUNCTIONS[name]
        value = getattr(importlib.import_module(module_name), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mlnb' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext mlnb``: register ``%mlops`` / ``%%mlops``."""
    from ._charts import warm_static_renderer
    from .notebook.magics import register

    register(ipython)
    warm_static_renderer()


def unload_ipython_extension(ipython: Any) -> None:
    from .notebook.magics import unregister

    unregister(ipython)
