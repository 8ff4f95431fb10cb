"""The REST routes behind curating runs and the Data tab's version pages, against a real server."""

from __future__ import annotations

import json
import time

from ._lab import Lab, run_python


def _post(lab: Lab, run_id: str, payload: object, token: str | None = "") -> tuple[int, object]:
    return lab.api(f"mlnb/api/runs/{run_id}/curate", token=token, method="POST", body=json.dumps(payload).encode())


def test_curate_route(lab: Lab) -> None:
    name = f"rest-{time.time_ns()}"
    run_id = run_python(f"import mlnb\nwith mlnb.start_run({name!r}) as r: pass\nprint(r.id)", lab.root, lab.env).strip()
    status, body = _post(lab, run_id, {"action": "note", "value": "from REST"})
    assert status == 200 and body["note"] == "from REST"
    assert _post(lab, run_id, {"action": "archive"})[1]["lifecycle"] == "archived"
    status, page = lab.api("mlnb/api/runs?lifecycle=archived&limit=500")
    assert run_id in [r["id"] for r in page["runs"]]
    status, page = lab.api("mlnb/api/runs?limit=500")
    assert run_id not in [r["id"] for r in page["runs"]]
    assert _post(lab, run_id, {"action": "restore"})[1]["lifecycle"] == "active"
    assert _post(lab, run_id, {"action": "note"}, token=None)[0] == 403  # no credentials: refused
    for payload, code, said in ((["x"], 400, "send a JSON object"), ({"action": "explode"}, 400, "unknown action"),
                                ({"action": "rename", "value": ""}, 400, "invalid run name"),
                                ({"action": "rename", "value": None}, 400, "invalid run name")):
        status, body = _post(lab, run_id, payload)
        assert status == code and said in body["message"], (payload, status, body)
    status, body = _post(lab, "feedbeef", {"action": "delete"})
    assert status == 404 and body["error"] == "not_found"
    assert lab.api(f"mlnb/api/runs/{run_id}")[1]["name"] == name  # the refused renames changed nothing


def test_version_page_and_diff(lab: Lab) -> None:
    status, body = lab.api("mlnb/api/datasets/train/2")
    assert status == 200 and body["ref"] == "train@2"
    assert [c["column"] for c in body["schema"]] == ["x", "y"]
    assert body["preview"]["columns"] == ["x", "y"] and len(body["preview"]["rows"]) == 4
    status, diff = lab.api("mlnb/api/datadiff?a=train@1&b=train@2")
    assert status == 200 and {"change": "rows", "column": "", "before": 3, "after": 4} in diff["changes"]
    status, body = lab.api("mlnb/api/datadiff?a=train@1&b=nope@1")
    assert status == 404 and "no dataset named 'nope'" in body["message"]
    assert lab.api("mlnb/api/datasets/train/99")[0] == 404
