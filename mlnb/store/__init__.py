"""The registry database: SQLite under ``.mlnb/`` by default, any SQLAlchemy URL for a team.

``registry(project)`` returns the (cached) :class:`Registry` for a project; its ``write()`` is one
transaction, so a crash never leaves half a record.
"""

from __future__ import annotations

from .._lazy import lazy_exports

# lazy, so that the SQLAlchemy-free `_file` module (the CLI's fast reads) loads without SQLAlchemy
__getattr__, __dir__, __all__ = lazy_exports(__name__, {"Registry": "_engine", "registry": "_engine"})
