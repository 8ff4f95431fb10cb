"""`mlnb serve` over real HTTP: KServe V1, Open Inference V2, health, metadata, shadows, the token."""

from __future__ import annotations

import time

import mlnb
from tests.serve._server import TOKEN


def switch(server, **kwargs) -> int:
    """Deploy and wait until the server answers with the new routing; its number."""
    seq = mlnb.models.deploy("churn", **kwargs).routing.extra["seq"]
    server.wait_for_routing(seq)
    return seq


def test_v1_rows_as_objects_or_lists_and_who_answered(server):
    seq = switch(server, to="champion")
    with server.client() as c:
        r = c.post("/v1/models/churn:predict", json={"instances": [{"tenure": 2.0, "spend": 0}, [-2.0, 0.5]]},
                   headers={"x-request-id": "req-1"})
    assert r.status_code == 200, r.text
    body = r.json()
    expected = mlnb.models.load("churn@1").predict(
        __import__("pandas").DataFrame({"tenure": [2.0, -2.0], "spend": [0.0, 0.5]})).tolist()
    assert body["predictions"] == expected
    assert (body["model_version"], body["arm"], body["routing"], body["id"]) == ("1", "champion", seq, "req-1")
    assert (r.headers["x-mlnb-version"], r.headers["x-mlnb-arm"], r.headers["x-mlnb-routing"],
            r.headers["x-request-id"]) == ("1", "champion", str(seq), "req-1")


def test_v2_infer_health_and_metadata(server):
    seq = switch(server, to="green")
    with server.client() as c:
        r = c.post("/v2/models/churn/infer", json={"id": "v2-7", "inputs": [
            {"name": "tenure", "shape": [3], "datatype": "FP64", "data": [1.0, -1.0, 3]},
            {"name": "spend", "shape": [3], "datatype": "FP64", "data": [0.0, 0.0, 1.5]}]})
        assert r.status_code == 200, r.text
        out = r.json()
        assert (out["model_name"], out["model_version"], out["id"], out["parameters"]) == (
            "churn", "2", "v2-7", {"arm": "green", "routing": seq})
        assert out["outputs"][0]["name"] == "predict" and out["outputs"][0]["shape"] == [3]
        assert out["outputs"][0]["datatype"] == "INT64" and len(out["outputs"][0]["data"]) == 3
        assert r.headers["x-mlnb-arm"] == "green"
        assert c.get("/v2/health/live").json() == {"live": True}
        assert c.get("/v2/health/ready").json() == {"ready": True}
        assert c.get("/v2/models/churn/ready").json() == {"name": "churn", "ready": True}
        assert c.get("/v1/models/churn").json() == {"name": "churn", "ready": True}
        meta = c.get("/v2/models/churn").json()
        assert meta["versions"] == ["2"]
        assert meta["inputs"] == [{"name": "tenure", "datatype": "FP64", "shape": [-1]},
                                  {"name": "spend", "datatype": "FP64", "shape": [-1]}]
        assert c.get("/v2/models/other").status_code == 404
        missing = c.post("/v1/models/other:predict", json={"instances": [[1, 2]]})
        assert missing.status_code == 404 and "this server serves churn, not 'other'" in missing.json()["error"]


def test_shadows_get_copies_and_only_the_live_answer_returns(server):
    switch(server, to="champion", shadow="challenger")
    ids = [f"shadowed-{i}" for i in range(5)]
    with server.client() as c:
        for rid in ids:
            r = c.post("/v1/models/churn:predict", json={"instances": [[0.5, 0.1]]}, headers={"x-request-id": rid})
            assert (r.status_code, r.json()["arm"], r.json()["model_version"]) == (200, "champion", "1")
    deadline = time.time() + 5
    while time.time() < deadline and not all(f"request {rid}:" in server.log for rid in ids):
        time.sleep(0.05)
    for rid in ids:
        assert f"shadow challenger (churn@2) request {rid}: [" in server.log


def test_the_token_is_required_except_for_the_health_probes(server):
    body = {"instances": [[0.5, 0.1]]}
    with server.client(token=None) as anonymous, server.client(token="wrong") as wrong, server.client() as right:
        for c in (anonymous, wrong):
            r = c.post("/v1/models/churn:predict", json=body)
            assert r.status_code == 401 and r.json() == {
                "error": "missing or wrong bearer token: send Authorization: Bearer TOKEN"}
            assert c.get("/v2/models/churn").status_code == 401
            assert c.get("/v2/health/ready").status_code == 200
        assert right.post("/v1/models/churn:predict", json=body).status_code == 200
    assert TOKEN not in server.log
    assert server.url.startswith("http://127.0.0.1:")  # this machine only, unless --host says otherwise


def test_metrics_count_answers_per_arm_and_refusals(server):
    from prometheus_client.parser import text_string_to_metric_families

    seq = switch(server, to="green")

    def scrape(c) -> dict:
        r = c.get("/metrics")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for fam in text_string_to_metric_families(r.text) for s in fam.samples}

    green = ("mlnb_requests_total", (("arm", "green"), ("model", "churn"), ("protocol", "v1"), ("version", "2")))
    refused = ("mlnb_request_errors_total", (("model", "churn"), ("status", "400")))
    latency = ("mlnb_request_seconds_count", (("arm", "green"), ("model", "churn"), ("version", "2")))
    with server.client() as c:
        before = scrape(c)
        for _ in range(7):
            assert c.post("/v1/models/churn:predict", json={"instances": [[0.1, 0.2]]}).status_code == 200
        for _ in range(3):
            assert c.post("/v1/models/churn:predict", content=b"{").status_code == 400
        after = scrape(c)
        assert server.client(token=None).get("/metrics").status_code == 401
    assert after[green] - before.get(green, 0) == 7
    assert after[latency] - before.get(latency, 0) == 7
    assert after[refused] - before.get(refused, 0) == 3
    assert after[("mlnb_routing", (("model", "churn"),))] == seq
