"""Where the batcher calls ``predict``: a fast model on the event loop itself (no thread hop), a
slow one in a worker thread so the loop keeps reading requests meanwhile; the answers are the
same either way and a failing call still fails only its own request."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mlnb.serve._batch import Batcher
from mlnb.serve._live import LiveArm
from tests.serve._server import run_coroutine


class Recorder:
    """A model that answers its first column doubled and notes the thread of every call."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds, self.threads = seconds, []

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        self.threads.append(threading.get_ident())
        if (frame["x"] < 0).any():
            raise ValueError("negative x")
        if self.seconds:
            time.sleep(self.seconds)
        return frame["x"].to_numpy() * 2


def arm(model: Recorder) -> LiveArm:
    return LiveArm("a", 100.0, False, SimpleNamespace(version=1, ref="m@1"), model)


def run(batcher: Batcher, live: LiveArm, xs: list[float]) -> tuple[list, int]:
    """Each x as one request, one after another, then all at once; the answers and the loop's thread."""

    async def one(x: float):  # the answer, or the error it raised
        try:
            return await batcher.predict(live, 1, pd.DataFrame({"x": [x]}))
        except ValueError as exc:
            return exc

    async def go() -> tuple[list, int]:
        out = [await one(x) for x in xs]
        return out + list(await asyncio.gather(*(one(x) for x in xs))), threading.get_ident()

    return run_coroutine(go())  # the loop runs in a thread of its own: its id is that thread's


def test_a_fast_model_is_called_on_the_event_loop_after_its_first_call():
    model = Recorder()
    batcher = Batcher(inline=0.05)
    answers, loop_thread = run(batcher, arm(model), [1.0, 2.0, 3.0])
    assert [list(a) for a in answers] == [[2.0], [4.0], [6.0]] * 2
    assert model.threads[0] != loop_thread  # not timed yet: a worker thread
    assert set(model.threads[1:]) == {loop_thread}
    assert batcher.inline_models() == 1


def test_a_slow_model_stays_in_a_worker_thread():
    model = Recorder(seconds=0.01)
    batcher = Batcher(inline=0.002)
    answers, loop_thread = run(batcher, arm(model), [1.0, 2.0])
    assert [list(a) for a in answers] == [[2.0], [4.0]] * 2
    assert loop_thread not in model.threads
    assert batcher.inline_models() == 0


@pytest.mark.parametrize("inline", [0.05, 0.0])
def test_a_failing_request_fails_alone_on_either_path(inline):
    model = Recorder()
    batcher = Batcher(inline=inline)
    answers, _ = run(batcher, arm(model), [1.0, -1.0, 3.0])
    for got in (answers[:3], answers[3:]):  # alone, then in one batch
        assert [list(got[0]), list(got[2])] == [[2.0], [6.0]]
        assert isinstance(got[1], ValueError)
    assert batcher.inline_models() == (inline > 0)
