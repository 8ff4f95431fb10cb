"""``mlnb.serve.start``: ``mlnb serve`` in a child process, for a notebook (whose own event loop
cannot host the server) or a script; the handle knows the URL and stops it."""

from __future__ import annotations

import atexit
import os
import re
import subprocess
import sys
import threading
from typing import Any

from .._project import current_project
from ..errors import MlnbError


#: servers this process started: stopped when it exits (a notebook's children never outlive its kernel)
STARTED: list[Server] = []


@atexit.register
def _stop_started() -> None:
    for server in STARTED:
        server.stop()


class Server:
    """A running ``mlnb serve`` child: ``url``, ``log`` (its output so far), ``stop()``."""

    def __init__(self, model: str, *args: str, timeout: float = 120, cwd: Any = None) -> None:
        self.model = model
        root = cwd or current_project().root
        self.proc = subprocess.Popen([sys.executable, "-m", "mlnb", "serve", model, *args], cwd=root,
                                     env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.lines: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        self._ready.wait(timeout)
        found = re.search(r"on (http://\S+?) ", self.log)
        if found is None:
            self.stop()
            last = self.lines[-1].strip() if self.lines else f"nothing within {timeout:g} s"
            raise MlnbError(f"mlnb serve {model} did not start: {last}")
        self.url = found[1]
        STARTED.append(self)

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.lines.append(line)
            if line.startswith("mlnb: serving"):
                self._ready.set()
        self._ready.set()  # it ended: whoever waits sees why

    @property
    def log(self) -> str:
        return "".join(self.lines)

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        """Stop the server (SIGTERM: in-flight requests finish and the prediction log is flushed)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "url": getattr(self, "url", None), "pid": self.proc.pid,
                "running": self.running}

    def to_json(self) -> str:
        import json

        return json.dumps(self.to_dict())

    def __str__(self) -> str:
        state = "serving" if self.running else "stopped"
        return f"mlnb serve {self.model}: {state} on {getattr(self, 'url', '?')} (pid {self.proc.pid}); .stop() ends it"

    __repr__ = __str__


def start(model: str, port: int = 0, host: str = "127.0.0.1", token: str | None = None, poll: float = 0.25,
          log: bool = True, monitor_every: float = 60.0, batching: bool = True, batch_max: int = 64,
          batch_wait_ms: float = 2.0) -> Server:
    """Start ``mlnb serve MODEL`` in a child process and return once it answers (``port`` 0: a free one);
    the options are :func:`mlnb.serve.serve`'s.

    >>> server = mlnb.serve.start("churn")   # doctest: +SKIP
    >>> server.url, server.stop()            # doctest: +SKIP
    """
    args = ["--port", str(port), "--host", host, "--poll", str(poll), "--batch-max", str(batch_max),
            "--batch-wait-ms", str(batch_wait_ms)]
    if token:
        args += ["--token", token]
    if not log:
        args.append("--no-log")
    args += ["--monitor-every", f"{monitor_every:g}s"]
    if not batching:
        args.append("--no-batching")
    return Server(model, *args)
