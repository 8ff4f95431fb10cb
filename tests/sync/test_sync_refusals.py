"""Segments that fail their hash, or hold what this mlnb cannot read, are refused by name with
nothing merged; a remote that cannot be written is one clear line."""

from __future__ import annotations

import subprocess

import pytest

import mlnb
from mlnb.sync._segment import encode
from tests.conftest import run_cli
from tests.faults._harness import assert_one_line_error, snapshot


def _used(project) -> None:
    """A clone that has been used: its registry and lock folder exist (as after any command)."""
    from mlnb._lock import project_lock
    from mlnb.store import registry

    registry(project)
    with project_lock(project.root, "sync"):
        pass


def _segments(remote):
    return sorted((remote / "mlnb" / "segments").glob("*.json.gz"))


@pytest.fixture
def pushed(clones):
    with clones.at(clones.a):
        with mlnb.start_run(name="r") as run:
            run.log_metric("m", 1.0)
        mlnb.push(data=False)
    return clones


def test_damaged_segment_is_refused_by_name(pushed):
    [seg] = _segments(pushed.remote)
    blob = bytearray(seg.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    seg.write_bytes(bytes(blob))
    _used(pushed.b)
    before = snapshot(pushed.b.root)
    proc = run_cli("pull", "--no-data", cwd=pushed.b.root)
    line = assert_one_line_error(proc, 3)
    assert seg.name.split(".")[0] in line and "does not match its hash" in line and "nothing was merged" in line
    assert snapshot(pushed.b.root) == before


@pytest.mark.parametrize("tables, says", [
    ({"runs": (["id", "colour"], [["x", "red"]])}, "column(s) colour of runs"),
    ({"telemetry": (["id"], [[1]])}, "table 'telemetry'"),
    ({"run_params": (["run_id", "key", "value", "num"], [["nosuchrun", "k", "1", 1.0]])}, "nothing was merged"),
])
def test_unreadable_segment_is_refused_and_nothing_merged(pushed, tables, says):
    name, blob = encode(tables)
    (pushed.remote / "mlnb" / "segments" / f"{name}.json.gz").write_bytes(blob)
    _used(pushed.b)
    before = snapshot(pushed.b.root)
    proc = run_cli("pull", "--no-data", cwd=pushed.b.root)
    line = assert_one_line_error(proc, 3)
    assert says in line
    assert snapshot(pushed.b.root) == before  # the good segment was not merged either


def test_read_only_remote_is_one_line(clones, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(ro)], check=True)
    try:
        with clones.at(clones.a):
            clones.a.set_remote(str(ro))
            with mlnb.start_run(name="r"):
                pass
        _used(clones.a)
        before = snapshot(clones.a.root)
        for args in (["push", "--no-data"], ["push"]):
            proc = run_cli(*args, cwd=clones.a.root)
            line = assert_one_line_error(proc, 3)
            assert str(ro) in line and ("read-only" in line.lower() or "permission" in line), line
        assert snapshot(clones.a.root) == before
    finally:
        subprocess.run(["umount", "-l", str(ro)], check=False)


def test_record_the_database_refuses_refuses_its_segment(pushed):
    # a run without its NOT NULL start time: decodes, but the registry refuses the row
    name, blob = encode({"runs": (["id", "name", "status", "started_at"], [("f" * 32, "x", "finished", None)])})
    (pushed.remote / "mlnb" / "segments" / f"{name}.json.gz").write_bytes(blob)
    _used(pushed.b)
    before = snapshot(pushed.b.root)
    line = assert_one_line_error(run_cli("pull", "--no-data", cwd=pushed.b.root), 3)
    assert name in line and "the registry refused a record" in line
    assert snapshot(pushed.b.root) == before
