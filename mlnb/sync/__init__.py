"""Sharing the registry through the project's DVC remote, with no server.

``push()`` sends data, models and the registry's new records (as content-addressed segments under
``<remote>/mlnb/``); ``pull()`` merges what others pushed; ``status()`` shows what would move and
any alias conflict; ``resolve()`` settles one. See docs/sharing.md.

>>> import mlnb
>>> mlnb.sync.pull()  # doctest: +SKIP
"""

from __future__ import annotations

from ._ops import pull, push, resolve, status

__all__ = ["pull", "push", "resolve", "status"]
