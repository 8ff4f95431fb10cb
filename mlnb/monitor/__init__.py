"""Watching models in production: the prediction and outcome logs, and what is computed from them.

>>> mlnb.monitor.log_predictions("churn", X, y_pred, ids=ids, proba=p, version="churn@4")  # doctest: +SKIP
>>> mlnb.monitor.log_outcomes("churn", ids, y_true)                                      # doctest: +SKIP
>>> mlnb.monitor.read_log("churn", ["prediction", "proba"])                              # doctest: +SKIP
>>> mlnb.monitor.report("churn", window="1D", reference="training").to_frame()           # doctest: +SKIP
>>> mlnb.monitor.add_rule("accuracy < 0.85", model="churn", window="1D")                 # doctest: +SKIP
>>> mlnb.monitor.check("churn")                                                          # doctest: +SKIP
>>> mlnb.monitor.alerts()                                                                # doctest: +SKIP
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "MonitorCollector": "_exporter",
    "Outcomes": "_log",
    "Report": "_result",
    "add_channel": "_channels",
    "add_rule": "_rules",
    "alerts": "_alerts",
    "check": "_check",
    "exporter": "_exporter",
    "grafana_dashboard": "_grafana",
    "list_channels": "_channels",
    "list_rules": "_rules",
    "log_outcomes": "_log",
    "log_predictions": "_log",
    "read_log": "_log",
    "read_outcomes": "_log",
    "remove_channel": "_channels",
    "remove_rule": "_rules",
    "report": "_report",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
