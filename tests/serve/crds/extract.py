"""Rebuild the schemas here from the upstream CRDs (see SOURCE.md):
python extract.py KSERVE_CRD.yaml SELDON_MODELS_CRD.yaml SELDON_EXPERIMENTS_CRD.yaml"""

import json
import sys
from pathlib import Path

import yaml

#: predictor fields mlnb never writes whose schemas are large (pod spec parts, other frameworks)
DROPPED = ("workerSpec", "volumes", "xgboost", "triton", "tensorflow", "sklearn", "pytorch", "pmml", "paddle",
           "onnx", "lightgbm", "huggingface", "initContainers", "containers", "affinity", "securityContext",
           "topologySpreadConstraints", "dnsConfig", "resourceClaims", "overhead", "tolerations", "hostAliases",
           "schedulingGates", "readinessGates")


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def schema(path):
    crd = yaml.safe_load(Path(path).read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v.get("storage")]
    out = strip(version["schema"]["openAPIV3Schema"])
    out["properties"].pop("status", None)
    return crd["spec"]["group"], version["name"], crd["spec"]["names"]["kind"], out


def main(kserve, models, experiments):
    for path in (kserve, models, experiments):
        group, version, kind, out = schema(path)
        if kind == "InferenceService":
            spec = out["properties"]["spec"]
            spec["properties"] = {"predictor": spec["properties"]["predictor"]}
            for name in DROPPED:
                spec["properties"]["predictor"]["properties"].pop(name)
        target = Path(__file__).with_name(f"{group}_{version}_{kind}.json")
        target.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
