"""Runs to and from an MLflow tracking server, over its REST API (no ``mlflow`` package needed).

Export writes each finished run as an MLflow run: name, status, start and end times, params,
every metric point (key, step, value, time in ms), tags, artifact files and the parent run
(``mlflow.parentRunId``). What MLflow has no field for (the run's mlnb id, exact times, host,
pid, code, environment, error, labels that are not valid MLflow tag keys, data lineage, the
artifact records) goes in one ``mlnb.run`` tag (JSON), so importing the run back gives the same run. A run
is marked ``mlnb.export=complete`` last: exporting again skips complete runs and replaces a run
an interrupted export left half-written.

Import reads every run of the chosen experiments (or all) with its full metric history and
artifacts. A run keeps its MLflow run id (as its mlnb id unless it came from mlnb, and as the
label ``mlflow.run_id=...``) so importing again adds nothing twice. Each run is written in one
transaction: an interrupted import leaves whole runs only.

>>> mlnb.runs.export_mlflow("http://127.0.0.1:5000", experiment="churn")  # doctest: +SKIP
>>> mlnb.runs.import_mlflow("http://127.0.0.1:5000")                       # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from .._display import Record
from .._mlflow_http import BATCH_METRICS, BATCH_PARAMS, BATCH_TAGS, BATCH_TOTAL, MAX_PARAM_VALUE, MAX_TAG_VALUE, MlflowClient
from .._project import Project, current_project
from ..store import registry
from ..store._schema import runs
from . import _limits
from ._transfer import insert_line, run_lines

#: mlnb status -> MLflow status, and back (crashed/interrupted both read KILLED; the mlnb.status tag tells)
_TO_MLFLOW = {"finished": "FINISHED", "failed": "FAILED", "interrupted": "KILLED", "crashed": "KILLED"}
_FROM_MLFLOW = {"FINISHED": "finished", "FAILED": "failed", "KILLED": "interrupted"}
#: run columns kept in the ``mlnb.run`` tag, as JSON (exact floats, None, ints)
_FIELD_TAGS = ("id", "status", "error", "started_at", "ended_at", "heartbeat_at", "parent_id", "host", "pid",
               "proc_start", "notebook", "code", "git_commit", "git_dirty", "environment", "experiment", "note",
               "lifecycle", "curated_at")
#: the names MLflow accepts for params, metrics and tags
_MLFLOW_KEY = re.compile(r"^[/\w.\- :]*$")
#: a ``mlnb.*`` tag too long for MLflow is uploaded as an artifact; its tag says where
_IN_ARTIFACT = "@artifact:"
#: said in every export's output: what an MLflow run cannot hold as mlnb holds it
LIMITS = ("metric point times are kept to the millisecond (MLflow stores integer ms)",
          "MLflow stores +/-inf as +/-1.8e308 (the largest float); mlnb reads that back as inf",
          "points identical in key, step, value and millisecond are one point in MLflow",
          "data lineage is kept in the mlnb.run tag by dataset name and hash; MLflow shows it as text",
          "runs still running are not exported (export again when they end)")


def _valid_key(key: str) -> bool:
    return bool(key) and len(key) <= 250 and bool(_MLFLOW_KEY.match(key)) and ".." not in key \
        and not key.startswith("/")


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else int(round(seconds * 1000))


def _param_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _param_value(text: str, as_text: bool) -> Any:
    """A param as MLflow holds it (text) read back: JSON when it is JSON, like ``--param k=v``."""
    if as_text:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _json_number(value: Any) -> Any:
    """A metric value for MLflow's JSON: NaN and infinities as protobuf's JSON spells them."""
    number = math.nan if value is None else float(value)
    if math.isfinite(number):
        return number
    return "NaN" if math.isnan(number) else "Infinity" if number > 0 else "-Infinity"


def _read_number(value: Any) -> float:
    """A metric value from MLflow: it stores +/-inf as +/-the largest float, read back as inf."""
    number = float(value)
    return math.copysign(math.inf, number) if abs(number) == sys.float_info.max else number


def _batches(metrics: list[Any], params: list[Any], tags: list[Any]) -> Iterator[dict[str, list[Any]]]:
    """``runs/log-batch`` bodies, as few as MLflow's limits allow, in order: metrics, params, tags
    (so the last tag given is in the last request)."""
    queue = [("metrics", m) for m in metrics] + [("params", p) for p in params] + [("tags", t) for t in tags]
    limits = {"metrics": BATCH_METRICS, "params": BATCH_PARAMS, "tags": BATCH_TAGS}
    batch: dict[str, list[Any]] = {}
    size = 0
    for kind, item in queue:
        if size == BATCH_TOTAL or len(batch.get(kind, ())) == limits[kind]:
            yield batch
            batch, size = {}, 0
        batch.setdefault(kind, []).append(item)
        size += 1
    if batch:
        yield batch


# -- export ------------------------------------------------------------------------------------


def export_mlflow(uri: str, experiment: str | None = None) -> Record:
    """Write every finished run to the MLflow tracking server at ``uri``, in ``experiment``
    (default: the project folder's name); runs exported before are skipped.

    >>> mlnb.runs.export_mlflow("http://127.0.0.1:5000", experiment="churn")  # doctest: +SKIP
    """
    project = current_project()
    from ._query import reap

    reap(project)
    client = MlflowClient(uri)
    try:
        name = experiment or project.root.name
        exp_id = client.experiment_id(name, create=True)
        done, half = _exported(client, exp_id)
        for mlflow_id in half:  # an interrupted export's run: made again from the start
            client.call("POST", "runs/delete", {"run_id": mlflow_id})
        exported = skipped = running = 0
        not_held: list[str] = []
        with registry(project).read() as conn:
            lines = list(run_lines(conn))
        for line in _parents_first(lines):
            if line["id"] in done:
                skipped += 1
                continue
            if line["status"] == "running":
                running += 1
                continue
            done[line["id"]] = _export_run(client, project, exp_id, line, done, not_held)
            exported += 1
    finally:
        client.close()
    return Record({"uri": client.uri, "experiment": name, "exported": exported,
                   "skipped (exported before)": skipped, "still running (not exported)": running,
                   "not held by MLflow": [*LIMITS, *not_held]}, title="runs exported to MLflow")


def _exported(client: MlflowClient, exp_id: str) -> tuple[dict[str, str], list[str]]:
    """{mlnb id: MLflow id} of runs already exported whole, and the MLflow ids of half-exported ones."""
    done: dict[str, str] = {}
    half: list[str] = []
    for run in client.pages("POST", "runs/search", "runs", {"experiment_ids": [exp_id], "max_results": 1000,
                                                              "filter": "tags.`mlnb.id` != ''"}):
        tags = {t["key"]: t["value"] for t in run.get("data", {}).get("tags", [])}
        if tags.get("mlnb.export") == "complete":
            done[json.loads(tags["mlnb.id"])] = run["info"]["run_id"]
        else:
            half.append(run["info"]["run_id"])
    return done, half


def _parents_first(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runs ordered so that a parent comes before its children (otherwise by start time)."""
    by_id = {ln["id"]: ln for ln in lines}
    ordered: list[dict[str, Any]] = []
    placed: set[str] = set()

    def place(line: dict[str, Any], seen: frozenset[str] = frozenset()) -> None:
        if line["id"] in placed:
            return
        parent = by_id.get(line.get("parent_id") or "")
        if parent is not None and parent["id"] not in seen:
            place(parent, seen | {line["id"]})
        placed.add(line["id"])
        ordered.append(line)

    for line in lines:
        place(line)
    return ordered


def _export_run(client: MlflowClient, project: Project, exp_id: str, line: dict[str, Any],
                done: dict[str, str], not_held: list[str]) -> str:
    rid = line["id"]
    tags = _run_tags(line, done)
    params, text_params = [], []
    for key, value in line["params"].items():
        text = _param_text(value)
        if not _valid_key(key) or len(text) > MAX_PARAM_VALUE:
            why = "a name MLflow refuses" if not _valid_key(key) else \
                f"{len(text)} characters, MLflow keeps {MAX_PARAM_VALUE}"
            not_held.append(f"run {rid}: param {key!r} ({why})")
            continue
        params.append({"key": key, "value": text})
        if isinstance(value, str) and _param_value(value, False) != value:
            text_params.append(key)
    if text_params:
        kept = json.loads(tags["mlnb.run"])
        tags["mlnb.run"] = json.dumps({**kept, "text_params": text_params})
    metrics, refused = [], set()
    for key, step, value, logged_at in line["metrics"]:
        if not _valid_key(key):
            refused.add(key)
            continue
        metrics.append({"key": key, "value": _json_number(value), "timestamp": _ms(logged_at), "step": int(step)})
    not_held.extend(f"run {rid}: metric {k!r} (a name MLflow refuses)" for k in sorted(refused))
    created = client.call("POST", "runs/create", {
        "experiment_id": exp_id, "run_name": line["name"], "start_time": _ms(line["started_at"]),
        "tags": [{"key": "mlnb.id", "value": json.dumps(rid)}]})["run"]["info"]
    mlflow_id = created["run_id"]
    root = client.artifact_root(created["artifact_uri"])
    for key, value in list(tags.items()):
        if key.startswith("mlnb.") and len(value) > MAX_TAG_VALUE:
            client.put_artifact(root, f"mlnb/{key}", value.encode())
            tags[key] = _IN_ARTIFACT + f"mlnb/{key}"
    _upload_artifacts(client, project, root, line, not_held)
    client.call("POST", "runs/update", {"run_id": mlflow_id, "status": _TO_MLFLOW[line["status"]],
                                        **({"end_time": _ms(line["ended_at"])} if line["ended_at"] else {})})
    tag_items = [{"key": k, "value": v} for k, v in tags.items()]
    tag_items.append({"key": "mlnb.export", "value": "complete"})  # in the last batch: written last
    for batch in _batches(metrics, params, tag_items):
        client.call("POST", "runs/log-batch", {"run_id": mlflow_id, **batch})
    return mlflow_id


def _run_tags(line: dict[str, Any], done: dict[str, str]) -> dict[str, str]:
    """The MLflow tags of a run: MLflow's own names where it has one, ``mlnb.*`` for the rest."""
    tags: dict[str, str] = {}
    for label in line["tags"]:  # labels as MLflow users write tags: "team=vision" -> team: vision
        key, sep, value = label.partition("=")
        if _valid_key(key) and not key.startswith(("mlnb.", "mlflow.")) and len(value) <= MAX_TAG_VALUE:
            tags[key] = value if sep else ""
    # one tag for all MLflow has no field for (each tag is a row MLflow writes: one is quicker)
    kept: dict[str, Any] = {c: line[c] for c in _FIELD_TAGS if line.get(c) is not None and c != "id"}
    kept["tags"] = line["tags"]  # exactly, including labels MLflow cannot name
    if line["data"]:
        kept["data"] = line["data"]
    if line["artifacts"]:
        kept["artifacts"] = line["artifacts"]
    tags["mlnb.run"] = json.dumps(kept)
    if line["git_commit"]:
        tags["mlflow.source.git.commit"] = line["git_commit"]
    if line["notebook"]:
        tags["mlflow.source.name"] = line["notebook"]
    if line["parent_id"] in done:
        tags["mlflow.parentRunId"] = done[line["parent_id"]]
    return tags


def _artifact_name(path: str) -> str:
    """Where an artifact recorded at ``path`` goes under the MLflow run's artifacts."""
    return "/".join(p for p in Path(path).as_posix().split("/") if p not in ("", ".", ".."))


def _upload_artifacts(client: MlflowClient, project: Project, root: str, line: dict[str, Any],
                      not_held: list[str]) -> None:
    for art in line["artifacts"]:
        data = _artifact_bytes(project, art)
        if data is None:
            not_held.append(f"run {line['id']}: artifact {art['path']} (the file is gone and not in DVC's cache: "
                            "its record is exported, not its bytes)")
            continue
        client.put_artifact(root, _artifact_name(art["path"]), data)


def _artifact_bytes(project: Project, art: dict[str, Any]) -> bytes | None:
    """The artifact's bytes as recorded: the file if it still has its md5, else DVC's cache copy."""
    candidates = [project.root / art["path"]]
    if art.get("md5"):
        candidates.append(Path(project.dvc.cache.local.oid_to_path(art["md5"])))
    for path in candidates:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if not art.get("md5") or hashlib.md5(data).hexdigest() == art["md5"]:  # noqa: S324 - DVC's hash
            return data
    return None


# -- import ------------------------------------------------------------------------------------


def import_mlflow(uri: str, experiments: Iterable[str] | None = None) -> Record:
    """Add the runs of an MLflow tracking server (every experiment, or those named), with every
    metric point and their artifact files; runs imported before are skipped.

    >>> mlnb.runs.import_mlflow("http://127.0.0.1:5000", experiments=["churn"])  # doctest: +SKIP
    """
    project = current_project()
    client = MlflowClient(uri)
    try:
        names = client.experiment_names()
        wanted = list(experiments or [])
        unknown = [n for n in wanted if n not in names.values()]
        if unknown:
            from ..errors import NotFound

            raise NotFound(f"no experiment {unknown[0]!r} on {client.uri}: it has "
                           f"{', '.join(sorted(names.values())) or 'none'}")
        ids = [i for i, n in names.items() if not wanted or n in wanted]
        found = list(client.pages("POST", "runs/search", "runs", {"experiment_ids": ids, "max_results": 1000}))
        reg = registry(project)
        mlnb_ids = {r["info"]["run_id"]: _mlnb_id(r) for r in found}
        with reg.read() as conn:
            known = {i for (i,) in conn.execute(select(runs.c.id).where(runs.c.id.in_(list(mlnb_ids.values()))))}
        imported = skipped = running = unlinked = 0
        not_kept: list[str] = []
        for run in found:
            info = run["info"]
            if mlnb_ids[info["run_id"]] in known:
                skipped += 1
                continue
            if info.get("status") not in _FROM_MLFLOW or _half_exported(run):
                running += 1  # still being written, by a run or by an mlnb export
                continue
            line = _run_line(client, project, run, names.get(info["experiment_id"], ""), mlnb_ids, not_kept)
            with reg.write() as conn:
                unlinked += insert_line(conn, line)
            imported += 1
    finally:
        client.close()
    return Record({"uri": client.uri, "imported": imported, "skipped (imported before)": skipped,
                   "still running (not imported)": running, "data links without a local version": unlinked,
                   "not kept": not_kept}, title="runs imported from MLflow")


def _half_exported(run: dict[str, Any]) -> bool:
    tags = {t["key"]: t["value"] for t in run.get("data", {}).get("tags", [])}
    return "mlnb.id" in tags and tags.get("mlnb.export") != "complete"


def _mlnb_id(run: dict[str, Any]) -> str:
    """A run that came from mlnb gets its id back; any other keeps its MLflow run id."""
    for tag in run.get("data", {}).get("tags", []):
        if tag["key"] == "mlnb.id":
            return str(json.loads(tag["value"]))
    return str(run["info"]["run_id"])


def _run_line(client: MlflowClient, project: Project, run: dict[str, Any], experiment: str,
              mlnb_ids: dict[str, str], not_kept: list[str]) -> dict[str, Any]:
    """One MLflow run as a :func:`run_lines` dict, its artifacts downloaded."""
    info, data = run["info"], run.get("data", {})
    mlflow_id = info["run_id"]
    tags = {t["key"]: t["value"] for t in data.get("tags", [])}
    root = client.artifact_root(info["artifact_uri"])
    for key, value in tags.items():
        if key.startswith("mlnb.") and value.startswith(_IN_ARTIFACT):
            tags[key] = client.get_artifact(root, value[len(_IN_ARTIFACT):]).decode()
    kept = json.loads(tags.get("mlnb.run", "{}"))
    fields = {c: kept[c] for c in _FIELD_TAGS if c in kept}
    came_from_mlnb = "mlnb.run" in tags
    parent = tags.get("mlflow.parentRunId")
    line: dict[str, Any] = {
        "name": info.get("run_name") or tags.get("mlflow.runName") or mlflow_id[:8],
        "status": _FROM_MLFLOW[info["status"]], "error": None,
        "started_at": int(info.get("start_time", 0)) / 1000,
        "ended_at": int(info["end_time"]) / 1000 if info.get("end_time") else None,
        "heartbeat_at": None, "parent_id": mlnb_ids.get(parent, parent) if parent else None,
        "host": None, "pid": None, "proc_start": None, "notebook": tags.get("mlflow.source.name"),
        "code": None, "git_commit": tags.get("mlflow.source.git.commit"), "git_dirty": None,
        "environment": None, "experiment": None if came_from_mlnb else experiment or None, **fields,
        "id": mlnb_ids[mlflow_id],
    }
    text_params = set(kept.get("text_params", []))
    line["params"] = {p["key"]: _param_value(p["value"], p["key"] in text_params) for p in data.get("params", [])}
    line["metrics"] = _history(client, mlflow_id, [m["key"] for m in data.get("metrics", [])])
    line["data"] = kept.get("data", [])
    if came_from_mlnb:
        line["tags"] = kept["tags"]
    else:
        line["tags"] = _labels(tags, experiment, mlflow_id, not_kept)
    line["artifacts"] = _download(client, project, root, mlflow_id, kept.get("artifacts", []),
                                  line["ended_at"] or line["started_at"])
    return line


def _labels(tags: dict[str, str], experiment: str, mlflow_id: str, not_kept: list[str]) -> list[str]:
    """MLflow tags as mlnb labels ``key=value`` (``key`` alone for an empty value), with the
    experiment and the MLflow run id; a tag too long for a label is reported, not cut."""
    labels = [f"mlflow.experiment={experiment}", f"mlflow.run_id={mlflow_id}"]
    for key, value in sorted(tags.items()):
        if key in ("mlflow.runName", "mlflow.parentRunId", "mlflow.source.name", "mlflow.source.git.commit"):
            continue  # they are the run's own fields
        label = f"{key}={value}" if value else key
        try:
            labels.append(_limits.check_name("tag", label))
        except Exception:  # noqa: BLE001 - any refusal of the label is reported the same way
            not_kept.append(f"run {mlflow_id}: tag {key!r} ({len(label)} characters or control characters: "
                            f"labels hold {_limits.MAX_NAME})")
    return list(dict.fromkeys(labels))


def _history(client: MlflowClient, run_id: str, keys: list[str]) -> list[list[Any]]:
    """Every point of every metric of a run, ``[key, step, value, seconds]``, each key in time order."""
    points: list[list[Any]] = []
    for key in keys:
        history = client.pages("GET", "metrics/get-history", "metrics", run_id=run_id, metric_key=key,
                               max_results=25000)
        for m in sorted(history, key=lambda m: (int(m.get("timestamp", 0)), int(m.get("step", 0)))):
            points.append([key, int(m.get("step", 0)), _read_number(m.get("value", 0.0)), int(m.get("timestamp", 0)) / 1000])
    return points


def _download(client: MlflowClient, project: Project, root: str, mlflow_id: str,
              records: list[dict[str, Any]], when: float) -> list[dict[str, Any]]:
    """The run's artifact files, downloaded to ``.mlnb/imports/mlflow/<run>/``; a run that came from
    mlnb keeps the records it was exported with (path, md5, size, time), the others get new ones."""
    by_name = {_artifact_name(r["path"]): r for r in records}
    target = project.mlnb_dir / "imports" / "mlflow" / mlflow_id
    found = []
    for rel, _size in client.list_artifacts(root):
        if rel.startswith("mlnb/mlnb."):
            continue  # a long mlnb.* tag, read above
        data = client.get_artifact(root, rel)
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        ignore = project.mlnb_dir / "imports" / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# files downloaded by `mlnb runs import`: not for git\n*\n")
        path.write_bytes(data)
        found.append(by_name.get(rel) or {"path": project.relpath(path), "md5": hashlib.md5(data).hexdigest(),  # noqa: S324
                                          "size": len(data), "logged_at": when})
    return found
