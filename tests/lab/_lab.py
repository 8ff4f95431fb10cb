"""A real JupyterLab server for tests and benchmarks, serving one mlnb project.

The labextension is taken from ``mlnb/labextension`` (built by ``pip install -e .`` or
``jlpm build`` in ``labextension/``) through a private ``JUPYTER_PATH``, and the server extension
is enabled on the command line, so a source checkout is tested as it is, without touching the
user's Jupyter folders.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "mlnb" / "labextension"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(home: Path) -> dict[str, str]:
    """Environment for child processes: the checkout importable, a private git identity."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "MLNB_"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        GIT_AUTHOR_NAME="mlnb test", GIT_AUTHOR_EMAIL="test@example.invalid",
        GIT_COMMITTER_NAME="mlnb test", GIT_COMMITTER_EMAIL="test@example.invalid",
        HOME=str(home),
    )
    return env


def run_python(code: str, cwd: Path, env: dict[str, str]) -> str:
    """Run ``code`` in a fresh interpreter (as a user's notebook or script would)."""
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise AssertionError(f"child python failed:\n{proc.stderr[-3000:]}")
    return proc.stdout


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    log: Path

    def api(self, path: str, token: str | None = "", method: str = "GET", body: bytes | None = None) -> tuple[int, Any]:
        """``(status, json or bytes)`` of a request; ``token=""`` sends the lab token, None none."""
        req = urllib.request.Request(self.url + path.lstrip("/"), method=method, data=body)
        if token is not None:
            req.add_header("Authorization", f"token {token or self.token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                body, status, ctype = resp.read(), resp.status, resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as err:
            body, status, ctype = err.read(), err.code, err.headers.get("Content-Type", "")
        return status, json.loads(body) if "json" in ctype and body else body

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_lab(root: Path, work: Path, env: dict[str, str], bundle: Path = BUNDLE, args: tuple[str, ...] = ()) -> Lab:
    """Start ``jupyter lab`` on a free port with a token, plus ``args``; returns once ``/api/status`` answers."""
    if not (bundle / "package.json").exists():
        raise RuntimeError(
            f"the labextension is not built ({bundle} is missing): run `pip install -e .` "
            "or `jlpm install && jlpm build` in labextension/"
        )
    share = work / "jupyter-path"
    (share / "labextensions").mkdir(parents=True, exist_ok=True)
    link = share / "labextensions" / "mlnb"
    if not link.exists():
        link.symlink_to(bundle, target_is_directory=True)
    config = work / "config"
    config.mkdir(exist_ok=True)
    server_config = {"ServerApp": {"jpserver_extensions": {"mlnb.server": True}}}
    (config / "jupyter_server_config.json").write_text(json.dumps(server_config))
    # no "get Jupyter news?" toast: it would cover the screenshots, and it fetches from the web
    (config / "labconfig").mkdir(exist_ok=True)
    page_config = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}
    (config / "labconfig" / "page_config.json").write_text(json.dumps(page_config))
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **env,
        "JUPYTER_PATH": str(share),
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_DATA_DIR": str(work / "data"),
        "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
    }
    log = work / "lab.log"
    cmd = [
        sys.executable, "-m", "jupyterlab", "--allow-root", "--no-browser", f"--port={port}",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}",
        f"--LabApp.workspaces_dir={work / 'workspaces'}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--FileContentsManager.delete_to_trash=False",
        *args,
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT)
    lab = Lab(f"http://127.0.0.1:{port}/", token, root, env, proc, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if lab.api("api/status")[0] == 200:
                return lab
        except OSError:
            pass
        time.sleep(0.2)
    lab.stop()
    raise RuntimeError(f"jupyter lab did not answer within 60 s:\n{log.read_text()[-3000:]}")
