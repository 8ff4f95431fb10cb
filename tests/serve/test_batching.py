"""Adaptive batching on a real `mlnb serve` (the shared server, batching on by default) under real
concurrent HTTP clients: the same answers as one predict per request, batches really formed (read
from /metrics), arms and routings never mixed in a batch, a bad request failing alone."""

from __future__ import annotations

import asyncio
import os

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import mlnb
from tests.serve._server import TOKEN, run_coroutine
from tests.serve.test_server import switch

REQUESTS = int(os.environ.get("MLNB_BATCH_REQUESTS", "400"))
CLIENTS = 32


@pytest.fixture(autouse=True)
def back_to_champion(server):
    """The shared server's other tests expect churn routed to champion, as it started."""
    yield
    switch(server, to="champion")


def send_all(server, bodies: list[dict]) -> list[httpx.Response]:
    """POST every body to V1 predict from CLIENTS concurrent connections; the responses in order."""

    async def run() -> list[httpx.Response]:
        out: list[httpx.Response | None] = [None] * len(bodies)
        todo = iter(range(len(bodies)))
        limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
        async with httpx.AsyncClient(base_url=server.url, headers={"authorization": f"Bearer {TOKEN}"},
                                     timeout=30, limits=limits) as c:
            async def client() -> None:
                for i in todo:
                    out[i] = await c.post("/v1/models/churn:predict", json=bodies[i])

            await asyncio.gather(*(client() for _ in range(CLIENTS)))
        return out  # type: ignore[return-value]

    return run_coroutine(run())


def batches(server) -> tuple[float, float, float]:
    """(predict calls, rows in them, calls of one row) since the server started, all arms."""
    from prometheus_client.parser import text_string_to_metric_families

    with server.client() as c:
        text = c.get("/metrics").text
    calls = rows = single = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "mlnb_batch_size_count":
                calls += s.value
            elif s.name == "mlnb_batch_size_sum":
                rows += s.value
            elif s.name == "mlnb_batch_size_bucket" and s.labels["le"] == "1.0":
                single += s.value
    return calls, rows, single


def rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"tenure": rng.uniform(-3, 3, n).round(3), "spend": rng.normal(size=n).round(3)})


def test_concurrent_answers_equal_unbatched_and_never_mix_arms_during_a_canary(server):
    seq = switch(server, to="champion", canary="challenger", traffic=50)
    X = rows(REQUESTS, 0)
    solo = {v: [mlnb.models.load(f"churn@{v}").predict(X.iloc[[i]])[0] for i in range(len(X))] for v in (1, 2)}
    disagree = sum(a != b for a, b in zip(solo[1], solo[2]))
    assert disagree > REQUESTS // 4, disagree  # an answer from the other arm's model would show
    before = batches(server)
    answers = send_all(server, [{"instances": [X.iloc[i].tolist()]} for i in range(len(X))])
    after = batches(server)
    assert [r.status_code for r in answers] == [200] * len(X), next(r.text for r in answers if r.status_code != 200)
    seen = set()
    for i, r in enumerate(answers):
        body = r.json()
        seen.add((body["arm"], body["model_version"]))
        assert body["routing"] == seq
        assert body["predictions"] == [solo[int(body["model_version"])][i]], (i, body)
    assert seen == {("champion", "1"), ("challenger", "2")}
    calls, rows_in, single = (a - b for a, b in zip(after, before))
    assert rows_in == len(X)  # every row predicted once
    print(f"{len(X)} requests in {calls:.0f} predict calls ({single:.0f} of one row)")
    # fewer calls than rows: batches of several rows did form (how many depends on the machine's timing)
    assert calls < len(X) and single < calls, (calls, single)


def test_a_request_predict_fails_on_fails_alone_in_its_batch(server):
    """A version whose signature allows nulls (trained data had one) but whose model cannot take a
    NaN: the null passes the checks, fails in predict, and only its own request gets the error."""
    X = rows(300, 1)
    try:
        mlnb.models.resolve("churn@3")
    except mlnb.errors.NotFound:  # once per shared server
        train = X.assign(tenure=X.tenure.where(X.index != 0))  # one null: the signature allows nulls
        model = LogisticRegression().fit(X, (X.tenure > 0).astype(int))
        mlnb.models.register("churn", model, data=train)
    switch(server, to="3")
    bad = set(range(7, len(X), 29))
    bodies = [{"instances": [{"tenure": None if i in bad else X.tenure[i], "spend": X.spend[i]}]}
              for i in range(len(X))]
    expected = mlnb.models.load("churn@3").predict(X).tolist()
    answers = send_all(server, bodies)
    for i, r in enumerate(answers):
        if i in bad:
            assert r.status_code == 500, (i, r.text)
            assert r.json()["error"].startswith("churn@3 could not predict this request: ")
            assert "NaN" in r.json()["error"] and "\n" not in r.json()["error"]
        else:
            assert r.status_code == 200, (i, r.text)
            assert r.json()["predictions"] == [expected[i]]
    assert "answering each alone" in server.log  # a bad request really shared a batch with good ones
