"""SIGINT and SIGKILL at random points of `add` and `save`: a version is registered whole or not
at all, every registered version loads exactly, the cache stays sound, and the next write works.

Trials per case: ``trials(6)`` (tests/faults/_harness.py: ``MLNB_FAULT_TRIALS=N`` for more), the
signals spread over the span of a timed, uninterrupted write of the same kind; the landings are
counted and most must land mid-write.
"""

from __future__ import annotations

import hashlib
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import mlnb
from mlnb.data import _write
from tests.faults._harness import (assert_cache_is_sound, assert_most_landed, delays, interrupt, spawn, time_child,
                                   trials)

TRIALS = trials(6)

CHILD = """
import sys, mlnb
from mlnb._project import current_project
from tests.faults.test_data_write_interrupts import frame, content
seed = {seed}
op = {op!r}
if op == "cli-add":
    import mlnb.cli, mlnb.data._track_fast, mlnb.data._write  # warm up: only what the command imports
else:
    mlnb.data.list(); current_project().dvc  # warm up, so that the signal lands in the write itself
if op == "save":
    df = frame(seed)
    print("start", flush=True)
    mlnb.data.save(df, "s", message=str(seed))
elif op == "cli-add":  # the command's own path for a new file (mlnb/data/_track_fast.py)
    from mlnb.cli import main
    open("data/a.bin", "wb").write(content(seed))
    print("start", flush=True)
    import contextlib, io
    with contextlib.redirect_stdout(io.StringIO()):
        rc = main(["data", "add", "data/a.bin", "--name", "a", "-m", str(seed)])
    if rc:
        sys.exit(rc)  # 130: interrupted
    assert "dvc.repo" not in sys.modules, "the full path added it, not mlnb/data/_track_fast.py"
else:
    open("data/a.bin", "wb").write(content(seed))
    print("start", flush=True)
    mlnb.data.add("data/a.bin", name="a", message=str(seed))
print("done", flush=True)
"""


def frame(seed: int) -> pd.DataFrame:
    """A frame that takes a noticeable moment to write and track."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"seed": np.full(200_000, seed), "x": rng.random(200_000)})


def content(seed: int) -> bytes:
    return np.random.default_rng(seed).bytes(24 * 1024**2)


def _check(project, name: str, op: str, md5s: dict[int, str]) -> None:
    """Every registered version of ``name`` is what its writer saved; the cache is sound."""
    assert_cache_is_sound(project.root)
    for row in mlnb.data.log(name).to_dict():
        seed = int(row["message"])
        ref = f"{name}@{row['version']}"
        if op == "save":
            pd.testing.assert_frame_equal(mlnb.data.load(ref), frame(seed))
        else:
            assert hashlib.md5(mlnb.data.path(ref).read_bytes()).hexdigest() == md5s[seed]


def _dvc_points_at_registered_or_journaled(project, rel: str, name: str) -> bool:
    """The ``.dvc`` file names a registered version, or a journal will undo it; returns whether
    the write was cut inside its journal (the next write has something to undo or keep)."""
    dvcfile = project.root / f"{rel}.dvc"
    journaled = (_write.journal_dir(project) / "manifest.json").is_file()
    if not dvcfile.exists():
        return journaled
    parsed = yaml.safe_load(dvcfile.read_text())
    if not isinstance(parsed, dict) or not parsed.get("outs"):
        # DVC rewrites a .dvc file in place: a kill can leave it cut short, which only the journal may mend
        assert journaled, f"{rel}.dvc is cut short ({dvcfile.read_text()!r}) and no journal will restore it"
        return journaled
    md5 = parsed["outs"][0]["md5"]
    full = {r["md5"] for r in mlnb.data.log(name).to_dict()}
    assert md5 in full or journaled, f"{rel}.dvc names {md5}, which is neither registered nor being undone"
    return journaled


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
@pytest.mark.parametrize("op", ["add", "cli-add", "save"])
def test_interrupted_writes_leave_whole_versions(project, op, sig):
    name, rel = ("s", "data/s.parquet") if op == "save" else ("a", "data/a.bin")
    (project.root / "data").mkdir(exist_ok=True)
    md5s: dict[int, str] = {0: hashlib.md5(content(0)).hexdigest()}
    # one uninterrupted child doing the same write measures how long it takes here (the machine
    # may be busy), from the line the signal is timed from: the signals land inside the write
    # aim at 60% of the fastest of three: the first, cold child is the slowest, and a span taken
    # from it alone let half the signals land after the write (CI: 3 of 6 SIGINTs mid-save)
    span = 0.6 * min(time_child(spawn(CHILD.format(seed=0, op=op), project.root)) for _ in range(3))
    landed = inside = 0
    for trial, delay in enumerate(delays(TRIALS, span, f"{op}{sig}"), start=1):
        seed = trial
        if op != "save":
            md5s[seed] = hashlib.md5(content(seed)).hexdigest()
        child = spawn(CHILD.format(seed=seed, op=op), project.root)
        hit, _out = interrupt(child, sig, delay)
        landed += hit
        inside += _dvc_points_at_registered_or_journaled(project, rel, name)
        _check(project, name, op, md5s)
        # the retry: the same write again works, undoing whatever the dead one left
        v = _run_op(op, seed, md5s, project.root)
        assert int(v.message) == seed or v.md5 == _expected_md5(op, seed, md5s, project.root)
        assert not (_write.journal_dir(project) / "manifest.json").exists()
        _check(project, name, op, md5s)
        assert not list(project.root.glob("data/.*.mlnb-tmp"))
        # a copy into the cache cut short (mlnb/data/_ingest.py, DVC's own) left no temp file
        assert not list((project.root / ".dvc/cache/files/md5").rglob("*.tmp"))
    print(f"{op} {sig.name}: {TRIALS} trials, {landed} landed mid-write, {inside} inside the journal")
    assert_most_landed(landed, TRIALS, f"{op} {sig.name}")


def _run_op(op: str, seed: int, md5s: dict[int, str], root: Path):
    """Write version ``seed`` in-process; returns the version."""
    if op == "save":
        return mlnb.data.save(frame(seed), "s", message=str(seed))
    data = content(seed)
    md5s[seed] = hashlib.md5(data).hexdigest()
    (root / "data/a.bin").write_bytes(data)
    return mlnb.data.add("data/a.bin", name="a", message=str(seed))


def _expected_md5(op: str, seed: int, md5s: dict[int, str], root: Path) -> str:
    if op != "save":
        return md5s[seed]
    return hashlib.md5((root / "data/s.parquet").read_bytes()).hexdigest()
