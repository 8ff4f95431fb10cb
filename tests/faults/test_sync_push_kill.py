"""SIGKILL at random points of `mlnb push`: the remote stays valid, and nothing is lost.

Every trial first logs a new run, then kills a push of everything not pushed yet. After each kill
every segment under its name on the remote holds the bytes its name (sha256) promises, and a
fresh clone pulls what is there without a refusal. At the end an unkilled push sends whatever the
killed ones did not, and the clone's registry equals the pusher's, record by record.
Trials: ``trials(6)`` (``MLNB_FAULT_TRIALS=N`` for more).
"""

from __future__ import annotations

import hashlib
import shutil
import signal
import textwrap

import mlnb
from mlnb._project import Project
from tests.faults._harness import assert_most_landed, delays, interrupt, spawn, time_child, trials
from tests.sync.conftest import clones, registry_records  # noqa: F401 - the two-clone fixture

TRIALS = trials(6)
RUNS, POINTS = 150, 200  # enough records for a push that lasts a few tenths of a second

CHILD = textwrap.dedent("""
    import mlnb
    from mlnb._project import current_project
    current_project().dvc  # DVC opened before "start": the kill lands in the push itself
    print("start", flush=True)
    mlnb.push(data=False)
    print("done", flush=True)
""")


def _log_runs(count: int, points: int, tag: str) -> None:
    for r in range(count):
        with mlnb.start_run(name=f"{tag}-{r}") as run:
            run.log_params({"r": r})
            run.log_metrics({"loss": 1.0})
            for step in range(points):
                run.log_metric("acc", step / points, step=step)


def _fastest_push(root, tmp_path) -> float:
    """Seconds of the fastest of three unkilled pushes of the same records, each from a copy of
    the project to a scratch remote (so the project itself has still pushed nothing)."""
    took = []
    for i in range(3):
        copy = tmp_path / f"timing-{i}"
        shutil.copytree(root, copy, symlinks=True)
        Project(copy).set_remote(str(tmp_path / f"scratch-{i}"))
        took.append(time_child(spawn(CHILD, copy)))
    return min(took)


def _assert_remote_valid(remote) -> int:
    segments = sorted((remote / "mlnb" / "segments").glob("*"))
    for seg in segments:
        assert seg.name.endswith(".json.gz"), seg
        assert hashlib.sha256(seg.read_bytes()).hexdigest() == seg.name.split(".")[0], f"damaged {seg.name}"
    return len(segments)


def test_killed_push_leaves_the_remote_valid(clones, tmp_path):
    a, b = clones.a, clones.b
    with clones.at(a):
        _log_runs(RUNS, POINTS, "base")
    span = 0.6 * _fastest_push(a.root, tmp_path)
    landed = 0
    for trial, delay in enumerate(delays(TRIALS, span, "sync-push")):
        with clones.at(a):
            _log_runs(1, 3, f"trial-{trial}")
        hit, _ = interrupt(spawn(CHILD, a.root), signal.SIGKILL, delay)
        landed += hit
        _assert_remote_valid(clones.remote)
        with clones.at(b):
            mlnb.pull(data=False)  # raises on any refused segment
    with clones.at(a):
        mlnb.push(data=False)
    with clones.at(b):
        mlnb.pull(data=False)
    mine, theirs = registry_records(a), registry_records(b)
    assert len(mine["runs"]) == RUNS + TRIALS
    assert mine == theirs
    assert_most_landed(landed, TRIALS, f"push (kills within {span:.2f} s)")


# points go in with their index dropped and rebuilt (mlnb/sync/_records.py `_indexes_after`), as in
# a real clone's pull of 10^5+ points: kills land there too
PULL_CHILD = CHILD.replace("mlnb.push(data=False)", "mlnb.pull(data=False)").replace(
    "import mlnb\n", "import mlnb\nimport mlnb.sync._records as records\nrecords._BULK = 1\n")


def _runs_in(root) -> int:
    """Runs in the clone's registry, after checking that its points' index is there."""
    import sqlite3

    db = root / ".mlnb" / "registry.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master")}
        if "runs" not in tables:  # killed while the registry was being made
            return 0
        assert "ix_run_metrics_run_key_step" in tables, "a killed pull left the points without their index"
        return conn.execute("SELECT count(*) FROM runs").fetchone()[0]


def test_killed_pull_merges_all_or_nothing(clones, tmp_path):
    """A pull is one transaction: killed at any point, the clone holds every record of the
    segment or none, and the next pull completes it."""
    a, b = clones.a, clones.b
    with clones.at(a):
        _log_runs(RUNS, POINTS, "base")
        mlnb.push(data=False)
    b.close()

    def fresh_b() -> None:
        for f in (b.root / ".mlnb").glob("registry.db*"):
            f.unlink()

    took = []
    for _ in range(3):
        fresh_b()
        took.append(time_child(spawn(PULL_CHILD, b.root)))
    span = 0.6 * min(took)
    landed, outcomes = 0, []
    for delay in delays(TRIALS, span, "sync-pull"):
        fresh_b()
        hit, _ = interrupt(spawn(PULL_CHILD, b.root), signal.SIGKILL, delay)
        held = _runs_in(b.root)
        outcomes.append(held)
        assert held in (0, RUNS), f"a killed pull left {held} of {RUNS} runs"
        landed += hit and held == 0
    with clones.at(b):
        mlnb.pull(data=False)
    assert registry_records(a) == registry_records(b)
    assert_most_landed(landed, TRIALS, f"pull (runs held after each kill: {outcomes})")
