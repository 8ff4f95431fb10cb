"""``mlnb.models.deploy`` and friends: the deployment verbs of :mod:`mlnb.serve` and the outcome log of
:mod:`mlnb.monitor`, reachable from the registry."""

from __future__ import annotations

from ..monitor._log import log_outcomes
from ..serve._deploy import deploy, deploy_history, routing

__all__ = ["deploy", "deploy_history", "log_outcomes", "routing"]
