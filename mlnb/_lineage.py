"""A hook through which data reads and writes reach whatever records lineage (the active run).

The data area calls :func:`touched` for every version it loads or saves; the runs area sets a
listener while a run is active. Neither area imports the other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

Direction = Literal["input", "output"]
Listener = Callable[[Direction, int], None]

_listeners: list[Listener] = []


def subscribe(listener: Listener) -> Callable[[], None]:
    """Call ``listener(direction, data_version_id)`` on each data access; returns an unsubscribe."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener) if listener in _listeners else None


def touched(direction: Direction, data_version_id: int) -> None:
    for listener in list(_listeners):
        listener(direction, data_version_id)
