"""`init --remote` with a folder that cannot be made: one line, and nothing half-initialised."""

from __future__ import annotations

from tests.conftest import run_cli


def test_init_with_an_unusable_remote_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    root = tmp_path / "p"
    out = run_cli("init", str(root), "--remote", str(blocker / "store"), cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "cannot use" in out.stderr and str(blocker / "store") in out.stderr
    assert not (root / ".dvc").exists() and not (root / ".mlnb").exists()  # nothing half-done
    fine = run_cli("init", str(root), "--remote", str(tmp_path / "store"), cwd=tmp_path, check=True)
    assert str(tmp_path / "store") in fine.stdout


def test_init_inside_a_project_uses_that_project(project, monkeypatch, tmp_path):
    import pytest

    import mlnb
    from mlnb.errors import UsageError

    notebooks = project.root / "notebooks"
    notebooks.mkdir()
    monkeypatch.chdir(notebooks)  # `cd notebooks && jupyter lab`, then `%mlops init`
    result = mlnb.init(remote=str(tmp_path / "other-remote"))
    assert result["root"] == str(project.root) and result["remote"] == str((tmp_path / "other-remote").resolve())
    assert not (notebooks / ".mlnb").exists() and not (notebooks / ".dvc").exists()
    with pytest.raises(UsageError, match="is inside the mlnb project at"):
        mlnb.init("sub")
    assert not (notebooks / "sub").exists()
