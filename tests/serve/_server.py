"""A real `mlnb serve` process for tests (through mlnb.serve.start), with an HTTP client and a wait
for a routing."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx

from mlnb.serve._process import Server

TOKEN = "s3cret-token"
T = TypeVar("T")


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)`` in a thread of its own: a session's Playwright (the browser tests)
    keeps an event loop running in the main thread, where asyncio.run() refuses to start another."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


class ServerProcess(Server):
    """``mlnb serve MODEL --port 0 ...`` in ``root``."""

    def __init__(self, root: Path, model: str, *args: str) -> None:
        super().__init__(model, "--port", "0", *args, cwd=root)
        self.root = root

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def wait_for_routing(self, seq: int, token: str | None = TOKEN, timeout: float = 10) -> float:
        """Seconds until the server answers with routing ``seq``."""
        start = time.time()
        with self.client(token) as c:
            while time.time() - start < timeout:
                if c.get(f"/v2/models/{self.model}").json()["parameters"]["routing"]["extra"]["seq"] == seq:
                    return time.time() - start
                time.sleep(0.02)
        raise AssertionError(f"the server did not switch to routing #{seq} in {timeout} s:\n{self.log}")
