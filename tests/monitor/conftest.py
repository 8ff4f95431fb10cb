"""Shared by the monitoring tests: one project with a deployed model and a real `mlnb serve` on it."""

from __future__ import annotations

import time

import pytest

REQUESTS = 12
INSTANCES = 4  # rows per request: 48 rows, past the report's smallest window (30 rows)


@pytest.fixture(scope="package")
def served_churn(tmp_path_factory):
    """churn@1 deployed, a real `mlnb serve churn` (prediction log on) that answered REQUESTS
    requests of INSTANCES rows each, their log flushed to disk; the server keeps running for the package's tests."""
    from tests._postgres import package_project
    from tests.models.conftest import make_churn
    from tests.serve._server import TOKEN, ServerProcess

    base = tmp_path_factory.mktemp("monitor-served")
    for project in package_project(base):
        import mlnb

        churn = make_churn()
        mlnb.models.register("churn", churn.weak, data=churn.X)
        mlnb.models.deploy("churn", to="1")
        server = ServerProcess(project.root, "churn", "--token", TOKEN, "--poll", "0.2")
        try:
            with server.client() as c:
                for i in range(REQUESTS):
                    rows = churn.X.iloc[i * INSTANCES:(i + 1) * INSTANCES].to_dict("records")
                    assert c.post("/v1/models/churn:predict", json={"instances": rows}).status_code == 200
            _wait_for_log(project, REQUESTS * INSTANCES)
            yield server
        finally:
            server.stop()


def _wait_for_log(project, rows: int, timeout: float = 10) -> None:
    from mlnb._project import using_project
    from mlnb.monitor import read_log

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with using_project(project):
            if len(read_log("churn", ["latency_ms"], outcomes=False)) >= rows:
                return
        time.sleep(0.05)
    raise AssertionError(f"the prediction log did not reach {rows} rows in {timeout} s")
