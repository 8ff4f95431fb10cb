"""Waiting for a server process the tests start to answer over HTTP."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float, log: Path, what: str) -> None:
    """Return once ``url`` answers 200; fail with the tail of ``log`` (the server's output, a file:
    a pipe nobody reads can fill and stall the server) if ``proc`` ends or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{what} did not start:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)
