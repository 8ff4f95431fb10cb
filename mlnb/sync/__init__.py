"""Sharing the registry through the project's DVC remote, with no server.

``push()`` sends data, models and the registry's new records (as content-addressed segments under
``<remote>/mlnb/``); ``pull()`` merges what others pushed; ``status()`` shows what would move and
any alias conflict; ``resolve()`` settles one. See docs/sharing.md.

>>> import mlnb
>>> mlnb.sync.pull()  # doctest: +SKIP
"""

from __future__ import annotations

from .._lazy import lazy_exports

# lazy: the CLI imports mlnb.sync._cli to build its tree, and must not pay for SQLAlchemy then
__getattr__, __dir__, __all__ = lazy_exports(__name__, {"pull": "_ops", "push": "_ops", "resolve": "_ops",
                                                        "status": "_ops", "use": "_ops"})
