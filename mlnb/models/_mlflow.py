"""Registered models to and from an MLflow tracking server, over its REST API.

Export: each version becomes an MLflow model version of the same registered model, its files
uploaded (through the server's artifact proxy) into a run of the experiment made to hold them,
its mlnb fields (hash, flavour, format, metrics, signature, message, author, run) in ``mlnb.*``
tags, and every alias set on the version it names. Versions exported before (same hash) are
skipped. MLflow cannot load these files: mlnb writes skops files, not MLflow's ``MLmodel``
flavours, so the export holds the bytes and the record, for mlnb to import back.

Import: each MLflow model version's files are downloaded and put in DVC's cache as a new mlnb
version (same bytes, same version: nothing twice), and its aliases are set. A version that came
from mlnb gets its fields back. MLflow's scikit-learn flavour saved as skops (MLflow 3's default)
is registered as format ``skops`` (mlnb's safe loader); saved as a pickle or cloudpickle it is
registered as format ``pickle``, never unpickled on import, and mlnb loads it only with
``trusted=True`` (``--trusted``), as any pickle.
Any other MLflow model is kept as its folder (format ``dir``): ``mlnb.models.path(ref)``.

>>> mlnb.models.export_mlflow("http://127.0.0.1:5000")  # doctest: +SKIP
>>> mlnb.models.import_mlflow("http://127.0.0.1:5000", names=["churn"])  # doctest: +SKIP
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from .._display import Record
from .._lock import project_lock
from .._mlflow_http import MlflowClient, MlflowError
from .._project import Project, current_project
from ..errors import NotFound
from ..store import registry
from ..store._schema import aliases as al
from ..store._schema import model_versions as mv
from ..store._schema import models as mo
from . import _files
from ._refs import ModelVersion, resolve_in

#: model version fields kept in ``mlnb.*`` tags (JSON)
_FIELDS = ("md5", "flavour", "format", "size", "nfiles", "run_id", "metrics", "signature", "message", "user",
           "host", "git_commit", "created_at", "version")
#: what an MLflow model version cannot hold as mlnb holds it
LIMITS = ("alias history (promotions, gates, rollbacks): MLflow keeps only where each alias points now",
          "evaluations, routings and the training profile",
          "data lineage of a version (its data version links)",
          "MLflow cannot load mlnb's skops files: they are held for mlnb, not as an MLflow flavour")


def _versions(project: Project, names: list[str] | None) -> list[ModelVersion]:
    with registry(project).read() as conn:
        query = select(mo.c.name, mv.c.version).join(mo, mo.c.id == mv.c.model_id).order_by(mo.c.name, mv.c.version)
        if names:
            query = query.where(mo.c.name.in_(names))
        return [resolve_in(conn, f"{n}@{v}") for n, v in conn.execute(query)]


def export_mlflow(uri: str, names: Iterable[str] | None = None, experiment: str | None = None) -> Record:
    """Write every model version (of the models ``names``) with its files and aliases to the MLflow
    server at ``uri``; versions exported before are skipped.

    >>> mlnb.models.export_mlflow("http://127.0.0.1:5000", names=["churn"])  # doctest: +SKIP
    """
    project = current_project()
    wanted = list(names or [])
    versions = _versions(project, wanted)
    missing = sorted(set(wanted) - {v.name for v in versions})
    if missing:
        raise NotFound(f"no model {missing[0]!r} in this registry: `mlnb models list` shows them")
    client = MlflowClient(uri)
    exported = skipped = 0
    aliases_set = 0
    try:
        exp_id = client.experiment_id(experiment or f"{project.root.name}-models", create=True)
        numbers: dict[tuple[str, str], str] = {}
        for name in dict.fromkeys(v.name for v in versions):
            try:
                client.call("POST", "registered-models/create", {"name": name})
            except MlflowError as exc:
                if exc.code != "RESOURCE_ALREADY_EXISTS":
                    raise
            for found in client.pages("GET", "model-versions/search", "model_versions", filter=f"name='{name}'"):
                tags = {t["key"]: t["value"] for t in found.get("tags", [])}
                if "mlnb.md5" in tags:
                    numbers[(name, json.loads(tags["mlnb.md5"]))] = found["version"]
        for version in versions:
            if (version.name, version.md5) in numbers:
                skipped += 1
                continue
            numbers[(version.name, version.md5)] = _export_version(client, project, exp_id, version)
            exported += 1
        for version in versions:
            for alias in version.aliases:
                client.call("POST", "registered-models/alias", {"name": version.name, "alias": alias,
                                                                "version": numbers[(version.name, version.md5)]})
                aliases_set += 1
    finally:
        client.close()
    return Record({"uri": client.uri, "exported": exported, "skipped (exported before)": skipped,
                   "aliases set": aliases_set, "not held by MLflow": list(LIMITS)}, title="models exported to MLflow")


def _export_version(client: MlflowClient, project: Project, exp_id: str, version: ModelVersion) -> str:
    run = client.call("POST", "runs/create", {
        "experiment_id": exp_id, "run_name": f"{version.ref} (model files)", "start_time": int(version.created_at * 1000),
        "tags": [{"key": "mlnb.model", "value": version.ref}]})["run"]["info"]
    root = client.artifact_root(run["artifact_uri"])
    local = _files.local_path(project, version)
    files = [(p.relative_to(local).as_posix(), p) for p in sorted(local.rglob("*")) if p.is_file()] \
        if local.is_dir() else [(f"model.{version.format}" if version.format in _files.FORMATS else local.name, local)]
    for rel, path in files:
        client.put_artifact(root, f"model/{rel}", path.read_bytes())
    client.call("POST", "runs/update", {"run_id": run["run_id"], "status": "FINISHED",
                                        "end_time": int(version.created_at * 1000)})
    tags = [{"key": f"mlnb.{f}", "value": json.dumps(getattr(version, f))} for f in _FIELDS]
    tags.append({"key": "mlnb.file", "value": json.dumps(None if local.is_dir() else files[0][0])})
    created = client.call("POST", "model-versions/create", {
        "name": version.name, "source": f"{run['artifact_uri']}/model", "run_id": run["run_id"],
        "description": version.message, "tags": tags})
    return str(created["model_version"]["version"])


# -- import ------------------------------------------------------------------------------------


def import_mlflow(uri: str, names: Iterable[str] | None = None) -> Record:
    """Add the registered model versions of the MLflow server at ``uri`` (of the models ``names``)
    with their files and aliases; versions imported before (same bytes) are skipped.

    >>> mlnb.models.import_mlflow("http://127.0.0.1:5000")  # doctest: +SKIP
    """
    project = current_project()
    client = MlflowClient(uri)
    imported = skipped = aliases_set = 0
    pickles: list[str] = []
    try:
        models = list(client.pages("GET", "registered-models/search", "registered_models", max_results=1000))
        wanted = list(names or [])
        missing = sorted(set(wanted) - {m["name"] for m in models})
        if missing:
            raise NotFound(f"no registered model {missing[0]!r} on {client.uri}")
        for model in models:
            if wanted and model["name"] not in wanted:
                continue
            here: dict[str, ModelVersion] = {}
            found = client.pages("GET", "model-versions/search", "model_versions", filter=f"name='{model['name']}'")
            for item in sorted(found, key=lambda v: int(v["version"])):
                version, new = _import_version(client, project, item)
                here[str(item["version"])] = version
                imported, skipped = imported + new, skipped + (not new)
                if new and version.format == "pickle":
                    pickles.append(version.ref)
            for entry in model.get("aliases", []):
                if entry["version"] in here and _point(project, here[entry["version"]], entry["alias"]):
                    aliases_set += 1
    finally:
        client.close()
    return Record({"uri": client.uri, "imported": imported, "skipped (imported before)": skipped,
                   "aliases set": aliases_set,
                   "pickles (load only with trusted=True)": pickles}, title="models imported from MLflow")


def _import_version(client: MlflowClient, project: Project, item: dict[str, Any]) -> tuple[ModelVersion, bool]:
    """The mlnb version holding an MLflow model version's files (made when new), and whether it is new."""
    tags = {t["key"]: t["value"] for t in item.get("tags", [])}
    fields = {f: json.loads(tags[f"mlnb.{f}"]) for f in _FIELDS if f"mlnb.{f}" in tags}
    uri = client.call("GET", "model-versions/get-download-uri", name=item["name"],
                      version=item["version"])["artifact_uri"]
    root = client.artifact_root(uri)
    with tempfile.TemporaryDirectory(dir=project.mlnb_dir) as tmp:
        folder = Path(tmp) / "model"
        for rel, _size in client.list_artifacts(root):
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(client.get_artifact(root, rel))
        if "mlnb.file" in tags:  # it came from mlnb: the same file or folder as before
            single = json.loads(tags["mlnb.file"])
            target = folder / single if single else folder
        else:
            target, fields = _native(folder, item)
        with project_lock(project.root, "models", what=f"importing model {item['name']}"):
            md5, size, nfiles = _files.to_cache(project, target)
            return _insert(project, item["name"], md5, size, nfiles, fields, item)


#: MLflow's scikit-learn serialization formats as mlnb formats (skops: the safe loader; the rest: pickles)
_SKLEARN_FORMATS = {"skops": "skops", "pickle": "pickle", "cloudpickle": "pickle"}


def _native(folder: Path, item: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """An MLflow-made model: its scikit-learn file (skops, or a pickle) or its whole folder."""
    import yaml

    fields: dict[str, Any] = {"message": item.get("description") or f"imported from MLflow "
                              f"models:/{item['name']}/{item['version']}", "run_id": item.get("run_id") or None,
                              "user": item.get("user_id") or None,
                              "created_at": int(item.get("creation_timestamp", 0)) / 1000 or time.time()}
    spec = folder / "MLmodel"
    flavors = (yaml.safe_load(spec.read_text()) or {}).get("flavors", {}) if spec.is_file() else {}
    sk = flavors.get("sklearn") or {}
    fmt = _SKLEARN_FORMATS.get(sk.get("serialization_format", "cloudpickle"))
    if sk.get("pickled_model") and fmt and (folder / sk["pickled_model"]).is_file():
        return folder / sk["pickled_model"], {**fields, "flavour": "sklearn", "format": fmt}
    flavour = next((f for f in flavors if f != "python_function"), "mlflow")
    return folder, {**fields, "flavour": f"mlflow-{flavour}" if flavour != "mlflow" else flavour, "format": "dir"}


def _insert(project: Project, name: str, md5: str, size: int, nfiles: int | None, fields: dict[str, Any],
            item: dict[str, Any]) -> tuple[ModelVersion, bool]:
    with registry(project).write() as conn:
        mid = conn.execute(select(mo.c.id).where(mo.c.name == name)).scalar()
        if mid is None:
            mid = conn.execute(mo.insert().values(name=name, created_at=fields.get("created_at") or time.time())
                               ).inserted_primary_key[0]
        same = conn.execute(select(mv.c.version).where(mv.c.model_id == mid, mv.c.md5 == md5)).scalar()
        if same is not None:
            return resolve_in(conn, f"{name}@{same}"), False
        taken = conn.execute(select(func.max(mv.c.version)).where(mv.c.model_id == mid)).scalar() or 0
        wish = fields.get("version")
        number = wish if isinstance(wish, int) and wish > taken else taken + 1
        conn.execute(mv.insert().values(
            model_id=mid, version=number, md5=md5, flavour=fields.get("flavour", "mlflow"),
            format=fields.get("format", "dir"), size=size, nfiles=nfiles, run_id=fields.get("run_id"),
            metrics=json.dumps(fields.get("metrics") or {}),
            signature=json.dumps(fields["signature"]) if fields.get("signature") else None,
            profile_md5=None, message=fields.get("message") or "", user=fields.get("user"), host=fields.get("host"),
            git_commit=fields.get("git_commit"), created_at=fields.get("created_at") or time.time()))
        return resolve_in(conn, f"{name}@{number}"), True


def _point(project: Project, version: ModelVersion, alias: str) -> bool:
    """Set ``alias`` on ``version`` (an event in the alias log) unless it is there already."""
    from ._aliases import set_alias

    with registry(project).read() as conn:
        holder = conn.execute(select(al.c.model_version_id).join(mo, mo.c.id == al.c.model_id)
                              .where(mo.c.name == version.name, al.c.alias == alias)).scalar()
    if holder == version.id:
        return False
    set_alias(version.ref, alias, reason="imported from MLflow")
    return True
