"""A BentoML service for a routing: ``service.py``, ``bentofile.yaml`` and the model files.

The service does not need mlnb: each arm's model file is copied next to it and loaded with skops
(trusting exactly the types mlnb's safe loader accepted when the service was written) or, for a
version registered as pickle, with pickle. Requests go to the live arms by weight (by a hash of
the sticky key when there is one); shadow arms predict on a copy and are only logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._project import Project
from ..errors import UsageError
from ._manifests import copy_model
from ._routing import Routing

_SERVICE = '''"""BentoML service for model {model!r} ({strategy}), written by mlnb. Serve: bentoml serve service:Service"""

import hashlib
import logging
import pickle
import random
from pathlib import Path

import bentoml

HERE = Path(__file__).parent
ARMS = {arms}
KEY = {key!r}
log = logging.getLogger("mlnb.bento")


def _load(arm):
    path = HERE / "models" / arm["file"]
    if arm["format"] == "pickle":
        with open(path, "rb") as fh:
            return pickle.load(fh)
    import skops.io as sio

    return sio.load(path, trusted=arm["trusted"])


def _pick(row):
    live = [a for a in ARMS if not a["shadow"]]
    if KEY is not None and KEY in row:
        point = int(hashlib.sha256(str(row[KEY]).encode()).hexdigest()[:8], 16) % 10000 / 100
    else:
        point = random.uniform(0, 100)
    for arm in live:
        point -= arm["weight"]
        if point < 0:
            return arm
    return live[-1]


@bentoml.service
class Service:
    def __init__(self):
        self.models = {{a["name"]: _load(a) for a in ARMS}}

    @bentoml.api
    def predict(self, instances: list[dict]) -> dict:
        import pandas as pd

        arm = _pick(instances[0]) if instances else ARMS[0]
        frame = pd.DataFrame(instances)
        if KEY is not None and KEY in frame:
            frame = frame.drop(columns=[KEY])
        out = self.models[arm["name"]].predict(frame).tolist()
        for shadow in (a for a in ARMS if a["shadow"]):
            log.info("shadow %s: %s", shadow["name"], self.models[shadow["name"]].predict(frame).tolist())
        return {{"predictions": out, "model": {model!r}, "version": arm["version"], "arm": arm["name"]}}
'''


def write_bento(routing: Routing, versions: dict[str, Any], project: Project, out: Path) -> list[Path]:
    """Write the service, its bentofile and one model file per arm under ``out``."""
    import skops.io as sio

    from ..models._files import load_file, local_path

    arms = []
    for arm in routing.arms:  # every check before anything is written
        version = versions[arm.label]
        if version.is_dir:
            raise UsageError(f"{version.ref} is a folder model: the BentoML target bundles one model file per arm")
        trusted: list[str] = []
        if version.format == "skops":
            load_file(project, version)  # mlnb's safe loader vets the file's types first
            trusted = sorted(sio.get_untrusted_types(file=local_path(project, version)))
        elif version.format != "pickle":
            raise UsageError(f"{version.ref} is a {version.flavour} {version.format}: the BentoML target serves "
                             "scikit-learn models saved as skops or pickle")
        ext = "pkl" if version.format == "pickle" else "skops"
        arms.append({"name": arm.label, "version": version.version, "weight": arm.weight,
                     "shadow": arm.shadow, "format": version.format, "file": f"{arm.label}.{ext}", "trusted": trusted})
    models = out / "models"
    models.mkdir(parents=True, exist_ok=True)
    written = [copy_model(project, versions[a.label], models / spec["file"]) for a, spec in zip(routing.arms, arms)]
    service = out / "service.py"
    service.write_text(_SERVICE.format(model=routing.model, strategy=routing.strategy, key=routing.key,
                                       arms=repr(arms)))
    bentofile = out / "bentofile.yaml"
    bentofile.write_text(_bentofile(routing))
    return [service, bentofile, *written]


def _bentofile(routing: Routing) -> str:
    import sklearn
    import yaml

    doc = {"service": "service:Service", "labels": {"mlnb-model": routing.model, "strategy": routing.strategy},
           "include": ["service.py", "models/*"],
           "python": {"packages": [f"scikit-learn=={sklearn.__version__}", "skops", "pandas"]}}
    return yaml.safe_dump(doc, sort_keys=False)
