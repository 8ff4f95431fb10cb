"""The A/B analysis over a real ``mlnb serve``: the ids the server logs are the ones a client joins
outcomes on (the request id, ``<request id>/<row>`` for several instances), the arm and version of
each answer are the ones counted, shadow answers are not, and ``routing=`` keeps one routing."""

from __future__ import annotations

import time

import numpy as np
import pytest
from statsmodels.stats.proportion import proportions_ztest

import mlnb
from tests.models.test_abtest import assert_score_interval

RATES = {"champion": 0.10, "challenger": 0.25}  # the simulated conversion rate behind each arm


def test_ab_test_reads_what_the_server_logged(server):
    seq = mlnb.models.deploy("churn", ab=["champion", "challenger"], key="customer_id",
                             shadow="green").routing.extra["seq"]
    server.wait_for_routing(seq)
    rng = np.random.default_rng(3)
    served: dict[str, list[int]] = {"champion": [], "challenger": []}  # outcomes per arm that answered
    answered: dict[str, str] = {}  # id -> arm, as the responses said
    ids, outcomes = [], []
    with server.client() as c:
        for i in range(160):
            rows = [{"tenure": float(rng.normal()), "spend": float(rng.normal()), "customer_id": f"c{i}"}]
            rows *= 3 if i % 4 == 0 else 1  # every fourth request holds three instances
            r = c.post("/v1/models/churn:predict", json={"instances": rows}, headers={"x-request-id": f"ab-{i}"})
            assert r.status_code == 200, r.text
            arm = r.json()["arm"]
            for row in range(len(rows)):
                ids.append(f"ab-{i}/{row}" if len(rows) > 1 else f"ab-{i}")
                outcomes.append(int(rng.random() < RATES[arm]))
                served[arm].append(outcomes[-1])
                answered[ids[-1]] = arm
    assert min(len(v) for v in served.values()) > 60  # the key spread customers over both arms

    deadline = time.time() + 10  # the background writer flushes every 0.5 s
    while time.time() < deadline:
        logged = mlnb.monitor.read_log("churn", ["arm", "routing", "shadow"], outcomes=False, shadow=True)
        mine = logged[logged["routing"] == seq]
        if (~mine["shadow"]).sum() == len(ids) and mine["shadow"].sum() == len(ids):
            break
        time.sleep(0.1)
    live = mine[~mine["shadow"]]
    assert dict(zip(live["id"], live["arm"])) == answered
    assert mlnb.models.log_outcomes("churn", ids, outcomes).unknown == 0

    result = mlnb.models.ab_test("churn", outcome="converted", routing=seq)
    assert result.control == "champion"  # equal weights: the first arm of the routing
    base, other = result.arms
    assert [r["arm"] for r in result.arms] == ["champion", "challenger"]
    assert (base["versions"], other["versions"]) == ([1], [2])
    assert [r["n"] for r in result.arms] == [r["n_outcome"] for r in result.arms] == [
        len(served["champion"]), len(served["challenger"])]
    (k1, n1), (k0, n0) = ((sum(served[a]), len(served[a])) for a in ("challenger", "champion"))
    assert other["p_value"] == pytest.approx(proportions_ztest([k1, k0], [n1, n0])[1], rel=1e-9)
    assert_score_interval({"ci_low": other["diff_low"], "ci_high": other["diff_high"]}, k1, n1, k0, n0)
    assert any(note.startswith("sticky on customer_id") for note in result.notes)
