"""Audit logs that a rollback replays (alias moves, routings).

Each event records what was in force before it. A rollback undoes the latest event not undone
yet, so a second rollback goes one further back: replaying the log as a stack gives the target.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def rollback_target(events: Iterable[tuple[str, T | None]]) -> T | None:
    """What a rollback restores, from ``(action, what was in force before)`` pairs, oldest first.

    ``None`` when nothing earlier is left to go back to.

    >>> rollback_target([("set", None), ("set", 1), ("set", 2), ("rollback", 3)])
    1
    """
    earlier: list[T | None] = []
    for action, before in events:
        if action == "rollback":
            if earlier:
                earlier.pop()
        else:
            earlier.append(before)
    return earlier[-1] if earlier else None
