"""Adaptive batching: concurrent requests to one arm answered by one ``predict`` call.

Each request is checked and turned into its own frame first (a bad row is refused alone, before
it can meet anyone). The frame then joins the queue of its arm *in its routing revision*: batches
never mix arms, versions or routings, so a request still finishes on the model that took it.

One task per queue drains it, one batch at a time. While a batch is being predicted, new requests
queue up; the next batch takes them all at once (up to ``max_rows`` rows, whole requests only). A
request that finds the arm idle waits at most ``wait`` seconds for company, and not even that when
no other request joins within one turn of the event loop: a lone request pays (almost) nothing.
If ``predict`` raises on a batch of several requests, each is predicted alone, so only the request
that caused it gets the error.

Where ``predict`` runs: a fast model (its quickest recent call under ``inline`` seconds, 2 ms by
default: a linear model on a batch of rows) is called on the event loop itself, as a bare endpoint
would; a slower one in a worker thread, so the loop keeps reading requests (the next batch)
meanwhile. Handing each call to a thread and back costs more than such a model's predict: the two
threads take turns on the GIL, and the loop waits for the worker to get it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from ._live import LiveArm

log = logging.getLogger("mlnb.serve")


@dataclass
class _Queue:
    arm: LiveArm
    items: list[tuple[Any, asyncio.Future[Any]]] = field(default_factory=list)
    rows: int = 0
    task: asyncio.Task[None] | None = None


#: recent predict calls whose quickest decides where the next one runs
_TIMED_CALLS = 16


class Batcher:
    """Queues of one server, keyed by (routing, arm, version). ``max_rows`` of 1 or less turns
    batching off: every request is its own ``predict`` call. ``observe(arm, rows)`` is told the
    size of every call (the server's ``mlnb_batch_size`` histogram). A model whose quickest of its
    recent calls took under ``inline`` seconds is called on the event loop (0: always in a thread)."""

    def __init__(self, max_rows: int = 64, wait: float = 0.002,
                 observe: Callable[[LiveArm, int], None] | None = None, inline: float = 0.002) -> None:
        self.max_rows, self.wait, self.observe, self.inline = max_rows, wait, observe, inline
        self._queues: dict[tuple[int, str, int], _Queue] = {}
        self._timings: dict[int, deque[float]] = {}  # per loaded model: seconds of its recent calls

    async def predict(self, arm: LiveArm, routing: int, frame: Any) -> Any:
        """``arm.model.predict(frame)``, possibly as part of a larger call; the same values either way."""
        if self.max_rows <= 1:
            return await self._call(arm, frame)
        key = (routing, arm.label, arm.version.version)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = _Queue(arm)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        queue.items.append((frame, future))
        queue.rows += len(frame)
        if queue.task is None:
            queue.task = asyncio.get_running_loop().create_task(self._drain(key, queue))
        return await future

    async def _drain(self, key: tuple[int, str, int], queue: _Queue) -> None:
        loop = asyncio.get_running_loop()
        try:
            while queue.items:
                deadline = loop.time() + self.wait
                while queue.rows < self.max_rows and loop.time() < deadline:
                    before = len(queue.items)
                    await asyncio.sleep(0)  # requests already on their way join now
                    if len(queue.items) == before:
                        break  # nobody else is coming this turn: do not make the lone request wait
                batch = self._take(queue)
                await self._answer(queue.arm, batch)
        finally:
            queue.task = None
            if not queue.items:
                self._queues.pop(key, None)

    def _take(self, queue: _Queue) -> list[tuple[Any, asyncio.Future[Any]]]:
        """Whole requests from the front, up to ``max_rows`` rows (a bigger request goes alone)."""
        batch, rows = [], 0
        while queue.items and (not batch or rows + len(queue.items[0][0]) <= self.max_rows):
            item = queue.items.pop(0)
            batch.append(item)
            rows += len(item[0])
        queue.rows -= rows
        return batch

    async def _answer(self, arm: LiveArm, batch: list[tuple[Any, asyncio.Future[Any]]]) -> None:
        frames = [frame for frame, _ in batch]
        try:
            out = await self._call(arm, frames[0] if len(frames) == 1 else join(frames))
            if len(out) != sum(len(f) for f in frames):
                raise ValueError(f"predict returned {len(out)} values for {sum(len(f) for f in frames)} rows")
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], error=exc)
                return
            log.info("%s: a batch of %d requests failed (%s); answering each alone", arm.version.ref, len(batch),
                     " ".join(str(exc).split())[:200])
            for frame, future in batch:  # find the request that fails: each alone
                try:
                    _settle(future, await self._call(arm, frame))
                except Exception as alone:
                    _settle(future, error=alone)
            return
        start = 0
        for frame, future in batch:
            _settle(future, out[start:start + len(frame)] if len(batch) > 1 else out)
            start += len(frame)

    async def _call(self, arm: LiveArm, frame: Any) -> Any:
        from anyio import to_thread

        if self.observe is not None:
            self.observe(arm, len(frame))
        timings = self._timings.get(id(arm.model))
        if timings is None:
            timings = self._timings[id(arm.model)] = deque(maxlen=_TIMED_CALLS)
        if timings and min(timings) < self.inline:
            return _timed(arm.model.predict, frame, timings)
        return await to_thread.run_sync(_timed, arm.model.predict, frame, timings)

    def inline_models(self) -> int:
        """How many loaded models are called on the event loop now (for tests and metrics)."""
        return sum(1 for t in self._timings.values() if t and min(t) < self.inline)


def _timed(predict: Callable[[Any], Any], frame: Any, timings: deque[float]) -> Any:
    """``predict(frame)``, its wall time appended to ``timings`` (a failed call is not timed)."""
    start = time.perf_counter()
    out = predict(frame)
    timings.append(time.perf_counter() - start)
    return out


def join(frames: list[Any]) -> Any:
    """The frames one under the other, each column in the dtype the requests had (two requests'
    categorical columns with different categories stay categorical, as either alone would be)."""
    import numpy as np
    import pandas as pd

    first = frames[0]
    if first._mgr.nblocks == 1 and all(f.columns is first.columns and f._mgr.nblocks == 1 for f in frames):
        dtypes = {f._mgr.blocks[0].dtype for f in frames}  # not f.dtypes: that builds a Series per frame
        if len(dtypes) == 1 and np.dtype(dtypes.pop()).kind in "fiub":  # one number block each: stack the arrays
            return pd.DataFrame(np.concatenate([f.to_numpy() for f in frames]), columns=first.columns, copy=False)
    joined = pd.concat(frames, ignore_index=True)
    for name, dtype in frames[0].dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype) and joined[name].dtype != dtype:
            joined[name] = joined[name].astype("category")
    return joined


def _settle(future: asyncio.Future[Any], value: Any = None, error: BaseException | None = None) -> None:
    if future.done():  # its client went away (the request was cancelled)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
