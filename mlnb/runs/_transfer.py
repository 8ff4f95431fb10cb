"""Moving runs between registries as JSON Lines: one run per line, complete.

Each line holds the run, its params, every metric point, tags, artifacts and the data versions
it read or wrote (by dataset name and hash, since registry ids differ). Importing a run whose id
exists already skips it, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from .._display import Record
from .._project import current_project
from ..errors import MlnbError, NotFound, UsageError
from ..store import registry
from ..store._schema import data_versions, datasets, run_artifacts, run_data, run_metrics, run_params
from ..store._schema import run_tags, runs
from . import _store

FORMAT = "mlnb.run/1"
_RUN_COLUMNS = [c.name for c in runs.columns]


def _number(value: float | None) -> Any:
    return value if value is None or math.isfinite(value) else str(value)


def export(path: str | os.PathLike[str]) -> Record:
    """Write every run to ``path`` as JSON Lines.

    >>> mlnb.runs.export("runs.jsonl")  # doctest: +SKIP
    """
    project = current_project()
    from ._query import reap

    reap(project)
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{path} is a folder: give the file to write, e.g. {target / 'runs.jsonl'}")
    tmp = target.with_name(target.name + ".partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        count = _write_runs(project, tmp)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):  # never leave half a file behind (a read-only disk has none)
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno:
            raise MlnbError(f"cannot write {path}: {exc.strerror}: choose a path you can write to "
                            "(nothing was exported)") from None
        raise
    return Record({"path": str(target), "runs": count}, title="runs exported")


def _write_runs(project: Any, tmp: Path) -> int:
    """Write every run of ``project`` to ``tmp`` as JSON Lines; returns how many."""
    count = 0
    with registry(project).read() as conn, open(tmp, "w") as out:
        for line in run_lines(conn):
            out.write(json.dumps(line, default=str) + "\n")
            count += 1
    return count


def run_lines(conn: Any, where: Any = None) -> Iterator[dict[str, Any]]:
    """Each run (matching ``where``, oldest first) as one complete dict: the run's columns, params,
    every metric point ``[key, step, value, logged_at]``, tags, artifacts and data links."""
    query = select(runs).order_by(runs.c.started_at, runs.c.id)
    for row in conn.execute(query if where is None else query.where(where)).all():
        rid = row.id
        line = {"format": FORMAT, **{c: getattr(row, c) for c in _RUN_COLUMNS}}
        line["params"] = {k: json.loads(v) for k, v in conn.execute(
            select(run_params.c.key, run_params.c.value).where(run_params.c.run_id == rid))}
        line["metrics"] = [[k, s, _number(_store.decode_value(v, n)), t] for k, s, v, n, t in conn.execute(
            select(run_metrics.c.key, run_metrics.c.step, run_metrics.c.value, run_metrics.c.is_nan,
                   run_metrics.c.logged_at).where(run_metrics.c.run_id == rid).order_by(run_metrics.c.id))]
        line["tags"] = [t for (t,) in conn.execute(select(run_tags.c.tag).where(run_tags.c.run_id == rid))]
        line["artifacts"] = [dict(a._mapping) for a in conn.execute(
            select(run_artifacts.c.path, run_artifacts.c.md5, run_artifacts.c.size, run_artifacts.c.logged_at)
            .where(run_artifacts.c.run_id == rid))]
        line["data"] = [{"direction": d, "dataset": n, "version": v, "md5": m} for d, n, v, m in conn.execute(
            select(run_data.c.direction, datasets.c.name, data_versions.c.version, data_versions.c.md5)
            .join(data_versions, data_versions.c.id == run_data.c.data_version_id)
            .join(datasets, datasets.c.id == data_versions.c.dataset_id).where(run_data.c.run_id == rid))]
        yield line


def import_(path: str | os.PathLike[str]) -> Record:
    """Add the runs in a JSON Lines file made by :func:`export`; runs already here are skipped.

    >>> mlnb.runs.import_("runs.jsonl")  # doctest: +SKIP
    """
    project = current_project()
    source = Path(path)
    if not source.is_file():
        raise NotFound(f"{path} is not a file: give the .jsonl file `mlnb runs export` wrote")
    lines = []
    with open(source) as f:
        for n, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{path} line {n} is not JSON ({exc.msg}): nothing was imported") from None
            if not isinstance(line, dict) or line.get("format") != FORMAT or not line.get("id"):
                raise UsageError(f"{path} line {n} is not an exported mlnb run: nothing was imported")
            lines.append(line)
    imported = skipped = unlinked = 0
    with registry(project).write() as conn:  # all or nothing
        known = {i for (i,) in conn.execute(select(runs.c.id).where(runs.c.id.in_([ln["id"] for ln in lines])))}
        for line in lines:
            if line["id"] in known:
                skipped += 1
                continue
            unlinked += insert_line(conn, line)
            imported += 1
    return Record({"path": str(source), "imported": imported, "skipped": skipped,
                   "data links without a local version": unlinked}, title="runs imported")


def insert_line(conn: Any, line: dict[str, Any]) -> int:
    """Write one run given as a :func:`run_lines` dict; returns how many of its data links name a
    data version this registry does not hold (those links are left out)."""
    _store.insert_run(conn, {c: line.get(c) for c in _RUN_COLUMNS}, line.get("params", {}), line.get("tags", []))
    points = [(k, int(s), float(v) if v is not None else math.nan, t) for k, s, v, t in line.get("metrics", [])]
    data, missing = _resolve_data(conn, line.get("data", []))
    arts = [{**a, "data_version_id": None} for a in line.get("artifacts", [])]
    _store.write_batch(conn, line["id"], points, artifacts=arts, data=data)
    return missing


def _resolve_data(conn: Any, links: list[dict[str, Any]]) -> tuple[list[tuple[str, int]], int]:
    found, missing = [], 0
    for link in links:
        vid = conn.execute(
            select(data_versions.c.id).join(datasets, datasets.c.id == data_versions.c.dataset_id)
            .where(datasets.c.name == link["dataset"], data_versions.c.md5 == link["md5"])
        ).scalar()
        if vid is None:
            missing += 1
        else:
            found.append((link["direction"], vid))
    return found, missing
