"""The generated BentoML service really serves: `bentoml serve` in its own venv, real HTTP.

The venv is built once and cached (MLNB_TEST_VENVS, default ~/.cache/mlnb-test-venvs), keyed by
the pinned packages, so reruns only start the server.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import urllib.request
from pathlib import Path


import mlnb
from mlnb.serve import manifests
from mlnb.serve._routing import Arm, Routing

from .._http import wait_until_up
from .._venvs import venv_python
from ..models.conftest import make_churn


#: read at import, before the test fixtures point HOME at an empty folder


def bento_python() -> Path:
    """A venv with bentoml and this process's scikit-learn/skops/numpy/pandas versions."""
    import numpy
    import pandas
    import sklearn
    import skops

    pins = ["bentoml>=1.4,<2", f"scikit-learn=={sklearn.__version__}", f"skops=={skops.__version__}",
            f"numpy=={numpy.__version__}", f"pandas=={pandas.__version__}"]
    return venv_python("bentoml", pins)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def test_bentoml_serves_the_routing(project, tmp_path):
    c = make_churn()
    one = mlnb.models.register("churn", c.weak, data=c.X, format="pickle")
    mlnb.models.set_alias(one.ref, "champion")
    three = mlnb.models.register("churn", c.strong, data=c.X)  # skops: loaded safely in the service
    routing = Routing("churn", (Arm("champion", 50), Arm(str(three.version), 50, name="b")),
                      strategy="ab", key="customer_id")
    out = tmp_path / "bento"
    written = manifests(routing, "bentoml", out, trusted=True)
    assert {p.name for p in written} == {"service.py", "bentofile.yaml", "champion.pkl", "b.skops"}

    python = bento_python()
    port = free_port()
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml-home"), "BENTOML_DO_NOT_TRACK": "true"}
    env.pop("PYTHONPATH", None)  # the service runs without mlnb
    log = open(tmp_path / "serve.log", "w")
    server = subprocess.Popen([str(python), "-m", "bentoml", "serve", "service:Service", "--port", str(port),
                               "--host", "127.0.0.1"], cwd=out, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/readyz", server, 60, tmp_path / "serve.log", "bentoml serve")
        rows = c.holdout[["tenure", "spend"]].head(20).reset_index(drop=True)
        models = {"champion": c.weak, "b": c.strong}
        arms = {}
        for i, row in rows.iterrows():
            instance = {"customer_id": f"c{i}", **row.to_dict()}
            got = post(f"http://127.0.0.1:{port}/predict", {"instances": [instance]})
            assert got["model"] == "churn" and got["arm"] in models
            assert got["predictions"] == models[got["arm"]].predict(rows.iloc[[i]]).tolist()
            again = post(f"http://127.0.0.1:{port}/predict", {"instances": [instance]})
            assert again["arm"] == got["arm"]  # sticky per customer_id
            arms[got["arm"]] = got["version"]
        assert arms == {"champion": one.version, "b": three.version}  # both arms answered, 20 keys
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        log.close()
