"""Every strategy's split measured on a real server over at least 2,000 requests: within 3 points
of its weight; a sticky key always lands on one arm."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable

import mlnb

REQUESTS = int(os.environ.get("MLNB_SPLIT_REQUESTS", "2000"))
CLIENTS = 4


def fire(server, n: int, row: Callable[[int], object]) -> list[dict]:
    """``n`` requests from CLIENTS threads; request ``i`` sends ``row(i)``; every answer, in order of i."""
    answers: list[dict | None] = [None] * n
    failed: list[str] = []

    def worker(start: int) -> None:
        with server.client() as c:
            for i in range(start, n, CLIENTS):
                r = c.post("/v1/models/churn:predict", json={"instances": [row(i)]})
                if r.status_code != 200:
                    failed.append(r.text)
                else:
                    answers[i] = r.json()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failed == []
    return answers  # type: ignore[return-value]


def shares(answers: list[dict]) -> dict[str, float]:
    counts = Counter(a["arm"] for a in answers)
    return {arm: 100 * k / len(answers) for arm, k in counts.items()}


def route(server, **kwargs) -> int:
    seq = mlnb.models.deploy("churn", **kwargs).routing.extra["seq"]
    server.wait_for_routing(seq)
    return seq


def plain(i: int) -> list[float]:
    return [(i % 13) / 6 - 1, 0.5]


def test_single_and_blue_green_take_everything(server):
    seq = route(server, to="blue")
    answers = fire(server, REQUESTS, plain)
    assert {(a["arm"], a["model_version"], a["routing"]) for a in answers} == {("blue", "1", seq)}


def test_canary_share(server):
    route(server, to="champion")
    seq = route(server, canary="challenger", traffic=10)
    answers = fire(server, REQUESTS, plain)
    split = shares(answers)
    print("canary 90/10:", split)
    assert abs(split["challenger"] - 10) <= 3 and abs(split["champion"] - 90) <= 3
    assert {(a["arm"], a["model_version"]) for a in answers} == {("champion", "1"), ("challenger", "2")}
    assert {a["routing"] for a in answers} == {seq}


def test_ab_share_without_a_key(server):
    route(server, ab=["champion", "challenger"])
    split = shares(fire(server, max(REQUESTS, 3000), plain))  # 3,000: the 3-point band is 3.3 standard errors
    print("ab 50/50:", split)
    assert abs(split["champion"] - 50) <= 3 and abs(split["challenger"] - 50) <= 3


def test_sticky_ab_keeps_every_key_on_one_arm(server):
    route(server, ab="champion,challenger", traffic="70,30", key="customer_id")
    keyed = lambda i: {"tenure": (i % 13) / 6 - 1, "spend": 0.5, "customer_id": f"cust-{i % REQUESTS}"}  # noqa: E731
    first = fire(server, REQUESTS, keyed)
    split = shares(first)
    print("sticky ab 70/30:", split)
    assert abs(split["champion"] - 70) <= 3 and abs(split["challenger"] - 30) <= 3
    again = fire(server, REQUESTS, keyed)  # every key a second time, in another order of arrival
    arms: dict[str, set[str]] = {}
    for i, a in enumerate(first + again):
        arms.setdefault(f"cust-{i % REQUESTS}", set()).add(a["arm"])
    assert len(arms) == REQUESTS and all(len(v) == 1 for v in arms.values())


def test_shadow_answers_nothing_and_gets_every_copy(server):
    route(server, to="champion", shadow="challenger")
    with server.client() as c:
        before = c.get("/v2/models/churn").json()["parameters"]["shadow_copies"]
    answers = fire(server, REQUESTS, plain)
    assert {(a["arm"], a["model_version"]) for a in answers} == {("champion", "1")}
    deadline, after = time.time() + 30, before
    with server.client() as c:
        while time.time() < deadline:
            after = c.get("/v2/models/churn").json()["parameters"]["shadow_copies"]
            if sum(after.values()) - sum(before.values()) >= REQUESTS:
                break
            time.sleep(0.1)
    got = {k: after[k] - before[k] for k in after}
    print("shadow copies:", got)
    assert got["failed"] == 0 and got["answered"] + got["dropped"] == REQUESTS
    assert got["answered"] >= 0.9 * REQUESTS  # a copy is dropped only when its queue is full
