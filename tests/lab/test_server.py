"""The /mlnb/api/ routes against a real Jupyter server with a token: auth, data, files, change feed."""

from __future__ import annotations

import re

import pytest

from mlnb.server import ROUTES

from ._lab import Lab, run_python, start_lab
from .conftest import ARTIFACT_TEXT

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _example(pattern: str) -> str:
    return re.sub(r"\([^)]*\)", "x", pattern)


def _methods(handler: type) -> list[str]:
    """The HTTP methods ``handler`` defines itself (not tornado's 405 defaults)."""
    from tornado.web import RequestHandler

    return [m for m in HTTP_METHODS if getattr(handler, m.lower()) is not getattr(RequestHandler, m.lower())]


def test_routes_are_all_under_the_api_prefix() -> None:
    """The routes docs/lab.md and the panel use, and nothing else; each answers GET only."""
    expected = ["status", "version", "runs", "runs/([^/]+)", "compare", "datasets", "datasets/([^/]+)",
                "datasets/([^/]+)/([^/]+)", "datadiff", "runs/([^/]+)/curate", "models",
                "models/([^/]+)", "models/([^/]+)/history", "models/([^/]+)/([^/]+)", "alerts", "files"]
    assert [pattern for pattern, _, _ in ROUTES] == [f"/mlnb/api/{p}" for p in expected]
    writes = {"/mlnb/api/runs/([^/]+)/curate": ["POST"]}  # the one route that changes anything: curating a run
    for pattern, handler, _ in ROUTES:
        assert _methods(handler) == writes.get(pattern, ["GET"]), f"{handler.__name__} ({pattern}) answers {_methods(handler)}"


@pytest.mark.parametrize("pattern,handler", [(p, h) for p, h, _ in ROUTES], ids=[p for p, *_ in ROUTES])
def test_every_route_refuses_unauthenticated_requests(lab: Lab, pattern: str, handler: type) -> None:
    path = _example(pattern) + "?path=x"
    for method in _methods(handler):
        assert lab.api(path, token=None, method=method)[0] == 403, f"{method} {path} served without a token"
        assert lab.api(path, token="wrong-token", method=method)[0] == 403, f"{method} {path} took a bad token"
    assert lab.api(path)[0] != 403, f"{path} refused the right token"


def test_status_names_the_project_and_areas(lab: Lab) -> None:
    status, body = lab.api("mlnb/api/status")
    assert status == 200
    assert body["project"] == str(lab.root)
    assert body["areas"]["data"] is True and body["areas"]["runs"] is True
    from mlnb._project import Project
    from mlnb.store import registry

    project = Project(lab.root)
    try:  # the change-feed token is the registry's own revision, read the same way from outside
        assert body["version"] == registry(project).revision()
    finally:
        project.close()


def test_datasets_and_versions(lab: Lab) -> None:
    status, body = lab.api("mlnb/api/datasets")
    assert status == 200
    (train,) = [d for d in body["datasets"] if d["name"] == "train"]
    assert train["latest"] == 2 and train["versions"] == 2 and train["rows"] == 4
    status, body = lab.api("mlnb/api/datasets/train")
    assert status == 200
    assert [v["version"] for v in body["versions"]] == [2, 1]
    assert [v["message"] for v in body["versions"]] == ["more rows", "first"]


def test_unknown_dataset_is_a_404_with_a_message(lab: Lab) -> None:
    status, body = lab.api("mlnb/api/datasets/nope")
    assert status == 404
    assert body["error"] == "not_found" and "nope" in body["message"]


def test_alerts_list_firing_then_recent(lab: Lab) -> None:
    status, body = lab.api("mlnb/api/alerts")
    assert status == 200 and body["available"] is True and lab.api("mlnb/api/status")[1]["areas"]["alerts"]
    seeded = [a for a in body["alerts"] if a["model"] in ("churn", "fraud")]  # the panel test adds its own
    rows = [(a["model"], a["status"], a["severity"], a["expression"], a["value"], a["threshold"]) for a in seeded]
    assert rows == [("churn", "firing", "critical", "accuracy < 0.85", 0.8, 0.85),
                    ("fraud", "resolved", "warning", "accuracy < 0.85", 0.9, 0.85)]
    churn, fraud = seeded
    assert churn["resolved_at"] is None and fraud["resolved_at"] >= fraud["started_at"] > 0
    assert churn["window"] == "1D" and churn["window_start"] == 1_795_737_600  # 2026-11-27 UTC


def test_bad_paging_is_a_400(lab: Lab) -> None:
    for query in ("limit=0", "limit=abc", "offset=-1", "limit=100000"):
        status, body = lab.api(f"mlnb/api/runs?{query}")
        assert status == 400, query
        assert body["error"] == "bad_request"


def test_recorded_artifacts_are_served_and_other_project_files_not(lab: Lab) -> None:
    status, body = lab.api("mlnb/api/files?path=reports/summary.txt")
    assert status == 200 and body == ARTIFACT_TEXT.encode()
    (lab.root / "notes.txt").write_text("hello from the project")
    status, body = lab.api("mlnb/api/files?path=notes.txt")
    assert status == 404 and body["error"] == "not_an_artifact"


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "data/../../outside.txt", "link-out/outside.txt"])
def test_files_outside_the_project_are_refused(lab: Lab, path: str) -> None:
    outside = lab.root.parent / "outside.txt"
    outside.write_text("secret")
    link = lab.root / "link-out"
    if not link.exists():
        link.symlink_to(lab.root.parent, target_is_directory=True)
    status, body = lab.api(f"mlnb/api/files?path={path}")
    assert status == 403
    assert body["error"] == "outside_root"


def test_version_changes_when_the_registry_changes(lab: Lab) -> None:
    before = lab.api("mlnb/api/version")[1]["version"]
    assert before == lab.api("mlnb/api/version")[1]["version"]
    run_python(
        "import mlnb, pandas as pd; mlnb.data.save(pd.DataFrame({'z': [1]}), 'feed-check')", lab.root, lab.env
    )
    after = lab.api("mlnb/api/version")[1]["version"]
    assert after != before
    names = [d["name"] for d in lab.api("mlnb/api/datasets")[1]["datasets"]]
    assert "feed-check" in names


def test_runs_pages_follow_each_other(lab: Lab) -> None:
    status, first = lab.api("mlnb/api/runs?limit=2&filter=name%20~%20'baseline'")
    assert status == 200 and first["available"] is True
    assert [r["name"] for r in first["runs"]] == ["baseline-2", "baseline-1"] and first["has_more"] is True
    status, second = lab.api("mlnb/api/runs?limit=2&offset=2&filter=name%20~%20'baseline'")
    assert [r["name"] for r in second["runs"]] == ["baseline-0"] and second["has_more"] is False
    status, by_lr = lab.api("mlnb/api/runs?filter=tags.seed&sort=params.lr")
    assert [r["params"]["lr"] for r in by_lr["runs"]] == [0.001, 0.01, 0.1]


def test_run_detail_and_unknown_run(lab: Lab) -> None:
    run = lab.api("mlnb/api/runs?filter=name%20%3D%20'baseline-1'")[1]["runs"][0]
    status, detail = lab.api(f"mlnb/api/runs/{run['id']}")
    assert status == 200
    assert detail["params"] == {"lr": 0.01, "depth": 3}
    assert detail["metrics"]["accuracy"] == pytest.approx(0.85)
    assert detail["tags"] == ["seed"]
    status, body = lab.api("mlnb/api/runs/ffffffffffff")
    assert status == 404 and "ffffffffffff" in body["message"]


def test_a_bad_filter_is_a_400_naming_the_problem(lab: Lab) -> None:
    status, body = lab.api("mlnb/api/runs?filter=metrics.accuracy%20%3E")
    assert status == 400
    assert body["error"] == "bad_request"
    assert body["message"].startswith("invalid filter 'metrics.accuracy >'"), body["message"]


def test_a_folder_without_a_project_says_so_until_init(tmp_path, lab_project) -> None:  # type: ignore[no-untyped-def]
    _, env = lab_project
    empty = tmp_path / "empty"
    empty.mkdir()
    other = start_lab(empty, tmp_path / "server", env)
    try:
        status, body = other.api("mlnb/api/status")
        assert status == 404 and body["error"] == "not_a_project" and "mlnb init" in body["message"]
        assert other.api("mlnb/api/version") == (200, {"version": None})
        assert other.api("mlnb/api/runs")[0] == 404
        run_python("import mlnb; mlnb.init()", empty, env)
        status, body = other.api("mlnb/api/status")
        assert status == 200 and body["project"] == str(empty)
    finally:
        other.stop()
