"""DVC experiments into mlnb: ``mlnb runs import --dvc-exp``.

The experiments are read in-process, as ``dvc exp show --all-commits --json`` shows them (DVC's
own ``ExpState.dumpd()``): each experiment of every commit becomes a finished run named after the
experiment, its params (nested keys joined with '.'; with several params files, each key
prefixed ``file:``, as ``dvc exp show`` does) and its final metrics (one point each, at step 0, at the
experiment's commit time). DVC keeps no metric history, so none is imported. A run keeps the
experiment's commit as its id (its first 32 hex digits) and the labels ``dvc.exp_rev=<sha>`` and
``dvc.baseline=<short sha>``, so importing again adds nothing twice. Queued, running and failed
experiments are counted, not imported.

>>> mlnb.runs.import_dvc_exp()  # doctest: +SKIP
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from .._display import Record
from .._project import current_project
from ..store import registry
from ..store._schema import runs
from ._transfer import insert_line

#: experiment executor states that mean "not a finished experiment"
_UNFINISHED = ("queued", "running", "failed")


def flatten(tree: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``{"train": {"lr": 0.1}}`` as ``("train.lr", 0.1)``; lists stay values."""
    if isinstance(tree, dict) and tree:
        for key, value in tree.items():
            yield from flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif prefix:
        yield prefix, tree


def _by_file(files: dict[str, Any] | None) -> Iterator[tuple[str, Any]]:
    files = files or {}
    for name, content in files.items():
        lead = f"{name}:" if len(files) > 1 else ""
        for key, value in flatten((content or {}).get("data") or {}):
            yield lead + key, value


def experiments(shown: list[dict[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(baseline rev, experiment state, the experiment rev's dict) of ``dvc exp show --json`` output."""
    for baseline in shown:
        for exp in baseline.get("experiments") or []:
            state = ((exp.get("executor") or {}).get("state") or "success").lower()
            for rev in exp.get("revs") or []:
                yield baseline["rev"], state, rev


def import_dvc_exp(shown: list[dict[str, Any]] | None = None) -> Record:
    """Add the project repository's DVC experiments as runs (or those of ``shown``, the parsed
    output of ``dvc exp show --json``); experiments imported before are skipped.

    >>> mlnb.runs.import_dvc_exp()  # doctest: +SKIP
    """
    project = current_project()
    if shown is None:
        shown = [state.dumpd() for state in project.dvc.experiments.show(all_commits=True)]
    reg = registry(project)
    found = list(experiments(shown))
    with reg.read() as conn:
        known = {i for (i,) in conn.execute(select(runs.c.id).where(runs.c.id.in_([r["rev"][:32] for _, _, r in found])))}
    imported = skipped = unfinished = 0
    for baseline, state, rev in found:
        if rev["rev"][:32] in known:
            skipped += 1
            continue
        if state in _UNFINISHED or rev.get("error") or not rev.get("data"):
            unfinished += 1
            continue
        with reg.write() as conn:
            insert_line(conn, _run_line(baseline, rev))
        known.add(rev["rev"][:32])
        imported += 1
    return Record({"imported": imported, "skipped (imported before)": skipped,
                   "queued, running or failed (not imported)": unfinished,
                   "not kept": ["DVC keeps no metric history: each metric is one point at step 0"]},
                  title="DVC experiments imported")


def _run_line(baseline: str, rev: dict[str, Any]) -> dict[str, Any]:
    data = rev["data"]
    stamp = data.get("timestamp")
    if isinstance(stamp, str):  # `dvc exp show --json` writes it as text, in-process it is a datetime
        stamp = datetime.datetime.fromisoformat(stamp)
    when = stamp.timestamp() if stamp else 0.0
    metrics = [[key, 0, float(value), when] for key, value in _by_file(data.get("metrics"))
               if isinstance(value, (int, float)) and not isinstance(value, bool)]
    return {
        "id": rev["rev"][:32], "name": rev.get("name") or rev["rev"][:7], "status": "finished", "error": None,
        "started_at": when, "ended_at": when, "heartbeat_at": None, "parent_id": None, "host": None, "pid": None,
        "proc_start": None, "notebook": None, "code": None, "git_commit": rev["rev"], "git_dirty": 0,
        "environment": None, "params": dict(_by_file(data.get("params"))), "metrics": metrics, "data": [],
        "artifacts": [], "tags": ["dvc.exp", f"dvc.exp_rev={rev['rev']}", f"dvc.baseline={baseline[:7]}"],
    }
