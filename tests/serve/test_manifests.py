"""Manifests for a routing: KServe and Seldon Core 2 checked against the projects' own CRD
schemas (tests/serve/crds, see SOURCE.md), storage URIs at the pushed DVC objects."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import pytest
import yaml

import mlnb
from mlnb.errors import UsageError
from mlnb.serve import manifests
from mlnb.serve._routing import Arm, Routing

from ..conftest import run_cli
from ..models.conftest import make_churn

CRDS = Path(__file__).with_name("crds")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")

ROUTINGS = {
    "single": Routing("churn", (Arm("champion", 100),)),
    "canary": Routing("churn", (Arm("champion", 90), Arm("challenger", 10)), strategy="canary"),
    "ab": Routing("churn", (Arm("champion", 50), Arm("2", 50, name="b")), strategy="ab", key="customer_id"),
    "shadow": Routing("churn", (Arm("champion", 100), Arm("challenger", 0, shadow=True)), strategy="shadow"),
}


def strict(node: object) -> object:
    """The schema as `kubectl apply` checks it (field validation Strict): unknown fields are errors."""
    if isinstance(node, dict):
        out = {k: strict(v) for k, v in node.items()}
        if "properties" in out and "additionalProperties" not in out \
                and not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [strict(v) for v in node]
    return node


def check(doc: dict) -> None:
    group, version = doc["apiVersion"].split("/")
    schema = json.loads((CRDS / f"{group}_{version}_{doc['kind']}.json").read_text())
    jsonschema.validate(doc, strict(schema))
    assert DNS_LABEL.match(doc["metadata"]["name"]), doc["metadata"]["name"]


@pytest.fixture
def churn(project):
    """churn@1 (champion) and churn@2 (challenger) as pickle, churn@3 as skops; all pushed."""
    c = make_churn()
    one = mlnb.models.register("churn", c.weak, data=c.X, format="pickle")
    two = mlnb.models.register("churn", c.strong, data=c.X, format="pickle")
    mlnb.models.register("churn", c.strong, data=c.X)
    mlnb.models.set_alias(one.ref, "champion")
    mlnb.models.set_alias(two.ref, "challenger")
    mlnb.data.push()
    return c


def docs_for(strategy: str, target: str, out: Path) -> list[dict]:
    (path,) = manifests(ROUTINGS[strategy], target, out, trusted=True)
    return list(yaml.safe_load_all(path.read_text()))


def assert_at_object(uri: str, version: int) -> None:
    """The URI names the pushed object: its bytes hash to the version's md5."""
    mv = mlnb.models.resolve(f"churn@{version}")
    parsed = urlparse(uri)
    assert parsed.scheme in ("", "file") and "/files/md5/" in uri
    assert hashlib.md5(Path(parsed.path).read_bytes()).hexdigest() == mv.md5


def test_the_schemas_are_not_blind(churn, tmp_path):
    """A typo'd field and a wrong type are both refused, or the checks below prove nothing."""
    (doc,) = docs_for("single", "kserve", tmp_path)
    doc["spec"]["predictor"]["canaryTrafficPercen"] = 10
    with pytest.raises(jsonschema.ValidationError):
        check(doc)
    exp = [d for d in docs_for("ab", "seldon", tmp_path) if d["kind"] == "Experiment"][0]
    exp["spec"]["candidates"][0]["weight"] = "50"
    with pytest.raises(jsonschema.ValidationError):
        check(exp)


@pytest.mark.parametrize("strategy", ["single", "canary"])
def test_kserve(churn, tmp_path, strategy):
    (doc,) = docs_for(strategy, "kserve", tmp_path)
    check(doc)
    predictor = doc["spec"]["predictor"]
    assert doc["kind"] == "InferenceService" and doc["metadata"]["name"] == "churn"
    assert predictor["model"]["modelFormat"] == {"name": "sklearn"}
    if strategy == "canary":
        assert predictor["canaryTrafficPercent"] == 10
        assert_at_object(predictor["model"]["storageUri"], 2)  # the canary is the challenger
    else:
        assert "canaryTrafficPercent" not in predictor
        assert_at_object(predictor["model"]["storageUri"], 1)


@pytest.mark.parametrize("strategy", ["ab", "shadow"])
def test_kserve_refuses_what_one_inferenceservice_cannot_do(churn, tmp_path, strategy):
    with pytest.raises(UsageError, match="--target seldon"):
        manifests(ROUTINGS[strategy], "kserve", tmp_path / "out", trusted=True)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("strategy", list(ROUTINGS))
def test_seldon(churn, tmp_path, strategy):
    docs = docs_for(strategy, "seldon", tmp_path)
    for doc in docs:
        check(doc)
    models = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Model"}
    experiments = [d for d in docs if d["kind"] == "Experiment"]
    routing = ROUTINGS[strategy]
    assert len(models) == len(routing.arms)
    for arm in routing.arms:
        version = mlnb.models.resolve(arm.ref("churn")).version
        assert_at_object(models[f"churn-{arm.label}"]["spec"]["storageUri"], version)
    if strategy == "single":
        assert not experiments
        return
    (exp,) = experiments
    assert exp["spec"]["candidates"] == [{"name": f"churn-{a.label}", "weight": int(a.weight)} for a in routing.live]
    if strategy == "shadow":
        assert exp["spec"]["mirror"] == {"name": "churn-challenger", "percent": 100}
        assert exp["spec"]["default"] == "churn-champion"
    else:
        assert "mirror" not in exp["spec"]
    if routing.key:
        assert exp["metadata"]["annotations"]["mlnb.io/sticky-key"] == "customer_id"


def test_skops_is_refused_for_cluster_runtimes(churn, tmp_path):
    routing = Routing("churn", (Arm("3", 100),))
    for target in ("kserve", "seldon"):
        with pytest.raises(UsageError, match="format='pickle'"):
            manifests(routing, target, tmp_path / target)
        assert not (tmp_path / target).exists()


@pytest.mark.parametrize("target", ["kserve", "seldon", "bentoml"])
def test_a_pickle_arm_needs_trusted_and_nothing_is_written_without_it(churn, tmp_path, target):
    """Whatever serves a pickle unpickles it, running any code it holds: as with `models.load`."""
    out = tmp_path / "out"
    with pytest.raises(UsageError, match=r"churn@1 is a pickle: .* trusted=True \(--trusted\)"):
        manifests(ROUTINGS["single"], target, out)
    assert not out.exists()
    assert manifests(ROUTINGS["single"], target, out, trusted=True)


def test_bad_input(churn, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(UsageError, match="unknown target"):
        manifests(ROUTINGS["single"], "sagemaker", out)
    with pytest.raises(UsageError, match="whole percents"):
        manifests(Routing("churn", (Arm("champion", 90.5), Arm("challenger", 9.5)), strategy="canary"),
                  "seldon", out, trusted=True)
    with pytest.raises(mlnb.errors.NotFound):
        manifests(Routing("churn", (Arm("nosuch", 100),)), "seldon", out)
    assert not out.exists()


def test_no_remote_is_one_clear_error(churn, tmp_path):
    project = mlnb._project.current_project()
    with project.dvc.config.edit() as conf:
        conf["core"].pop("remote", None)
    with pytest.raises(UsageError, match="no default DVC remote"):
        manifests(ROUTINGS["single"], "kserve", tmp_path, trusted=True)


def test_the_cli_writes_manifests_for_the_routing_it_sets(churn, project, tmp_path):
    """`mlnb deploy churn --to blue --target bentoml -o DIR`: the change lands, then the files describe
    the routing now in force. The local server serves skops versions only, so a routing set through
    `mlnb deploy` has no pickle arm, and the cluster targets (pickle runtimes) refuse it in one line."""
    mlnb.models.set_alias("churn@3", "blue")
    out = tmp_path / "deploy"
    proc = run_cli("deploy", "churn", "--to", "blue", "--target", "bentoml", "-o", str(out), cwd=project.root)
    assert proc.returncode == 0, proc.stderr
    assert mlnb.serve.routing("churn").routing.live[0].target == "blue"
    assert {p.name for p in out.iterdir()} >= {"service.py", "bentofile.yaml", "models"}
    assert "service.py" in proc.stdout
    before = mlnb.serve.deploy_history("churn").to_dict()
    refused = run_cli("deploy", "churn", "--target", "kserve", "-o", str(tmp_path / "k"), cwd=project.root)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "skops" in refused.stderr and not (tmp_path / "k").exists()
    assert mlnb.serve.deploy_history("churn").to_dict() == before
