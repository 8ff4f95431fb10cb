"""Curating runs under faults: a batch killed mid-way changes all of its runs or none, and two
processes curating the same runs at once lose no change and no event.

Trials: ``trials(4)`` kills per signal (``MLNB_FAULT_TRIALS=N`` runs N; tests/faults/_harness.py).
"""

from __future__ import annotations

import signal

import pytest
from sqlalchemy import func, select

import mlnb
from mlnb._project import current_project
from mlnb.store import registry
from mlnb.store._schema import run_events, runs
from tests.faults._harness import assert_most_landed, delays, interrupt, spawn, time_child, trials

RUNS = 400
TRIALS = trials(4)

CHILD = """
import json, mlnb
ids = json.load(open("ids.json"))
mlnb.runs.list(limit=1)  # open the registry first: the signal is meant for the curation
print("start", flush=True)
{call}
print("done", flush=True)
"""


def seed(n: int) -> list[str]:
    """``n`` finished runs: one real run copied in bulk (their ids, in order)."""
    with mlnb.start_run("template") as template:
        template.log_metric("loss", 1.0)
    reg = registry(current_project())
    with reg.read() as conn:
        row = dict(conn.execute(select(runs).where(runs.c.id == template.id)).first()._mapping)
    ids = [f"{i:032x}" for i in range(n)]
    with reg.write() as conn:
        conn.execute(runs.insert(), [{**row, "id": rid, "name": f"r{i}"} for i, rid in enumerate(ids)])
    return ids


def state(ids: list[str]) -> tuple[int, int]:
    """(runs of ``ids`` deleted, delete events)."""
    with registry(current_project()).read() as conn:
        deleted = conn.execute(select(func.count()).select_from(runs)
                               .where(runs.c.id.in_(ids), runs.c.lifecycle == "deleted")).scalar()
        events = conn.execute(select(func.count()).select_from(run_events)
                              .where(run_events.c.action == "delete")).scalar()
    return deleted, events


@pytest.mark.parametrize("sig", [pytest.param(signal.SIGINT, id="SIGINT"), pytest.param(signal.SIGKILL, id="SIGKILL")])
def test_a_killed_batch_delete_changes_all_its_runs_or_none(project, sig):
    import json

    ids = seed(RUNS)
    (project.root / "ids.json").write_text(json.dumps(ids))
    call = "mlnb.runs.delete(ids)"
    spans = []
    for _ in range(2):
        spans.append(time_child(spawn(CHILD.format(call=call), project.root)))
        mlnb.runs.restore(ids)
    span = 0.7 * min(spans)  # the first 70% of the fastest: most kills land before the commit
    landed, events_before = 0, state(ids)[1]
    for delay in delays(TRIALS, span, f"curate-{sig}"):
        hit, _ = interrupt(spawn(CHILD.format(call=call), project.root), sig, delay)
        landed += hit
        deleted, events = state(ids)
        assert deleted in (0, RUNS), f"a killed batch delete left {deleted} of {RUNS} runs deleted"
        assert events - events_before == deleted, "every deleted run has its event, and no other event was kept"
        if deleted:
            mlnb.runs.restore(ids)  # the next command works and undoes it whole
        assert state(ids)[0] == 0
        events_before = state(ids)[1]
    print(f"\n{signal.Signals(sig).name}: {TRIALS} kills of a {RUNS}-run delete, {landed} landed mid-call ({span:.2f} s)")
    assert_most_landed(landed, TRIALS, "curation")


def test_two_processes_curating_the_same_runs_lose_no_change(project):
    ids = seed(50)
    import json

    (project.root / "ids.json").write_text(json.dumps(ids))
    rounds = 15
    writer = """
for k in range({rounds}):
    for rid in ids:
        mlnb.runs.note(rid, "{who} " + str(k))
"""
    children = [spawn(CHILD.format(call=writer.format(rounds=rounds, who=who)), project.root) for who in ("a", "b")]
    for child in children:
        out, err = child.communicate(timeout=600)
        assert child.returncode == 0 and out.split() == ["start", "done"], err
    with registry(current_project()).read() as conn:
        notes = dict(conn.execute(select(runs.c.id, runs.c.note).where(runs.c.id.in_(ids))).all())
        events = conn.execute(select(run_events.c.run_id, run_events.c.before, run_events.c.after)
                              .where(run_events.c.action == "note").order_by(run_events.c.id)).all()
    # every run ends with one writer's last note, and its events chain: each change's "before" is
    # the one before's "after" (no change was lost or written over unseen)
    assert set(notes.values()) <= {f"a {rounds - 1}", f"b {rounds - 1}"}
    for rid in ids:
        chain = [(before, after) for r, before, after in events if r == rid]
        assert chain[0][0] is None and chain[-1][1] == notes[rid]
        assert all(prev[1] == nxt[0] for prev, nxt in zip(chain, chain[1:])), rid
        assert len(chain) == 2 * rounds  # every call changed the note: none was lost
