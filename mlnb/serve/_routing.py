"""A model's routing: which versions answer its requests, with what share of the traffic.

A routing is a value: a model name and its arms. Each arm names a target — an alias
(``champion``) or a version number (``"4"``) of that model — a weight in percent, and whether it
is live (its answers are returned) or a shadow (it receives copies; its answers are only logged).
The live weights add up to 100. A sticky ``key`` (a request field such as ``customer_id``) sends
every request with the same key to the same arm.

The strategies of ``mlnb deploy`` are shapes of this one value:

=============  =======================================================
single         one live arm at 100 (``--to champion``; blue-green is a switch of it)
canary         the stable arm at 100 - p, the canary arm at p
ab             two or more live arms, usually equal, usually with a key
shadow         one live arm at 100 plus shadow arms at 0
=============  =======================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError

STRATEGIES = ("single", "canary", "ab", "shadow")
_ARM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")


@dataclass(frozen=True)
class Arm:
    """One destination of a model's traffic."""

    target: str  # an alias of the model, or a version number as text ("4")
    weight: float  # percent of live traffic; 0 for a shadow
    shadow: bool = False
    name: str = ""  # how responses, logs and metrics name the arm; the target when empty

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name or self.target)

    @property
    def label(self) -> str:
        return self.name

    def ref(self, model: str) -> str:
        """The model reference this arm resolves: ``churn@champion`` or ``churn@4``."""
        return f"{model}@{self.target}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.label, "target": self.target, "weight": self.weight, "shadow": self.shadow}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Arm:
        return cls(target=str(d["target"]), weight=float(d["weight"]), shadow=bool(d.get("shadow", False)),
                   name=str(d.get("name") or ""))


@dataclass(frozen=True)
class Routing:
    """The arms serving one model, and why they were set."""

    model: str
    arms: tuple[Arm, ...]
    strategy: str = "single"
    key: str | None = None  # a request field that keeps each key on one arm
    reason: str = ""
    user: str | None = None
    created_at: float | None = None
    id: int | None = None  # the registry event that set it; None until saved
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    @property
    def live(self) -> tuple[Arm, ...]:
        return tuple(a for a in self.arms if not a.shadow)

    @property
    def shadows(self) -> tuple[Arm, ...]:
        return tuple(a for a in self.arms if a.shadow)

    def validate(self) -> None:
        """Raise one clear ``UsageError`` when the arms cannot route traffic."""
        if self.strategy not in STRATEGIES:
            raise UsageError(f"unknown strategy {self.strategy!r}: use one of {', '.join(STRATEGIES)}")
        if not self.live:
            raise UsageError(f"routing for {self.model!r} has no live arm: name at least one target that answers")
        labels = [a.label for a in self.arms]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise UsageError(f"arm {dupes[0]!r} appears twice: give each arm its own target or name")
        for a in self.arms:
            if not _ARM.match(a.label) or not _ARM.match(a.target):
                raise UsageError(f"arm {a.label!r}: targets are an alias or a version number (letters, digits, _ and -)")
            if a.shadow and a.weight != 0:
                raise UsageError(f"shadow arm {a.label!r} takes no traffic share: its weight must be 0, not {a.weight:g}")
            if not a.shadow and not 0 < a.weight <= 100:
                raise UsageError(f"arm {a.label!r} has weight {a.weight:g}: live weights are percentages above 0 and at most 100")
        total = sum(a.weight for a in self.live)
        if abs(total - 100) > 1e-9:
            raise UsageError(f"live weights of {self.model!r} add up to {total:g}, not 100: adjust --traffic")

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "strategy": self.strategy, "key": self.key,
                "arms": [a.to_dict() for a in self.arms], "reason": self.reason, "user": self.user,
                "created_at": self.created_at, "id": self.id, **({"extra": self.extra} if self.extra else {})}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Routing:
        return cls(model=str(d["model"]), arms=tuple(Arm.from_dict(a) for a in d["arms"]),
                   strategy=str(d.get("strategy") or "single"), key=d.get("key"), reason=str(d.get("reason") or ""),
                   user=d.get("user"), created_at=d.get("created_at"), id=d.get("id"), extra=dict(d.get("extra") or {}))
