"""``mlnb.models.deploy`` and friends: the deployment verbs of :mod:`mlnb.serve`, reachable from the registry."""

from __future__ import annotations

from ..serve._deploy import deploy, deploy_history, routing

__all__ = ["deploy", "deploy_history", "routing"]
