"""`mlnb demo --no-lab`: the headless main job."""

from __future__ import annotations

import json

from tests.conftest import run_cli


def test_demo_seeds_a_project_with_data_and_runs(tmp_path):
    target = tmp_path / "demo"
    out = run_cli("demo", str(target), "--no-lab", check=True)
    assert "mlnb demo project" in out.stdout
    datasets = json.loads(run_cli("data", "log", "customers", "--json", cwd=target, check=True).stdout)
    assert [d["message"] for d in datasets] == ["drop the over-75s", "raw export"]
    runs = json.loads(run_cli("runs", "list", "--json", cwd=target, check=True).stdout)
    assert sorted(r["name"] for r in runs) == ["tree-depth-2", "tree-depth-4", "tree-depth-8"]
    assert all(r["status"] == "finished" and "accuracy" in r["metrics"] for r in runs)
    assert sorted(p.name for p in target.glob("*.ipynb"))[:1] == ["01-data-versioning.ipynb"]
    # seeding again adds runs but no new data versions (identical content)
    run_cli("demo", str(target), "--no-lab", check=True)
    assert len(json.loads(run_cli("data", "log", "customers", "--json", cwd=target, check=True).stdout)) == 2
