"""Cluster manifests for a routing: KServe, Seldon Core 2 and a BentoML service.

``manifests(routing, target, out_dir)`` resolves every arm to a registered version and writes:

- ``kserve``: one ``InferenceService`` (``serving.kserve.io/v1beta1``). A canary is KServe's own
  ``canaryTrafficPercent``: KServe splits traffic between the *previous ready revision* and the
  latest one, so the manifest carries the canary version and the percent; apply the stable
  routing first, then this one. A/B (two or more live arms at chosen weights) and shadow arms have
  no field in one InferenceService: they are refused with what to use instead (Seldon).
- ``seldon``: one ``Model`` (``mlops.seldon.io/v1alpha1``) per arm and, with more than one arm, an
  ``Experiment`` whose ``candidates`` carry the live weights and whose ``mirror`` carries a shadow.
- ``bentoml``: ``service.py`` + ``bentofile.yaml`` + the model files, serving the same routing.

The storage URI of a version is its object in the project's default DVC remote, computed by DVC's
own layout (``<remote>/files/md5/ab/cdef...`` in DVC 3). The object is there only once pushed
(``mlnb data push``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._project import Project, current_project
from ..errors import MlnbError, UsageError
from ._routing import Arm, Routing

TARGETS = ("kserve", "seldon", "bentoml")
PUSH_NOTE = "the model objects must be on the remote: run `mlnb data push` (or `dvc push`) before applying"


def manifests(routing: Routing, target: str, out_dir: str | Path, project: Project | None = None,
              trusted: bool = False) -> list[Path]:
    """Write the manifests of ``routing`` for ``target`` under ``out_dir``; returns the files written.

    A pickle (or joblib) arm is unpickled by whatever serves it, which runs any code the file
    holds: it is written only with ``trusted=True``, as ``mlnb.models.load`` asks."""
    if target not in TARGETS:
        raise UsageError(f"unknown target {target!r}: use one of {', '.join(TARGETS)}")
    project = project or current_project()
    versions = _versions(routing, project)
    _pickles_trusted(versions, target, trusted)
    out = Path(out_dir)
    if target == "bentoml":
        from ._bento import write_bento

        return write_bento(routing, versions, project, out)
    writer: Callable[[Routing, dict[str, Any], Project], list[dict[str, Any]]] = (
        kserve_docs if target == "kserve" else seldon_docs)
    docs = writer(routing, versions, project)  # every refusal comes before anything is written
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{_k8s_name(routing.model)}-{target}.yaml"
    path.write_text(_yaml(docs, f"{target} manifests for model {routing.model} ({routing.strategy}); {PUSH_NOTE}"))
    return [path]


def _versions(routing: Routing, project: Project) -> dict[str, Any]:
    """``{arm label: ModelVersion}`` for every arm."""
    from ..models import resolve

    return {arm.label: resolve(arm.ref(routing.model), project) for arm in routing.arms}


def _pickles_trusted(versions: dict[str, Any], target: str, trusted: bool) -> None:
    from ..models._files import PICKLED

    pickled = [v.ref for v in versions.values() if v.format in PICKLED]
    if pickled and not trusted:
        raise UsageError(f"{', '.join(pickled)} {'is a pickle' if len(pickled) == 1 else 'are pickles'}: "
                         f"the {target} server unpickles it, which runs whatever code the file holds; pass "
                         "trusted=True (--trusted) only if you trust whoever registered it")


def storage_uri(project: Project, version: Any) -> str:
    """The URI of ``version``'s object in the project's default DVC remote (DVC's own layout)."""
    repo = project.dvc
    name = repo.config["core"].get("remote")
    if not name:
        raise UsageError("this project has no default DVC remote, so a cluster cannot fetch the model: "
                         "set one with `mlnb init --remote URL` (or `dvc remote add -d NAME URL`)")
    try:
        odb = repo.cloud.get_remote_odb(name)
    except Exception as exc:  # DVC's error: plugin missing, bad URL
        raise MlnbError(f"cannot read DVC remote {name!r}: {' '.join(str(exc).split())[:200]}") from None
    return str(odb.fs.unstrip_protocol(odb.oid_to_path(version.md5)))


def _weights(routing: Routing, target: str) -> None:
    for arm in routing.arms:
        if arm.weight != int(arm.weight):
            raise UsageError(f"arm {arm.label!r} has weight {arm.weight:g}: {target} takes whole percents; "
                             "round the traffic share")


def kserve_docs(routing: Routing, versions: dict[str, Any], project: Project) -> list[dict[str, Any]]:
    """One InferenceService: the single arm, or the canary arm with ``canaryTrafficPercent``."""
    _weights(routing, "KServe")
    if routing.shadows:
        raise UsageError("KServe has no shadow traffic in an InferenceService: use --target seldon "
                         "(its Experiment mirrors requests) or serve the shadow with `mlnb serve`")
    live = routing.live
    if len(live) > 2 or (len(live) == 2 and routing.strategy != "canary"):
        raise UsageError("one KServe InferenceService splits traffic only as a canary (previous revision vs "
                         "latest): for A/B across fixed arms use --target seldon (Experiment candidates)")
    arm = min(live, key=lambda a: a.weight)  # a canary is the smaller share; a single arm is itself
    version = versions[arm.label]
    predictor: dict[str, Any] = {"model": _kserve_model(project, version)}
    if routing.strategy == "canary" and len(live) == 2:
        predictor["canaryTrafficPercent"] = int(arm.weight)
    return [{
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": _k8s_name(routing.model), "annotations": _annotations(routing, versions)},
        "spec": {"predictor": predictor},
    }]


def _kserve_model(project: Project, version: Any) -> dict[str, Any]:
    _runnable(version)
    return {"modelFormat": {"name": "sklearn"}, "storageUri": storage_uri(project, version)}


def seldon_docs(routing: Routing, versions: dict[str, Any], project: Project) -> list[dict[str, Any]]:
    """A ``Model`` per arm; an ``Experiment`` over them when there is more than one arm."""
    _weights(routing, "Seldon")
    docs = []
    names = {arm.label: _k8s_name(f"{routing.model}-{arm.label}") for arm in routing.arms}
    for arm in routing.arms:
        version = versions[arm.label]
        _runnable(version)
        docs.append({
            "apiVersion": "mlops.seldon.io/v1alpha1",
            "kind": "Model",
            "metadata": {"name": names[arm.label], "annotations": _annotations(routing, {arm.label: version})},
            "spec": {"storageUri": storage_uri(project, version), "requirements": ["sklearn"]},
        })
    if len(routing.arms) > 1:
        spec: dict[str, Any] = {"candidates": [{"name": names[a.label], "weight": int(a.weight)} for a in routing.live]}
        if len(routing.live) == 1:
            spec["default"] = names[routing.live[0].label]
        if len(routing.shadows) > 1:
            raise UsageError("a Seldon Experiment mirrors to one model: keep one shadow arm for --target seldon")
        if routing.shadows:
            spec["mirror"] = {"name": names[routing.shadows[0].label], "percent": 100}
        docs.append({
            "apiVersion": "mlops.seldon.io/v1alpha1",
            "kind": "Experiment",
            "metadata": {"name": _k8s_name(routing.model), "annotations": _annotations(routing, versions)},
            "spec": spec,
        })
    return docs


def _runnable(version: Any) -> None:
    """KServe's and MLServer's scikit-learn runtimes load joblib/pickle files only."""
    if version.format != "pickle" or version.flavour != "sklearn":
        raise UsageError(
            f"{version.ref} is a {version.flavour} model saved as {version.format}: the KServe and Seldon "
            "scikit-learn runtimes load only pickle/joblib files; register it with format='pickle' for a "
            "cluster, or use --target bentoml (which loads skops safely)")


def _annotations(routing: Routing, versions: dict[str, Any]) -> dict[str, str]:
    out = {"mlnb.io/model": routing.model, "mlnb.io/strategy": routing.strategy,
           "mlnb.io/versions": json.dumps({k: v.version for k, v in versions.items()}, sort_keys=True),
           "mlnb.io/note": PUSH_NOTE}
    if routing.key:
        out["mlnb.io/sticky-key"] = routing.key
    return out


def _k8s_name(text: str) -> str:
    """A DNS-1123 label: lower case letters, digits and '-', at most 63 characters."""
    chars = [c if c.isalnum() else "-" for c in text.lower()]
    name = "".join(chars).strip("-")[:63].strip("-")
    if not name:
        raise UsageError(f"{text!r} gives no Kubernetes name: use letters or digits in the model name")
    return name


def _yaml(docs: list[dict[str, Any]], header: str) -> str:
    import yaml

    return f"# {header}\n" + yaml.safe_dump_all(docs, sort_keys=False, explicit_start=True)


def copy_model(project: Project, version: Any, dest: Path) -> Path:
    """Copy ``version``'s file (fetched from the remote if needed) to ``dest``."""
    from ..models._files import local_path

    shutil.copyfile(local_path(project, version), dest)
    return dest


__all__ = ["TARGETS", "Arm", "manifests", "storage_uri"]
