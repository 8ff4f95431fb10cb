"""What each endpoint asks of the public API, as plain functions of the project.

Areas that are not part of this install yet (alerts) answer ``{"available": false}`` so
the panel can say so instead of failing.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

from .._project import Project
from ._feed import registry_version, sqlite_file
from ._files import served_file


def _area(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"mlnb.{name}")
    except ModuleNotFoundError as exc:
        if exc.name in (f"mlnb.{name}", "mlnb"):
            return None
        raise


def _listing(area: str, *functions: str) -> Any | None:
    module = _area(area)
    for name in functions:
        fn = getattr(module, name, None) if module else None
        if callable(fn):
            return fn
    return None


def _runs_api() -> Any | None:
    return _listing("runs", "list")


def _models_api() -> Any | None:
    return _listing("models", "list", "list_models")


def _alerts_api() -> Any | None:
    return _listing("monitor", "alerts", "list_alerts")


def status(project: Project) -> dict[str, Any]:
    return {
        "project": str(project.root),
        "version": registry_version(project),
        "areas": {
            "runs": _runs_api() is not None,
            "data": True,
            "models": _models_api() is not None,
            "alerts": _alerts_api() is not None,
        },
    }


def runs_page(project: Project, flt: str | None, sort: str | None, limit: int, offset: int,
              experiment: str | None = None, lifecycle: str = "active") -> dict[str, Any]:
    """One page of runs, newest first unless ``sort`` says otherwise; asks for one extra row
    to know whether there is a next page without counting the whole registry."""
    list_runs = _runs_api()
    if list_runs is None:
        return {"available": False, "runs": [], "offset": offset, "limit": limit, "has_more": False}
    table = list_runs(filter=flt, sort=sort, limit=limit + 1, offset=offset, experiment=experiment, lifecycle=lifecycle)
    return {"available": True, **_page("runs", table, limit, offset)}


def _page(key: str, table: Any, limit: int, offset: int) -> dict[str, Any]:
    """A page of ``limit`` rows out of ``table``, which was asked for ``limit + 1`` rows: the extra
    one only says whether a next page exists, without counting the whole registry."""
    rows = table.to_dict()
    return {key: rows[:limit], "offset": offset, "limit": limit, "has_more": len(rows) > limit}


def run_detail(project: Project, run_id: str) -> Any:
    runs = _area("runs")
    if runs is None or not hasattr(runs, "get"):
        from ..errors import NotFound

        raise NotFound(f"no run {run_id!r}: runs are not available in this install")
    return runs.get(run_id)


def compare_runs(project: Project, ids: str, metric: str | None) -> dict[str, Any]:
    """Runs side by side for the panel's Compare view (``mlnb.runs.compare(...).panel()``)."""
    from ..runs import compare

    return compare(ids, metric=metric).panel()


def datasets(project: Project) -> dict[str, Any]:
    from ..data import list_datasets

    return {"datasets": list_datasets().to_dict()}


def dataset_versions(project: Project, name: str) -> dict[str, Any]:
    from ..data import log

    return {"name": name, "versions": log(name).to_dict()}


def dataset_version(project: Project, name: str, spec: str) -> dict[str, Any]:
    """One version: its fields, schema and first rows (``preview`` holds the error when the
    version is no table or its content cannot be read here)."""
    from ..data import preview, resolve, schema
    from ..errors import MlnbError

    ref = f"{name}@{spec}"
    fields = resolve(ref).to_dict()
    try:
        fields["schema"] = schema(ref).to_dict()
        table = preview(ref, rows=PREVIEW_ROWS)
        fields["preview"] = {"columns": table.columns, "rows": table.to_dict()}
    except MlnbError as exc:
        fields.setdefault("schema", [])
        fields["preview"] = {"columns": [], "rows": [], "error": str(exc)}
    return fields


#: rows of a version's preview in the panel
PREVIEW_ROWS = 20


def data_diff(project: Project, a: str, b: str) -> dict[str, Any]:
    """What changed from version ``a`` to ``b`` (two references), one row per change."""
    from ..data import diff

    return {"a": a, "b": b, "changes": diff(a, b).to_dict()}


def curate_run(project: Project, run_id: str, action: str, value: Any) -> Any:
    """One curation of a run from the panel: rename, note, experiment, delete, restore, archive."""
    from ..errors import UsageError
    from ..runs import _curate

    calls = {"rename": _curate.rename, "note": _curate.note, "experiment": _curate.set_experiment}
    if action in calls:
        return calls[action](run_id, value)
    if action in ("delete", "restore", "archive"):
        return getattr(_curate, action)(run_id)
    raise UsageError(f"unknown action {action!r}: use rename, note, experiment, delete, restore or archive")


def models(project: Project) -> dict[str, Any]:
    list_models = _models_api()
    if list_models is None:
        return {"available": False, "models": []}
    return {"available": True, "models": list_models()}


def model_versions(project: Project, name: str, limit: int, offset: int) -> dict[str, Any]:
    """One page of a model's versions, newest first (aliases, metrics, run, data of each)."""
    from ..models import log

    return {"name": name, **_page("versions", log(name, limit=limit + 1, offset=offset), limit, offset)}


def model_history(project: Project, name: str, limit: int, offset: int) -> dict[str, Any]:
    """One page of a model's alias events, newest first (who, when, from, to, why, gate results)."""
    from ..models import history

    return {"name": name, **_page("events", history(name, limit=limit + 1, offset=offset), limit, offset)}


#: events shown on a version's page: every move to or from it (a version is rarely moved more)
VERSION_EVENTS = 100


def model_version(project: Project, name: str, spec: str) -> dict[str, Any]:
    """One version (a number, an alias or ``latest``): its fields, lineage (run, data versions),
    metrics, evaluations, and the alias moves to or from it with their gate results."""
    from ..models import history, show

    fields = show(f"{name}@{spec}").to_dict()
    fields["events"] = history(name, version=fields["version"], limit=VERSION_EVENTS).to_dict()
    return fields


def alerts(project: Project) -> dict[str, Any]:
    list_alerts = _alerts_api()
    if list_alerts is None:
        return {"available": False, "alerts": []}
    return {"available": True, "alerts": list_alerts()}


def artifact_file(project: Project, raw: str, server_root: str, allow_hidden: bool) -> Path:
    """The file behind ``/files?path=raw``: see :mod:`mlnb.server._files` for what is refused."""
    private: tuple[Path, ...] = (project.mlnb_dir.resolve(),)
    database = sqlite_file(project)
    if database is not None:
        database = database.resolve()
        private += tuple(database.with_name(database.name + end) for end in ("", "-wal", "-shm", "-journal"))
    return served_file(raw, project.root, Path(server_root), allow_hidden, lambda path: _recorded(project, path),
                       private)


def _recorded(project: Project, path: str) -> bool:
    """Whether a run recorded ``path`` as an artifact or a dataset lives there (exact string)."""
    from sqlalchemy import select

    from ..store import registry
    from ..store._schema import datasets, run_artifacts

    with registry(project).read() as conn:
        return any(conn.execute(select(column).where(column == path).limit(1)).first()
                   for column in (run_artifacts.c.path, datasets.c.path))
