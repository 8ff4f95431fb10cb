"""SIGINT and SIGKILL at random points of a run's end (SQLite and PostgreSQL), while the heartbeat flushes.

After SIGKILL a run is never ``finished`` with points missing: either the end was committed (all
points, ``finished``) or it was not (``crashed`` by the crash check, holding a prefix of the
points that earlier flushes committed). After SIGINT no point logged before the interrupt is lost:
the run ends ``interrupted`` (at exit) or ``finished``, with every point, each exactly once.
Trials per case: ``trials(8)`` (``MLNB_FAULT_TRIALS=N`` for more; tests/faults/_harness.py).
"""

from __future__ import annotations

import signal
import textwrap

import pytest
from sqlalchemy import select

import mlnb
from mlnb.store import registry
from mlnb.store._schema import run_metrics, runs
from tests.faults._harness import assert_most_landed, delays, interrupt, spawn, trials

TRIALS = trials(8)
POINTS = 9_999  # one short of a synchronous flush: end() writes them (with the heartbeat racing it)

# The child's traceback goes to stdout, to tell where a SIGINT was raised.
CHILD = textwrap.dedent("""
    import sys, mlnb
    sys.stderr = sys.stdout
    run = mlnb.start_run(NAME)
    for i in range({points}):
        run.log_metric(f"m{{i % 3333}}", i / {points}, step=i)  # many keys: a slower end to land in
    print("start", flush=True)
    run.end()
    print("done", flush=True)
""").format(points=POINTS)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_an_interrupted_end_loses_nothing_and_never_lies(backend_project, sig):
    project = backend_project
    outcomes: dict[str, int] = {}
    landed_count = 0
    for trial, delay in enumerate(delays(TRIALS, 0.04, sig)):
        name = f"trial-{trial}"
        child = spawn(CHILD.replace("NAME", repr(name)), project.root, MLNB_FLUSH_SECONDS="0.05")
        landed, out = interrupt(child, sig, delay)
        mlnb.runs.list(limit=1)  # the crash check marks a killed run crashed
        with registry(project).read() as conn:
            run_id, status = conn.execute(select(runs.c.id, runs.c.status).where(runs.c.name == name)).one()
            steps = list(conn.execute(select(run_metrics.c.step).where(run_metrics.c.run_id == run_id)
                                      .order_by(run_metrics.c.step)).scalars())
        outcomes[status] = outcomes.get(status, 0) + 1
        # proof the signal landed mid-end: SIGKILL before the end was committed (the run is not
        # finished); SIGINT raised inside end() (a Ctrl-C during the write is raised once it is over)
        landed_count += landed and (status == "crashed" if sig == signal.SIGKILL else ", in end\n" in out)
        if sig == signal.SIGKILL:
            assert status in ("finished", "crashed"), (trial, status)
            if status == "finished":
                assert steps == list(range(POINTS)), f"trial {trial}: finished with {len(steps)} of {POINTS}"
            else:
                assert steps == list(range(len(steps))), f"trial {trial}: not a prefix"
        else:
            assert status in ("finished", "interrupted"), (trial, status)
            assert steps == list(range(POINTS)), f"trial {trial}: {status} with {len(steps)} of {POINTS} points"
    print(f"\n{registry(project).engine.dialect.name} {signal.Signals(sig).name}: {TRIALS} trials, {landed_count} landed mid-end, "
          f"outcomes {outcomes}")
    assert_most_landed(landed_count, TRIALS, f"end ({outcomes})")
