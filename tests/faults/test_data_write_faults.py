"""Data writes (add, save) under concurrency, bad inputs, a stale git lock and a full disk:
every registered version loads exactly, and a refused write changes nothing saved."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import mlnb
from mlnb.errors import Busy, MlnbError, UsageError
from tests.conftest import run_cli
from tests.faults._harness import assert_cache_is_sound
from tests.faults._harness import assert_one_line_error, snapshot, spawn

SAVER = """
import sys, pandas as pd, mlnb
i = int(sys.argv[1]) if len(sys.argv) > 1 else {i}
df = pd.DataFrame({{"who": [i] * 50, "x": list(range(i, i + 50))}})
v = mlnb.data.save(df, "shared", message=str(i))
print(v.version, v.md5, flush=True)
"""

ADDER = """
import os, time, mlnb
from mlnb._project import current_project
mlnb.data.list(); current_project().dvc  # warm up, then start together: the race is in the add itself
print("ready", flush=True)
while not os.path.exists("go"):
    time.sleep(0.005)
v = mlnb.data.add("data/one.csv", name="one")
print(v.version, v.md5, flush=True)
"""


def frame(i: int) -> pd.DataFrame:
    return pd.DataFrame({"who": [i] * 50, "x": list(range(i, i + 50))})


def assert_every_version_loads(name: str) -> list[pd.DataFrame]:
    """Each registered version of ``name`` reads back; returns the frames."""
    frames = []
    for row in mlnb.data.log(name).to_dict():
        frames.append(mlnb.data.load(f"{name}@{row['version']}"))
    return frames


def test_concurrent_saves_register_exactly_what_each_saved(project):
    children = [spawn(SAVER.format(i=i), project.root) for i in range(4)]
    results = [c.communicate(timeout=300) for c in children]
    for child, (out, err) in zip(children, results):
        assert child.returncode == 0, err
    versions = {int(out.split()[0]): out.split()[1] for out, _ in results}
    assert sorted(versions) == [1, 2, 3, 4]
    for row in mlnb.data.log("shared").to_dict():
        v = mlnb.data.load(f"shared@{row['version']}")
        who = int(v["who"][0])
        pd.testing.assert_frame_equal(v, frame(who))
        assert row["message"] == str(who)
    assert {int(mlnb.data.load(f"shared@{n}")["who"][0]) for n in range(1, 5)} == {0, 1, 2, 3}
    assert not list(project.root.glob("data/.*mlnb-tmp"))
    assert_cache_is_sound(project.root)


def test_concurrent_adds_of_one_file_make_one_version(project):
    (project.root / "data").mkdir()
    frame(7).to_csv(project.root / "data/one.csv", index=False)
    children = [spawn(ADDER, project.root) for _ in range(6)]
    for child in children:
        assert child.stdout.readline().strip() == "ready"
    (project.root / "go").write_text("")
    results = [c.communicate(timeout=300) for c in children]
    for child, (_out, err) in zip(children, results):
        assert child.returncode == 0, err
    assert {out.strip() for out, _ in results} == {"1 " + mlnb.data.resolve("one@1").md5}
    assert len(mlnb.data.log("one")) == 1
    pd.testing.assert_frame_equal(mlnb.data.load("one@1"), frame(7))


def test_save_into_csv_dataset_writes_csv(project):
    (project.root / "data").mkdir()
    frame(1).to_csv(project.root / "data/t.csv", index=False)
    mlnb.data.add("data/t.csv", name="t")
    v = mlnb.data.save(frame(2), "t")
    assert v.ref == "t@2" and v.path == "data/t.csv"
    assert (project.root / "data/t.csv").read_text().startswith("who,x\n2,2\n")
    pd.testing.assert_frame_equal(mlnb.data.load("t@2"), frame(2))
    pd.testing.assert_frame_equal(mlnb.data.load("t@1"), frame(1))


def test_save_into_a_format_it_cannot_write_is_refused(project):
    (project.root / "data").mkdir()
    frame(1).to_json(project.root / "data/j.json")
    mlnb.data.add("data/j.json", name="j")
    before = snapshot(project.root)
    with pytest.raises(UsageError, match="parquet, csv or tsv"):
        mlnb.data.save(frame(2), "j")
    assert snapshot(project.root) == before


def test_stale_git_index_lock_is_one_line_and_changes_nothing(project):
    mlnb.data.save(frame(1), "s")
    lock = project.root / ".git/index.lock"
    lock.write_text("")
    before = snapshot(project.root)
    with pytest.raises(MlnbError, match=r"index.lock is left over .* \(rm ") as info:
        mlnb.data.save(frame(2), "s")
    assert "\n" not in str(info.value)
    assert snapshot(project.root) == before
    lock.unlink()
    assert mlnb.data.save(frame(2), "s").version == 2


def test_git_lock_of_a_running_git_is_busy_not_stale(project):
    mlnb.data.save(frame(1), "s")
    (project.root / ".git/index.lock").write_text("")
    alive = subprocess.Popen(["git", "cat-file", "--batch"], cwd=project.root, stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL)  # a git that stays alive in this repository
    try:
        before = snapshot(project.root)
        with pytest.raises(Busy, match="git is busy in this repository"):
            mlnb.data.save(frame(2), "s")
        assert snapshot(project.root) == before
    finally:
        alive.communicate(b"")


def test_git_lock_appearing_mid_write_rolls_back(project, monkeypatch):
    """The lock can appear after the check (a user's git): DVC's staging then fails, and the .dvc
    file, the working file and the index are put back."""
    from mlnb.data import _write

    mlnb.data.save(frame(1), "s")
    before = snapshot(project.root)
    real = _write._begin

    def begin_then_lock(*args, **kwargs):
        real(*args, **kwargs)
        (project.root / ".git/index.lock").write_text("")

    with monkeypatch.context() as patched:
        patched.setattr(_write, "_begin", begin_then_lock)
        with pytest.raises(MlnbError, match="index.lock is left over") as info:
            mlnb.data.save(frame(2), "s")
    assert "\n" not in str(info.value)
    (project.root / ".git/index.lock").unlink()
    after = snapshot(project.root)
    # git's index could not be written, so the journal stays for the next write to finish the undo
    journal = {k for k in after["files"] if k.startswith(".mlnb/tmp/data-write/")}
    assert ".mlnb/tmp/data-write/manifest.json" in journal
    after["files"] = {k: v for k, v in after["files"].items() if k not in journal}
    assert after == before
    assert mlnb.data.save(frame(2), "s").version == 2


BAD_INPUTS = [
    # (what, setup(root) -> argv, exit code, words in the line)
    ("corrupt parquet", lambda r: _write_bytes(r / "data/bad.parquet", b"PAR1 not really parquet"),
     ["data", "add", "data/bad.parquet"], 3, "not a readable parquet"),
    ("truncated parquet", lambda r: _truncated_parquet(r / "data/cut.parquet"),
     ["data", "add", "data/cut.parquet"], 3, "not a readable parquet"),
    ("link outside the project", lambda r: _outside_link(r), ["data", "add", "data/linked"], 2, "outside the project"),
    ("missing file", lambda r: None, ["data", "add", "data/nope.csv"], 3, "does not exist"),
    ("git internals", lambda r: None, ["data", "add", ".git"], 2, "cannot be versioned"),
]


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)


def _truncated_parquet(path: Path) -> None:
    path.parent.mkdir(exist_ok=True)
    frame(1).to_parquet(path)
    path.write_bytes(path.read_bytes()[:-20])


def _outside_link(root: Path) -> None:
    outside = root.parent / "secret.txt"
    outside.write_text("not project data\n")
    (root / "data/linked").mkdir(parents=True)
    (root / "data/linked/ok.txt").write_text("mine\n")
    (root / "data/linked/secret.txt").symlink_to(outside)


@pytest.mark.parametrize(("what", "setup", "argv", "code", "words"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_add_is_one_line_and_changes_nothing(project, what, setup, argv, code, words):
    mlnb.data.save(frame(0), "keep")
    setup(project.root)
    before = snapshot(project.root)
    line = assert_one_line_error(run_cli(*argv, cwd=project.root), code)
    assert words in line
    assert snapshot(project.root) == before


def test_mixed_type_column_is_one_line_and_changes_nothing(project):
    mlnb.data.save(frame(0), "mixed")
    before = snapshot(project.root)
    with pytest.raises(UsageError, match="one type") as info:
        mlnb.data.save(pd.DataFrame({"a": [1, "two", 3.0]}), "mixed")
    assert "\n" not in str(info.value)
    assert snapshot(project.root) == before
    assert len(mlnb.data.log("mixed")) == 1


def test_disk_full_add_is_one_line_leaves_nothing(small_project):
    from tests.faults.conftest import fill

    disk, root = small_project(24 * 1024**2)
    (root / "data").mkdir()
    (root / "data/big.bin").write_bytes(os.urandom(4 * 1024**2))
    filler = fill(disk, leave=1024**2)  # the 4 MiB copy into the cache cannot fit
    before = snapshot(root)
    proc = run_cli("data", "add", "data/big.bin", cwd=root)
    line = assert_one_line_error(proc, 3)
    assert "disk is full" in line
    assert snapshot(root) == before
    assert not list((root / ".dvc/cache").rglob("*.tmp"))
    filler.unlink()
    assert run_cli("data", "add", "data/big.bin", cwd=root).returncode == 0
    assert_cache_is_sound(root)
    subprocess.run(["true"], check=True)



@pytest.mark.parametrize("left", ["", '{"read": {}, "wr'], ids=["empty", "cut-short"])
def test_a_dvc_rwlock_cut_short_by_a_kill_does_not_block_the_next_write(project, left):
    """DVC truncates, then writes ``.dvc/tmp/rwlock`` on every command: a Ctrl-C or kill between
    the two left it unreadable, and every later write failed on it (found by the SIGINT trials of
    test_data_write_interrupts.py). The next data write repairs it and works."""
    mlnb.data.save(pd.DataFrame({"x": [1, 2]}), "t")
    rwlock = project.root / ".dvc" / "tmp" / "rwlock"
    rwlock.write_text(left)
    v = mlnb.data.save(pd.DataFrame({"x": [3, 4]}), "t")
    assert v.version == 2 and mlnb.data.load("t@2")["x"].tolist() == [3, 4]
    assert isinstance(json.loads(rwlock.read_text()), dict)
