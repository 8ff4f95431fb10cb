"""``/mlnb/api/files`` serves recorded artifacts only: nothing hidden, nothing outside the server's
root, and never the registry (reading it in the server process would drop SQLite's locks)."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlnb.server._files import Refused, served_file

from ._lab import Lab, run_python, start_lab
from .conftest import ERROR_CODES

UNICODE_NAME = "reports/résumé ✓ 数据.txt"
NEWLINE_NAME = "reports/two\nlines.txt"

ARTIFACTS = f"""
import os, mlnb
os.makedirs("reports", exist_ok=True)
files = {{{UNICODE_NAME!r}: "unicode bytes", {NEWLINE_NAME!r}: "newline bytes",
          "reports/swapped.txt": "recorded bytes", ".hidden-artifact.txt": "hidden bytes"}}
with mlnb.start_run("files-check") as run:
    for name, text in files.items():
        with open(name, "w", encoding="utf-8") as fh:
            fh.write(text)
        run.log_artifact(name)
"""


def files_url(path: str) -> str:
    return "mlnb/api/files?path=" + urllib.parse.quote(path, safe="")


@pytest.fixture(scope="module")
def files_lab(lab: Lab) -> Iterator[Lab]:
    """The session's server, plus a run with odd artifact names, secrets and links to refuse."""
    root = lab.root
    run_python(ARTIFACTS, root, lab.env)
    (root / ".env").write_text("SECRET=1\n")
    (root.parent / "outside.txt").write_text("outside bytes")
    links = {
        "link-dir-out": root.parent,  # a folder link that leaves the root
        "link-passwd.txt": Path("/etc/passwd"),
        "link-env.txt": root / ".env",  # inside the root, but to a hidden file
        "link-registry.db": root / ".mlnb" / "registry.db",
    }
    for name, target in links.items():
        if not (root / name).is_symlink():
            (root / name).symlink_to(target)
    yield lab


REFUSED = [
    ".env", ".git/config", ".dvc/config", ".mlnb/registry.db", ".mlnb/registry.db-wal", ".git/HEAD",
    "./.env", "reports/../.env", "reports/../.mlnb/registry.db", ".hidden-artifact.txt",
    "../outside.txt", "reports/../../outside.txt", "/etc/passwd", "//etc/passwd",
    "link-dir-out/outside.txt", "link-passwd.txt", "link-env.txt", "link-registry.db",
    "%2e%2e/outside.txt", "..%2Foutside.txt", "%2e%2e%2foutside.txt", "%252e%252e%252foutside.txt",
    "%2eenv", "reports\\..\\.env", "notes.txt", "reports", "",
]


#: the contents of the files behind REFUSED: no refusal may carry any of them
LEAKS = ("SECRET=1", "outside bytes", "hidden bytes", "root:x:0:0", "a project file no run recorded")


@pytest.mark.parametrize("path", REFUSED)
def test_only_recorded_artifacts_are_served(files_lab: Lab, path: str) -> None:
    (files_lab.root / "notes.txt").write_text("a project file no run recorded")
    # the encoded forms arrive decoded once by the query string: send them raw as well
    for url in (files_url(path), "mlnb/api/files?path=" + path.replace("\n", "%0A")):
        status, body = files_lab.api(url)
        assert status in (400, 403, 404), (path, status, body)
        assert body["error"] in ERROR_CODES[status] and body["message"], body  # a JSON refusal ...
        assert not any(secret in body["message"] for secret in LEAKS), body  # ... that leaks no content


def test_refusals_say_why(files_lab: Lab) -> None:
    assert files_lab.api(files_url(".env"))[1]["error"] == "hidden"
    assert files_lab.api(files_url(".git/config"))[1]["error"] == "hidden"
    assert files_lab.api(files_url("link-registry.db"))[1]["error"] == "private"
    assert files_lab.api(files_url("../outside.txt"))[1]["error"] == "outside_root"
    assert files_lab.api(files_url("link-dir-out/outside.txt"))[1]["error"] == "outside_root"
    status, body = files_lab.api(files_url("notes.txt"))
    assert (status, body["error"]) == (404, "not_an_artifact")


@pytest.mark.parametrize("name,text", [(UNICODE_NAME, "unicode bytes"), (NEWLINE_NAME, "newline bytes"),
                                       ("reports/summary.txt", "lr=0.001 accuracy=0.9")])
def test_recorded_artifacts_are_served_whatever_their_name(files_lab: Lab, name: str, text: str) -> None:
    status, body = files_lab.api(files_url(name))
    assert status == 200, body
    assert body == text.encode()


def test_an_artifact_swapped_for_a_link_out_is_refused(files_lab: Lab) -> None:
    swapped = files_lab.root / "reports" / "swapped.txt"
    assert files_lab.api(files_url("reports/swapped.txt")) == (200, b"recorded bytes")
    swapped.unlink()
    swapped.symlink_to(files_lab.root.parent / "outside.txt")
    try:
        status, body = files_lab.api(files_url("reports/swapped.txt"))
        assert (status, body["error"]) == (403, "outside_root")
        swapped.unlink()
        swapped.symlink_to(files_lab.root / ".env")
        status, body = files_lab.api(files_url("reports/swapped.txt"))
        assert (status, body["error"]) == (403, "hidden")
    finally:
        swapped.unlink()
        swapped.write_text("recorded bytes")


CLEAN_WRITER = """
import mlnb
from mlnb._project import current_project
from mlnb.store import registry
with mlnb.start_run('after-registry-requests') as run:
    run.log_metric('n', {n})
registry(current_project()).engine.dispose()  # closes cleanly: SQLite checkpoints, deletes the WAL
"""


def test_the_panel_still_sees_new_runs_after_requests_for_the_registry(files_lab: Lab) -> None:
    """Opening and closing registry.db in the server process drops the SHARED lock its SQLite
    connection holds; a writer closing cleanly then thinks it is the last one, deletes the WAL the
    server still has open, and the server never sees a later commit. So the registry is never read."""
    assert files_lab.api("mlnb/api/runs?limit=1")[0] == 200  # the server holds a connection (and its lock)
    for path in (".mlnb/registry.db", "link-registry.db", "reports/../.mlnb/registry.db", ".mlnb/registry.db-wal"):
        for _ in range(3):
            assert files_lab.api(files_url(path))[0] in (403, 404)
    before = files_lab.api("mlnb/api/version")[1]["version"]
    assert files_lab.api("mlnb/api/runs?filter=name%20%3D%20'after-registry-requests'")[1]["runs"] == []
    for n in range(3):
        run_python(CLEAN_WRITER.format(n=n), files_lab.root, files_lab.env)
        assert files_lab.api("mlnb/api/version")[1]["version"] != before
        before = files_lab.api("mlnb/api/version")[1]["version"]
        status, page = files_lab.api("mlnb/api/runs?filter=name%20%3D%20'after-registry-requests'&sort=metrics.n")
        assert status == 200
        assert [r["metrics"]["n"] for r in page["runs"]] == list(range(n + 1))


def test_allow_hidden_serves_hidden_artifacts_but_never_the_registry(files_lab: Lab, tmp_path: Path) -> None:
    """Jupyter's own switch lifts the hidden rule; the artifact rule still keeps .env out, and the
    registry is refused even when a run logged it as an artifact."""
    run_python("import mlnb\nwith mlnb.start_run('logs-the-registry') as r: r.log_artifact('.mlnb/registry.db')",
               files_lab.root, files_lab.env)
    other = start_lab(files_lab.root, tmp_path / "server", files_lab.env, args=("--ContentsManager.allow_hidden=True",))
    try:
        assert other.api(files_url(".hidden-artifact.txt")) == (200, b"hidden bytes")
        for path in (".env", ".git/config"):
            status, body = other.api(files_url(path))
            assert (status, body["error"]) == (404, "not_an_artifact"), path
        for path in (".mlnb/registry.db", "link-registry.db", ".mlnb/registry.db-wal", ".mlnb/config.yaml"):
            status, body = other.api(files_url(path))
            assert (status, body["error"]) == (403, "private"), path
        assert other.api(files_url("../outside.txt"))[1]["error"] == "outside_root"
    finally:
        other.stop()


def test_a_registry_kept_elsewhere_in_the_root_is_never_served(tmp_path: Path) -> None:
    """``MLNB_REGISTRY_URL=sqlite:///<root>/reg.db``: not hidden, recorded as an artifact, still refused."""
    root = tmp_path / "root"
    (root / "reports").mkdir(parents=True)
    for name in ("reg.db", "reg.db-wal", "reports/ok.txt"):
        (root / name).write_text("bytes")
    database = root / "reg.db"
    private = (root / ".mlnb", *(database.with_name(database.name + end) for end in ("", "-wal", "-shm")))
    for raw in ("reg.db", "reg.db-wal", "reports/../reg.db"):
        with pytest.raises(Refused) as refused:
            served_file(raw, root, root, True, lambda path: True, private)
        assert refused.value.code == "private", raw
    assert served_file("reports/ok.txt", root, root, False, lambda path: True, private) == root / "reports" / "ok.txt"


def test_a_server_rooted_below_the_project_serves_nothing_above_its_root(
    lab_project: tuple[Path, dict[str, str]], files_lab: Lab, tmp_path: Path
) -> None:
    root, env = lab_project
    sub = root / "served"
    sub.mkdir(exist_ok=True)
    inner = start_lab(sub, tmp_path / "server", env)
    try:
        assert inner.api("mlnb/api/status")[1]["project"] == str(root)
        status, body = inner.api(files_url("reports/summary.txt"))
        assert (status, body["error"]) == (403, "outside_root")
    finally:
        inner.stop()
        os.rmdir(sub)
