"""`mlnb doctor` on a healthy project, its displays, a live server, and Jupyter extensions disabled
by the real `jupyter` commands. The faults it must find are in tests/faults/test_monitor_doctor.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import mlnb
from tests.conftest import git, run_cli

JUPYTER = Path(sys.executable).with_name("jupyter")


def cpu_of_children() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_a_healthy_project_passes_fast_and_the_probe_leaves_nothing(project, tmp_path):
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", "project")
    remote = tmp_path / "remote"
    before = sorted(p.name for p in remote.rglob("*"))
    used = cpu_of_children()
    proc = run_cli("doctor", "--json")
    used = cpu_of_children() - used  # CPU seconds: what the doctor costs, however loaded the machine is
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["status"] == "ok", out
    rows = {c["check"]: c for c in out["checks"]}
    assert set(rows) == {"git", "dvc", "remote", "disk", "registry", "runs", "lab extension", "server extension",
                         "servers", "monitoring"}
    assert "reachable and writable" in rows["remote"]["detail"]
    assert rows["registry"]["detail"].endswith(f"schema version {len(__import__('mlnb.store._schema').store._schema.MIGRATIONS)}")
    assert sorted(p.name for p in remote.rglob("*")) == before  # the probe object was removed
    assert used < 2.0, f"mlnb doctor took {used:.2f} s of CPU, start-up and imports included"
    again = mlnb.doctor()
    assert again.status == "ok" and again.exit_code == 0


def test_uncommitted_dvc_files_warn_without_failing(project):
    mlnb.data.save(__import__("pandas").DataFrame({"a": [1, 2]}), "tiny")
    result = mlnb.doctor()
    assert result["git"]["level"] == "warn" and "tiny" in result["git"]["detail"]
    assert result.exit_code == 0


def test_one_table_in_text_html_json_and_the_magic(project, ipython, capsys):
    result = mlnb.doctor()
    text = str(result)
    assert text.splitlines()[0].startswith("mlnb doctor:") and "check" in text.splitlines()[1]
    html = result._repr_html_()
    assert html.count("<tr>") == len(result.rows) + 1 and "registry" in html
    assert list(result.to_frame().columns) == ["check", "level", "detail", "fix"]
    ipython.run_cell("%mlops doctor --json", store_history=False)
    shown = json.loads(capsys.readouterr().out)
    assert [c["check"] for c in shown["checks"]] == [r["check"] for r in result.rows]


def test_a_recorded_server_is_pinged(served_churn, monkeypatch):
    monkeypatch.chdir(served_churn.root)
    rows = [r for r in mlnb.doctor(served_churn.root).rows if r["check"] == "servers"]
    assert [r["level"] for r in rows] == ["ok"]
    assert f"pid {served_churn.proc.pid}" in rows[0]["detail"] and "ready" in rows[0]["detail"]
    monitoring = mlnb.doctor(served_churn.root)["monitoring"]
    assert monitoring["level"] == "warn" and "no monitoring check yet" in monitoring["detail"]


def test_extensions_disabled_by_jupyter_are_errors(project, tmp_path, monkeypatch):
    if not JUPYTER.exists():
        pytest.skip("jupyter is not installed in this environment")
    config = tmp_path / "jupyter-config"
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(config))  # the user level, private to this test
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "0")  # ... ranked above the venv's level (as outside a venv)
    assert mlnb.doctor()["lab extension"]["level"] == "ok"
    env = dict(os.environ)
    subprocess.run([str(JUPYTER), "labextension", "disable", "--level=user", "mlnb"], check=True, capture_output=True,
                   env=env)
    # `jupyter server extension disable --user` refuses an extension enabled at another level, so the
    # user-level file is written as a user would; jupyter itself must then list it disabled
    (config / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": {"jpserver_extensions": {"mlnb.server": False}}}))
    listed = subprocess.run([str(JUPYTER), "server", "extension", "list"], capture_output=True, text=True, env=env)
    user_part = (listed.stdout + listed.stderr).split(f"Config dir: {config}")[1].split("Config dir:")[0]
    assert "mlnb.server" in user_part and "disabled" in user_part
    proc = run_cli("doctor", "--json")
    assert proc.returncode == 1, proc.stderr
    rows = {c["check"]: c for c in json.loads(proc.stdout)["checks"]}
    assert rows["lab extension"]["level"] == "error" and "jupyter labextension enable mlnb" in rows["lab extension"]["fix"]
    assert rows["server extension"]["level"] == "error" and "disabled" in rows["server extension"]["detail"]
    assert "mlnb doctor: 2 error(s)" in run_cli("doctor").stdout


def test_a_server_that_does_not_answer_is_an_error(served_churn):
    os.kill(served_churn.proc.pid, signal.SIGSTOP)  # alive, but answers nothing
    try:
        proc = run_cli("doctor", "--json", cwd=served_churn.root)
    finally:
        os.kill(served_churn.proc.pid, signal.SIGCONT)
    assert proc.returncode == 1, proc.stderr
    row = next(c for c in json.loads(proc.stdout)["checks"] if c["check"] == "servers")
    assert row["level"] == "error" and "does not answer /v2/health/ready" in row["detail"]
    assert "mlnb serve churn" in row["fix"]


def test_a_killed_server_leaves_a_stale_record_that_warns(served_churn):
    code = ("import os\nfrom mlnb._project import current_project\nfrom mlnb.serve._records import recorded\n"
            "with recorded(current_project(), 'churn', 'http://127.0.0.1:9'):\n    os.kill(os.getpid(), 9)\n")
    child = subprocess.Popen([sys.executable, "-c", code], cwd=served_churn.root)
    assert child.wait(30) == -9
    stale = served_churn.root / ".mlnb" / "servers" / f"churn-{child.pid}.json"
    assert stale.exists()
    try:
        proc = run_cli("doctor", "--json", cwd=served_churn.root)
        rows = [c for c in json.loads(proc.stdout)["checks"] if c["check"] == "servers"]
        assert sorted(r["level"] for r in rows) == ["ok", "warn"], rows
        warn = next(r for r in rows if r["level"] == "warn")
        assert f"pid {child.pid}" in warn["detail"] and "stopped without removing its record" in warn["detail"]
        assert str(stale) in warn["fix"]
        assert proc.returncode == 0  # a warning does not fail
    finally:
        stale.unlink(missing_ok=True)


@pytest.mark.postgres
def test_a_postgresql_registry(postgres_url, tmp_path, monkeypatch):
    from tests._postgres import _free_port, fresh_project

    monkeypatch.setenv("MLNB_REGISTRY_URL", postgres_url)
    for project in fresh_project(tmp_path, monkeypatch):
        from mlnb.store._schema import MIGRATIONS

        row = mlnb.doctor()["registry"]
        assert row["level"] == "ok" and row["detail"].endswith(f"connected, schema version {len(MIGRATIONS)}"), row
        assert "password" not in row["detail"]
        monkeypatch.setenv("MLNB_REGISTRY_URL", f"postgresql+psycopg://127.0.0.1:{_free_port()}/nothing")
        proc = run_cli("doctor", "--json")
        assert proc.returncode == 1, proc.stderr
        down = next(c for c in json.loads(proc.stdout)["checks"] if c["check"] == "registry")
        assert down["level"] == "error" and "refused" in down["detail"].lower() and down["fix"], down
