"""A real `mlnb serve` process for tests (through mlnb.serve.start), with an HTTP client and a wait
for a routing."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from mlnb.serve._process import Server

TOKEN = "s3cret-token"


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
