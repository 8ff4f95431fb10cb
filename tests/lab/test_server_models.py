"""/mlnb/api/models... against a real Jupyter server with a token: the listing, a model's versions
page by page, a version's page (lineage, evaluations, gate results), the alias log, and refusals."""

from __future__ import annotations

import pytest

from mlnb.server._routes import MAX_PAGE

from ._lab import Lab
from .conftest import BIG, XSS_NAME


def test_the_listing_has_one_row_per_model(lab: Lab) -> None:
    status, body = lab.api("mlnb/api/models")
    assert status == 200 and body["available"] is True
    rows = {r["name"]: r for r in body["models"]}
    assert [n for n in rows if n in ("churn", "fraud")] == ["churn", "fraud"]  # by name
    churn, fraud = rows["churn"], rows["fraud"]
    assert (churn["latest"], churn["versions"], churn["aliases"]) == ("churn@3", 3, ["champion=3", "staging=2"])
    assert churn["metrics"] == {"auc": 0.9, "f1": 0.85}
    assert (fraud["latest"], fraud["versions"], fraud["aliases"]) == ("fraud@2", 2, ["champion=2"])
    assert lab.api("mlnb/api/status")[1]["areas"]["models"] is True


def test_a_models_versions_come_page_by_page(lab: Lab) -> None:
    status, first = lab.api("mlnb/api/models/churn?limit=2")
    assert status == 200
    assert (first["name"], first["offset"], first["limit"], first["has_more"]) == ("churn", 0, 2, True)
    assert [(v["version"], v["aliases"]) for v in first["versions"]] == [(3, ["champion"]), (2, ["staging"])]
    v3 = first["versions"][0]
    assert v3["metrics"] == {"auc": 0.9, "f1": 0.85} and v3["data"] == ["churn-train@1"] and v3["run_id"]
    assert "signature" not in v3  # the page stays small: the signature is on the version's page
    status, second = lab.api("mlnb/api/models/churn?limit=2&offset=2")
    assert [v["version"] for v in second["versions"]] == [1] and second["has_more"] is False
    assert [v["version"] for v in lab.api("mlnb/api/models/churn")[1]["versions"]] == [3, 2, 1]


def test_a_versions_page_has_lineage_metrics_evaluations_and_gates(lab: Lab) -> None:
    status, v3 = lab.api("mlnb/api/models/churn/3")
    assert status == 200
    assert (v3["ref"], v3["aliases"], v3["data"], v3["message"]) == ("churn@3", ["champion"], ["churn-train@1"], XSS_NAME)
    run = lab.api(f"mlnb/api/runs/{v3['run_id']}")[1]
    assert run["name"] == "train-churn"  # the run link resolves
    assert v3["signature"] == ["tenure", "spend"] and v3["metrics"] == {"auc": 0.9, "f1": 0.85}
    (evaluation,) = v3["evaluations"]
    assert (evaluation["data"], evaluation["target"], evaluation["task"], evaluation["rows"]) == (
        "churn-holdout@1", "churned", "classification", 100)
    assert 0.5 < evaluation["metrics"]["accuracy"] <= 1 and "roc_auc" in evaluation["metrics"]
    (promotion,) = v3["events"]
    assert (promotion["action"], promotion["alias"], promotion["from"], promotion["to"]) == (
        "promote", "champion", "churn@1", "churn@3")
    assert promotion["reason"] == "<script>x</script>" and promotion["forced"] is False
    assert [(g["gate"], g["passed"]) for g in promotion["gates"]] == [
        ("auc >= champion.auc - 0.005", True), ("f1 > 0.8", True)]
    # an alias or latest names a version too; churn@1's page shows it was moved off champion
    assert lab.api("mlnb/api/models/churn/champion")[1]["version"] == 3
    assert lab.api("mlnb/api/models/churn/latest")[1]["version"] == 3
    v1 = lab.api("mlnb/api/models/churn/1")[1]
    assert [(e["from"], e["to"]) for e in v1["events"]] == [("churn@1", "churn@3"), (None, "churn@1")]


def test_the_alias_log_is_newest_first_and_paged(lab: Lab) -> None:
    status, body = lab.api("mlnb/api/models/churn/history")
    assert status == 200 and body["has_more"] is False
    assert [(e["action"], e["alias"], e["from"], e["to"]) for e in body["events"]] == [
        ("set", "staging", None, "churn@2"), ("promote", "champion", "churn@1", "churn@3"),
        ("promote", "champion", None, "churn@1")]
    assert body["events"][0]["user"] and body["events"][0]["host"]
    page = lab.api("mlnb/api/models/churn/history?limit=1&offset=1")[1]
    assert [e["to"] for e in page["events"]] == ["churn@3"] and page["has_more"] is True


@pytest.mark.parametrize("path,status,words", [
    ("models/nope", 404, "no model named 'nope'"),
    ("models/nope/history", 404, "no model named 'nope'"),
    ("models/nope/1", 404, "no model named 'nope'"),
    ("models/churn/9", 404, "no model version 'churn@9'"),
    ("models/churn/gold", 404, "model churn has no alias 'gold'"),
    ("models/churn/bad!alias", 400, "invalid alias"),
    ("models/bad%20name", 400, "invalid model name"),
    ("models/churn?limit=0", 400, "invalid limit='0'"),
    (f"models/churn?limit={MAX_PAGE + 1}", 400, f"from 1 to {MAX_PAGE}"),
    ("models/churn/history?offset=-1", 400, "invalid offset='-1'"),
    ("models/" + "x" * 300, 400, "at most 255"),
])
def test_a_bad_model_request_is_one_json_message(lab: Lab, path: str, status: int, words: str) -> None:
    got, body = lab.api("mlnb/api/" + path)
    assert got == status, (path, got, body)
    assert set(body) == {"error", "message"} and words in body["message"], body
    assert body["error"] == ("not_found" if status == 404 else "bad_request")


# -- 10,000 versions --------------------------------------------------------------------------

def test_ten_thousand_versions_are_served_a_page_at_a_time(big_lab: Lab) -> None:
    (big,) = big_lab.api("mlnb/api/models")[1]["models"]
    assert (big["versions"], big["latest"]) == (BIG, f"big@{BIG}")
    # the seeded aliases (the browser test, sharing this server, may have added one since)
    assert {"champion=9000", f"staging={BIG}"} <= set(big["aliases"]), big["aliases"]
    first = big_lab.api("mlnb/api/models/big")[1]  # 50 by default
    assert [v["version"] for v in first["versions"]] == list(range(BIG, BIG - 50, -1)) and first["has_more"]
    assert first["versions"][0]["aliases"] == ["staging"]
    widest = big_lab.api(f"mlnb/api/models/big?limit={MAX_PAGE}&offset=800")[1]
    assert [v["version"] for v in widest["versions"]] == list(range(BIG - 800, BIG - 800 - MAX_PAGE, -1))
    assert widest["versions"][200]["aliases"] == ["champion"] and widest["has_more"]
    last = big_lab.api(f"mlnb/api/models/big?limit=50&offset={BIG - 30}")[1]
    assert [v["version"] for v in last["versions"]] == list(range(30, 0, -1)) and not last["has_more"]
    assert big_lab.api(f"mlnb/api/models/big?offset={BIG}")[1]["versions"] == []
    assert big_lab.api(f"mlnb/api/models/big?limit={MAX_PAGE + 1}")[0] == 400
    v9000 = big_lab.api("mlnb/api/models/big/champion")[1]
    assert v9000["version"] == 9000 and v9000["events"][0]["gates"][0]["passed"] is True


def test_a_page_is_read_with_sql_limits_not_sliced_in_python(big_lab: Lab) -> None:
    """The statements behind a page of versions and of events carry LIMIT/OFFSET, and the rows read
    back are one page and one more, not the model's 10,000 versions."""
    from sqlalchemy import event

    import mlnb
    from mlnb._project import Project, using_project
    from mlnb.server import _areas
    from mlnb.store import registry

    project = Project(big_lab.root)
    seen: list[str] = []

    def note(conn, cursor, statement, params, context, many) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = registry(project).engine
    event.listen(engine, "after_cursor_execute", note)
    try:
        with using_project(project):
            page = _areas.model_versions(project, "big", 20, 100)
            versions_sql = [s for s in seen if "FROM model_versions" in s and "ORDER BY model_versions.version DESC" in s]
            seen.clear()
            events = _areas.model_history(project, "big", 1, 0)
            events_sql = [s for s in seen if "FROM alias_events" in s]
            rows = mlnb.models.log("big", limit=21, offset=100)
            newest = [e["alias"] for e in mlnb.models.history("big", limit=1)]
    finally:
        event.remove(engine, "after_cursor_execute", note)
        project.close()
    assert [v["version"] for v in page["versions"]] == list(range(BIG - 100, BIG - 120, -1)) and page["has_more"]
    assert len(rows) == 21  # a page and one more: the listing never holds the other 9,979
    assert versions_sql and all("LIMIT" in s and "OFFSET" in s for s in versions_sql), versions_sql
    assert [e["alias"] for e in events["events"]] == newest and len(newest) == 1 and events["has_more"]
    assert events_sql and all("LIMIT" in s for s in events_sql), events_sql
