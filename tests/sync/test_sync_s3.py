"""One push and pull through a real S3-compatible server: moto in server mode, in its own venv
(built once, cached like the other anchors' venvs), reached by DVC's own S3 filesystem (dvc-s3).

Skipped, saying why, when dvc-s3 is not installed here or moto[server] cannot be installed.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

import mlnb

from .._venvs import venv_python
from .conftest import registry_records

PIN = "moto[server]>=5,<6"


def moto_python() -> Path:
    return venv_python("moto", [PIN])


@pytest.fixture(scope="module")
def s3_endpoint():
    pytest.importorskip("dvc_s3", reason="dvc-s3 is not installed (pip install 'mlnb[s3]')")
    python = moto_python()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(python), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"moto server exited: {server.stderr.read()[-500:]}")
                time.sleep(0.1)
        urllib.request.urlopen(urllib.request.Request(f"{url}/team-bucket", method="PUT"), timeout=5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def _use_s3(project, endpoint: str) -> None:
    with project.dvc.config.edit() as conf:
        conf["remote"]["s3"] = {"url": "s3://team-bucket/proj", "endpointurl": endpoint}
        conf["core"]["remote"] = "s3"
    with project.dvc.config.edit("local") as conf:
        conf["remote"]["s3"] = {"access_key_id": "testing", "secret_access_key": "testing"}


def test_push_pull_through_s3(clones, s3_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for p in (clones.a, clones.b):
        _use_s3(p, s3_endpoint)
    with clones.at(clones.a):
        mlnb.data.save(__import__("pandas").DataFrame({"v": [1, 2, 3]}), "feat")
        with mlnb.start_run(name="on-s3") as run:
            run.log_metric("loss", 0.5, step=1)
        pushed = mlnb.push()
        assert pushed["records"] > 0 and pushed["remote"].startswith("s3://team-bucket/proj")
    with clones.at(clones.b):
        pulled = mlnb.pull()
        assert pulled["segments"] == 1
        assert mlnb.data.load("feat@1")["v"].tolist() == [1, 2, 3]
    assert registry_records(clones.a) == registry_records(clones.b)
