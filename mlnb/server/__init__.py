"""Jupyter server extension: the REST API behind the JupyterLab "MLOps" panel.

Every route lives under ``<base_url>/mlnb/api/`` and is a thin, authenticated handler over the
public Python API (``mlnb.runs``, ``mlnb.data`` ...). ``pip install mlnb`` enables it through
``etc/jupyter/jupyter_server_config.d/mlnb.json``; by hand: ``jupyter server extension enable mlnb.server``.

>>> from mlnb.server import ROUTES
>>> sorted(path for path, *_ in ROUTES)[0]
'/mlnb/api/alerts'
"""

from __future__ import annotations

from typing import Any

from ._routes import ROUTES, setup_routes

__all__ = ["ROUTES", "setup_routes"]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "mlnb.server"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    allow_hidden = bool(getattr(server_app.contents_manager, "allow_hidden", False))
    setup_routes(server_app.web_app, server_app.root_dir, allow_hidden)
    server_app.log.info("mlnb: registered %d routes under /mlnb/api/", len(ROUTES))
