"""The registry database: SQLite under ``.mlnb/`` by default, any SQLAlchemy URL for a team.

``registry(project)`` returns the (cached) :class:`Registry` for a project; its ``write()`` is one
transaction, so a crash never leaves half a record.
"""

from __future__ import annotations

from ._engine import Registry, registry

__all__ = ["Registry", "registry"]
