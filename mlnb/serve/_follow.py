"""Following the registry: a server notices a routing change (or a moved alias) within a poll
interval, loads the new arms' models, and only then switches to them.

The poll reads the registry's revision (one primary-key read); only when it moved is the routing
read again and resolved. Each version is loaded once and kept.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from .._project import Project
from ..errors import MlnbError, NotFound
from ..store import registry
from ._deploy import routing_in_force
from ._live import Live, LiveArm

log = logging.getLogger("mlnb.serve")


class Follower:
    """The routing in force for one model, kept current by :meth:`refresh`."""

    def __init__(self, project: Project, model: str) -> None:
        self.project, self.model = project, model
        self._models: dict[int, Any] = {}  # version id -> loaded model
        self._lock = threading.Lock()  # one refresh at a time
        self.token = registry(project).revision()
        live = self._build()
        if live is None:
            raise NotFound(f"{model} is not deployed: `mlnb deploy {model} --to champion` routes it first")
        self.current: Live = live
        self.switches = 0

    def refresh(self) -> bool:
        """Switch to the routing in force if the registry changed; True when it switched.

        A routing whose models cannot be resolved or loaded now is skipped (logged): the server
        keeps answering with the one it has."""
        with self._lock:
            token = registry(self.project).revision()
            if token == self.token:
                return False
            try:
                live = self._build()
            except MlnbError as exc:
                log.error("routing of %s not applied, still serving routing #%s: %s", self.model,
                          self.current.seq, exc)
                live = None
            self.token = token
            if live is None or (live.seq == self.current.seq and live.versions == self.current.versions):
                return False
            self.current = live  # one reference swap: requests that took the old one finish on it
            self.switches += 1
            log.info("%s: now serving routing #%s %s", self.model, live.seq, live.versions)
            return True

    def _build(self) -> Live | None:
        from ..models._files import load_file
        from ..models._refs import resolve

        routing = routing_in_force(self.project, self.model)
        if routing is None:
            return None
        arms = []
        for arm in routing.arms:
            version = resolve(arm.ref(self.model), self.project)
            if version.id not in self._models:  # loaded before the switch, never on a request
                self._models[version.id] = load_file(self.project, version)
            arms.append(LiveArm(arm.label, arm.weight, arm.shadow, version, self._models[version.id]))
        return Live(routing, tuple(a for a in arms if not a.shadow), tuple(a for a in arms if a.shadow))
