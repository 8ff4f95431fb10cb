"""W&B offline runs into mlnb: ``mlnb runs import --wandb-dir wandb/``.

Each ``offline-run-*`` (or synced ``run-*``) folder's ``run-<id>.wandb`` file is read by
:mod:`._wandb_file` (no ``wandb`` package needed): the config becomes the params, every
``wandb.log`` row becomes metric points at its ``_step`` and ``_timestamp``, numeric summary
values never logged as history become a last point, W&B tags become labels. The run keeps its
W&B id (as its mlnb id and the label ``wandb.run_id=...``) and project (``wandb.project=...``), so
importing the folder again adds nothing twice. Each run is written in one transaction.

>>> mlnb.runs.import_wandb("wandb")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import select

from .._display import Record
from .._project import current_project
from ..errors import NotFound
from ..store import registry
from ..store._schema import runs
from ._transfer import insert_line
from ._wandb_file import WandbRun, read_run_file


def _number(text: str) -> float | None:
    """A logged value as a metric: numbers (and NaN/inf) only, never booleans or media."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def run_files(folder: Path) -> list[Path]:
    """The ``run-*.wandb`` files of a W&B folder (``wandb/``) or of one run's folder."""
    own = sorted(folder.glob("run-*.wandb"))
    if own:
        return own
    return sorted(p for pattern in ("offline-run-*/run-*.wandb", "run-*/run-*.wandb") for p in folder.glob(pattern))


def import_wandb(folder: str | os.PathLike[str]) -> Record:
    """Add the runs of a W&B folder written offline (``WANDB_MODE=offline``); runs imported before
    are skipped.

    >>> mlnb.runs.import_wandb("wandb")  # doctest: +SKIP
    """
    project = current_project()
    base = Path(folder)
    files = run_files(base) if base.is_dir() else []
    if not files:
        raise NotFound(f"no W&B run files in {folder}: give the wandb/ folder holding offline-run-* folders "
                       "(written with WANDB_MODE=offline)")
    wandb_runs = [read_run_file(f) for f in files]  # every file read (and its format checked) first
    reg = registry(project)
    with reg.read() as conn:
        known = {i for (i,) in conn.execute(select(runs.c.id).where(runs.c.id.in_([r.run_id for r in wandb_runs])))}
    imported = skipped = 0
    not_kept: list[str] = []
    for run in wandb_runs:
        if run.run_id in known:
            skipped += 1
            continue
        line = _run_line(run, not_kept)
        with reg.write() as conn:
            insert_line(conn, line)
        known.add(run.run_id)
        imported += 1
    return Record({"folder": str(base), "imported": imported, "skipped (imported before)": skipped,
                   "not kept": not_kept}, title="runs imported from W&B")


def _run_line(run: WandbRun, not_kept: list[str]) -> dict[str, Any]:
    """One W&B run as a ``run_lines`` dict."""
    points: list[list[Any]] = []
    skipped_keys: set[str] = set()
    last_step, last_time = 0, run.started_at or 0.0
    for row in run.history:
        step = int(float(row.get("_step", "0")))
        when = float(row.get("_timestamp", last_time))
        last_step, last_time = step, when
        for key, text in row.items():
            if key.startswith("_"):
                continue
            value = _number(text)
            if value is None:
                skipped_keys.add(key)
                continue
            points.append([key, step, value, when])
    logged = {p[0] for p in points}
    for key, text in run.summary.items():
        if key.startswith("_") or key in logged:
            continue
        value = _number(text)
        if value is None:
            skipped_keys.add(key)
        else:
            points.append([key, last_step, value, last_time])
    not_kept.extend(f"run {run.run_id}: {k!r} (not a number: media, tables and text are not metrics)"
                    for k in sorted(skipped_keys))
    ended = None
    if run.exit_code is not None:
        ended = (run.started_at or last_time) + (run.runtime or 0) if run.runtime is not None else last_time
        ended = max(ended, last_time)
    status = "crashed" if run.exit_code is None else "finished" if run.exit_code == 0 else "failed"
    error = ("the W&B run file has no exit record: its process ended without wandb.finish()"
             if run.exit_code is None else None if run.exit_code == 0 else f"exit code {run.exit_code}")
    params = {k: json.loads(v) for k, v in run.config.items() if not k.startswith("_wandb")}
    return {
        "id": run.run_id, "name": run.name or run.run_id, "status": status, "error": error,
        "started_at": run.started_at if run.started_at is not None else last_time, "ended_at": ended,
        "heartbeat_at": None, "parent_id": None, "host": run.host or None, "pid": None, "proc_start": None,
        "notebook": None, "code": None, "git_commit": run.git_commit or None, "git_dirty": None,
        "environment": None, "experiment": run.project or None, "note": run.notes or None, "params": params, "metrics": points, "data": [], "artifacts": [],
        "tags": list(dict.fromkeys([*run.tags, f"wandb.project={run.project}", f"wandb.run_id={run.run_id}"])),
    }


__all__ = ["import_wandb"]
