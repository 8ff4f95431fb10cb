"""What a server answers with right now: the routing in force with every arm's model loaded.

A :class:`Live` is immutable. A request takes the one in force when it arrives and keeps it to the
end, so a routing change never moves a request that is already being answered.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from dataclasses import dataclass
from typing import Any

from ._routing import Routing


@dataclass(frozen=True)
class LiveArm:
    """One arm with the version it resolved to and that version's loaded model."""

    label: str
    weight: float
    shadow: bool
    version: Any  # mlnb.models.ModelVersion
    model: Any

    @property
    def columns(self) -> list[str] | None:
        """The signature's columns in training order (``None`` without a signature)."""
        return list(self.version.signature["columns"]) if self.version.signature else None


@dataclass(frozen=True)
class Live:
    """The routing in force and its loaded arms."""

    routing: Routing
    arms: tuple[LiveArm, ...]
    shadows: tuple[LiveArm, ...]

    @property
    def seq(self) -> int:
        return int(self.routing.extra.get("seq", 0))

    @property
    def versions(self) -> dict[str, int]:
        return {a.label: a.version.version for a in (*self.arms, *self.shadows)}

    def choose(self, key: Any = None, rng: random.Random | None = None) -> LiveArm:
        """The live arm for one request: by its sticky key when the routing has one, else at random,
        each arm with the probability of its weight."""
        point = sticky_point(self.routing.model, key) if key is not None else (rng or random).random() * 100
        edges = self._edges()
        return self.arms[min(bisect.bisect_right(edges, point), len(self.arms) - 1)]

    def _edges(self) -> list[float]:
        total, edges = 0.0, []
        for arm in self.arms:
            total += arm.weight
            edges.append(total)
        return edges


def sticky_point(model: str, key: Any) -> float:
    """A stable point in [0, 100) for a key value: the same in every process and on every run
    (a keyed hash, not Python's per-process ``hash()``)."""
    digest = hashlib.blake2b(f"{model}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 * 100
