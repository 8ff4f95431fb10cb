"""A real `mlnb serve` process for tests: started on a free port, its log collected, stopped at the end."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT

TOKEN = "s3cret-token"


class ServerProcess:
    """``python -m mlnb serve MODEL --port 0 ...`` in ``root``; ``url`` once it said it is serving."""

    def __init__(self, root: Path, model: str, *args: str, timeout: float = 120) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen([sys.executable, "-m", "mlnb", "serve", model, "--port", "0", *args],
                                     cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(timeout):
            self.stop()
            raise AssertionError(f"mlnb serve did not start:\n{self.log}")
        found = re.search(r"on http://([\d.]+):(\d+)", self.log)
        assert found, self.log
        self.url = f"http://{found[1]}:{found[2]}"

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.lines.append(line)
            if "mlnb: serving" in line:
                self._ready.set()
        self._ready.set()  # exited: the waiter sees no url

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def wait_for_routing(self, seq: int, token: str | None = TOKEN, timeout: float = 10) -> float:
        """Seconds until the server answers with routing ``seq``."""
        start = time.time()
        with self.client(token) as c:
            while time.time() - start < timeout:
                if c.get("/v2/models/churn").json()["parameters"]["routing"]["extra"]["seq"] == seq:
                    return time.time() - start
                time.sleep(0.02)
        raise AssertionError(f"the server did not switch to routing #{seq} in {timeout} s:\n{self.log}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
