"""Bad requests to a real server: each a 4xx with a one-line reason; the server keeps serving."""

from __future__ import annotations

import json

import pytest

import mlnb

V1 = "/v1/models/churn:predict"
V2 = "/v2/models/churn/infer"

BAD = [
    # (path, raw body, status, words the one-line reason holds)
    (V1, b"{not json", 400, "the body is not valid JSON"),
    (V1, b"\xff\xfe", 400, "the body is not valid JSON"),
    (V1, b"[1, 2]", 400, "the body is a JSON list, not an object"),
    (V1, b"{}", 400, 'the body needs "instances"'),
    (V1, b'{"instances": []}', 400, 'the body needs "instances"'),
    (V1, b'{"instances": [{"tenure": 1.0}]}', 400, "missing column spend: churn@1 takes tenure, spend"),
    (V1, b'{"instances": [{"tenure": 1.0, "spend": 2, "age": 3}]}', 400, "unknown column 'age'"),
    (V1, b'{"instances": [{"tenure": "high", "spend": 2}]}', 400, 'column tenure row 0: expected a finite number, got \'"high"\''),
    (V1, b'{"instances": [{"tenure": true, "spend": 2}]}', 400, "column tenure row 0: expected a finite number"),
    (V1, b'{"instances": [{"tenure": NaN, "spend": 2}]}', 400, "column tenure row 0: expected a finite number"),
    (V1, b'{"instances": [{"tenure": 1' + b"0" * 400 + b', "spend": 2}]}', 400, "column tenure row 0: expected a finite"),
    (V1, b'{"instances": [[2.0, true]]}', 400, "column spend row 0: expected a finite number"),
    (V1, b'{"instances": [{"tenure": [1], "spend": 2}]}', 400, "column tenure row 0"),
    (V1, b'{"instances": [{"tenure": null, "spend": 2}]}', 400, "the frame does not match the signature of churn@1"),
    (V1, b'{"instances": [[1.0]]}', 400, "instance 0 has 1 values; the model takes 2"),
    (V1, b'{"instances": ["row"]}', 400, "instance 0 is a JSON str"),
    (V2, b'{"instances": [[1, 2]]}', 400, 'the body needs "inputs"'),
    (V2, b'{"inputs": [{"name": "tenure", "data": [1.0]}]}', 400, "missing column spend"),
    (V2, b'{"inputs": [{"name": "tenure", "data": [1.0]}, {"name": "spend", "data": [1.0, 2.0]}]}', 400,
     "every input must hold the same number of values"),
    (V2, b'{"inputs": [{"data": [1.0]}]}', 400, 'input 0 needs a "name"'),
    (V2, b'{"inputs": [{"name": "tenure", "data": 1.0}]}', 400, "\"data\" must be a list"),
    (V2, b'{"inputs": [{"name": "tenure", "data": [1]}, {"name": "tenure", "data": [1]}]}', 400, "given twice"),
    (V1, b'{"instances": [[1, 2]], "pad": "' + b"x" * (5 * 1024 * 1024) + b'"}', 413, "this server takes at most 4,194,304"),
]


@pytest.mark.parametrize(("path", "body", "status", "words"), BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_a_bad_request_gets_a_4xx_with_one_line(server, path, body, status, words):
    with server.client() as c:
        r = c.post(path, content=body, headers={"content-type": "application/json"})
        assert r.status_code == status, r.text
        reason = r.json()["error"]
        assert words in reason and "\n" not in reason and "Traceback" not in reason, reason
        good = c.post(V1, json={"instances": [[0.3, 0.4]]})
        assert good.status_code == 200, good.text


def test_a_body_streamed_without_a_length_is_cut_at_the_limit(server):
    def chunks():
        yield b'{"instances": [[1, 2]], "pad": "'
        for _ in range(600):
            yield b"x" * 8192
        yield b'"}'

    with server.client() as c:
        r = c.post(V1, content=chunks())
        assert r.status_code == 413 and "over 4,194,304 bytes" in r.json()["error"]
        assert c.post(V1, json={"instances": [[0.3, 0.4]]}).status_code == 200


def test_a_sticky_routing_needs_its_key(server):
    seq = mlnb.models.deploy("churn", ab="champion,challenger", key="customer_id").routing.extra["seq"]
    server.wait_for_routing(seq)
    with server.client() as c:
        r = c.post(V1, json={"instances": [[0.3, 0.4]]})
        assert r.status_code == 400 and "send customer_id (a number or text) in each row" in r.json()["error"]
        ok = c.post(V1, json={"instances": [{"tenure": 0.3, "spend": 0.4, "customer_id": "c-1"}]})
        assert ok.status_code == 200, ok.text
    assert json.loads(ok.text)["arm"] in ("champion", "challenger")
    mlnb.models.deploy("churn", to="champion")
