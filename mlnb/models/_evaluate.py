"""Scoring a version on held-out data: scikit-learn metrics stored per (version, data version),
the paired regression test between two versions, and drift against the kept training profile."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from .._display import Record
from .._project import Project, current_project
from ..errors import UsageError
from ..store import registry
from ..store._schema import model_evaluations as me
from . import _files
from ._charts import ChartRecord
from ._refs import ModelVersion, data_refs, resolve


def holdout(frames: dict[str, Any], ref: str) -> Any:
    """The frame of data version ``ref``, read once per promotion."""
    if ref not in frames:
        from .. import data

        frames[ref] = data.load(ref)
    return frames[ref]


def target_of(version: ModelVersion, frame: Any, target: str | None) -> str:
    """The label column: ``target`` when given, else the one column not in the signature."""
    if target is not None:
        if target not in frame.columns:
            raise UsageError(f"the data has no column {target!r}: pass the label column as target= (--target)")
        return target
    inputs = set((version.signature or {}).get("columns", {}))
    left = [c for c in frame.columns if c not in inputs]
    if not inputs or len(left) != 1:
        raise UsageError(f"cannot tell which column of the data is the label: pass target= (--target)")
    return str(left[0])


def _inputs(version: ModelVersion, frame: Any, target: str) -> Any:
    columns = list((version.signature or {}).get("columns", {}))
    return frame[columns] if columns else frame.drop(columns=[target])


def _is_classifier(model: Any) -> bool:
    return hasattr(model, "classes_")


def metrics_of(model: Any, X: Any, y: Any) -> tuple[str, dict[str, float], dict[str, Any]]:
    """``(task, metrics, chart data)`` of ``model`` on (X, y): it predicts once (and gives its
    probabilities once); :func:`._metrics.scored` computes the rest from those."""
    from ._metrics import scored

    pred = model.predict(X)
    classifier = _is_classifier(model)
    proba = model.predict_proba(X) if classifier and hasattr(model, "predict_proba") else None
    return scored(y, pred, proba, model.classes_ if classifier else None)


def evaluate(ref: str, data: str, target: str | None = None, trusted: bool = False) -> Record:
    """Score ``ref`` on data version ``data`` and store the metrics on the version (one row per
    (version, data version, target); evaluating again replaces it).

    >>> mlnb.models.evaluate("churn@4", "holdout@2", target="churned")  # doctest: +SKIP
    """
    from .. import data as data_area
    from ._query import check_signature

    project = current_project()
    version = resolve(ref, project)
    data_version = data_area.resolve(data)
    frame = data_area.load(data_version.ref)
    target = target_of(version, frame, target)
    X = _inputs(version, frame, target)
    check_signature(version, X)
    model = _files.load_file(project, version, trusted=trusted)
    task, values, charts = metrics_of(model, X, frame[target])
    now = time.time()
    with registry(project).write() as conn:
        conn.execute(me.delete().where(me.c.model_version_id == version.id, me.c.data_version_id == data_version.id,
                                       me.c.target == target))
        conn.execute(me.insert().values(model_version_id=version.id, data_version_id=data_version.id, target=target,
                                        task=task, metrics=json.dumps(values), rows=len(frame), created_at=now))
    return Evaluation({"model": version.ref, "data": data_version.ref, "target": target, "task": task,
                       "rows": len(frame), **values}, charts)


class Evaluation(ChartRecord):
    """The metrics of one evaluation; in a notebook also its charts (``.chart()``: Altair)."""

    chart_text = "<evaluation chart>"

    def __init__(self, fields: dict[str, Any], charts: dict[str, Any]) -> None:
        super().__init__(fields, title=f"{fields['model']} on {fields['data']}")
        self.__dict__["chart_data"] = charts  # what the charts draw: counts, curve points, bins

    def chart(self) -> Any:
        from ._charts import evaluation_chart

        return evaluation_chart(self.__dict__["chart_data"], self.title)


def evaluations(version: ModelVersion, project: Project) -> list[dict[str, Any]]:
    """The stored evaluations of ``version``: data reference, target, task, metrics."""
    with registry(project).read() as conn:
        found = conn.execute(select(me).where(me.c.model_version_id == version.id).order_by(me.c.id)).fetchall()
        refs = data_refs(conn, [r.data_version_id for r in found])
    return [{"data": refs.get(r.data_version_id), "target": r.target, "task": r.task, "rows": r.rows,
             "metrics": json.loads(r.metrics)} for r in found]


def regression_test(project: Project, challenger: ModelVersion, holder: ModelVersion, frame: Any,
                    target: str | None, margin: float | None = None) -> dict[str, Any]:
    """Both versions predict the same rows; the paired test of :mod:`._stats` decides."""
    from ._stats import paired_test

    target = target_of(challenger, frame, target)
    a = _files.load_file(project, challenger)
    b = _files.load_file(project, holder)
    y = frame[target]
    pred_a = a.predict(_inputs(challenger, frame, target))
    pred_b = b.predict(_inputs(holder, frame, target))
    return paired_test(y, pred_a, pred_b, _is_classifier(a), margin)


def drift_share(project: Project, version: ModelVersion, frame: Any) -> float:
    """Share of the signature's columns that drifted in ``frame`` against the training profile."""
    from .. import checks

    cached = SimpleNamespace(md5=version.profile_md5, ref=f"{version.ref} (training profile)", is_dir=False)
    profile = checks.load_profile(_files.local_path(project, cached))  # type: ignore[arg-type]
    columns = [c for c in (version.signature or {}).get("columns", {}) if c in frame.columns]
    return float(profile.drift(frame[columns]).share)
