"""Shadow arms: copies of requests answered off the request path; their answers are logged only.

Copies wait in a bounded queue that one worker drains; when it is full a copy is dropped (and
counted) rather than slowing the live answer. The worker takes every copy waiting (up to a batch)
at once and answers them through a batcher of its own, so a shadow's ``predict`` is shared by
concurrent copies as a live arm's is by concurrent requests.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from ._batch import Batcher
from ._live import LiveArm

log = logging.getLogger("mlnb.serve.shadow")


class Shadows:
    """The queue of shadow copies and its worker (started inside the server's event loop)."""

    def __init__(self, predlog: Any = None, size: int = 1000, batcher: Batcher | None = None) -> None:
        self.size, self.predlog = size, predlog
        self.batcher = batcher or Batcher()
        self.queue: asyncio.Queue[tuple[LiveArm, Any, str, int]] | None = None
        self.answered = self.dropped = self.failed = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.queue = asyncio.Queue(self.size)
        self._task = asyncio.get_running_loop().create_task(self._work())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def submit(self, arm: LiveArm, frame: Any, request_id: str, routing: int) -> None:
        """Queue a copy; never waits."""
        try:
            self.queue.put_nowait((arm, frame, request_id, routing))  # type: ignore[union-attr]
        except asyncio.QueueFull:
            self.dropped += 1

    async def _work(self) -> None:
        queue = self.queue
        assert queue is not None
        while True:
            copies = [await queue.get()]
            while not queue.empty() and len(copies) < self.batcher.max_rows:
                copies.append(queue.get_nowait())
            await asyncio.gather(*(self._answer(*copy) for copy in copies))

    async def _answer(self, arm: LiveArm, frame: Any, request_id: str, routing: int) -> None:
        start = time.perf_counter()
        try:
            out = await self.batcher.predict(arm, routing, frame)  # built in its signature's order
            self.answered += 1
            if self.predlog is not None:
                self.predlog.add(request_id, routing, arm, frame, out, time.perf_counter() - start, shadow=True)
            log.info("shadow %s (%s) request %s: %s", arm.label, arm.version.ref, request_id,
                     _plain(out))
        except Exception as exc:  # a shadow's failure never reaches a client
            self.failed += 1
            log.warning("shadow %s (%s) request %s failed: %s", arm.label, arm.version.ref, request_id, exc)


def _plain(values: Any) -> list[Any]:
    return values.tolist() if hasattr(values, "tolist") else list(values)
