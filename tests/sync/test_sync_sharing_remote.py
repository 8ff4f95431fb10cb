"""A registry shares through one remote: a push or pull through another is refused in one line and
changes nothing; `mlnb sync use NAME` moves the sharing to it, and its next push sends every record,
so a clone pulling from that remote alone gets the whole registry."""

from __future__ import annotations

import mlnb
from mlnb._project import Project
from tests.conftest import run_cli
from tests.faults._harness import assert_one_line_error, snapshot

from .conftest import clone, registry_records


def _runs(n: int) -> None:
    for i in range(n):
        with mlnb.start_run(name=f"fit-{i}") as run:
            run.log_params({"i": i})
            run.log_metric("loss", 1.0 / (i + 1), step=0)
            run.log_metric("loss", 0.5 / (i + 1), step=1)


def test_another_remote_is_refused_until_it_becomes_the_sharing_one(clones, tmp_path):
    a = clones.a
    backup = tmp_path / "backup"
    with clones.at(a):
        _runs(3)
        mlnb.push(data=False)  # through the default remote, which becomes the sharing one
        _runs(1)
        with a.dvc.config.edit() as conf:  # a second remote, not the default
            conf["remote"]["backup"] = {"url": str(backup)}
    before = snapshot(a.root)
    refused = run_cli("push", "--no-data", "-r", "backup", cwd=a.root)
    assert_one_line_error(refused, 2)
    assert str(clones.remote) in refused.stderr and "mlnb sync use" in refused.stderr
    assert run_cli("pull", "--no-data", "-r", "backup", cwd=a.root).returncode == 2
    assert snapshot(a.root) == before and not backup.exists()

    used = run_cli("sync", "use", "backup", "--json", cwd=a.root, check=True)
    assert '"records_to_send": ' in used.stdout
    assert run_cli("push", "--no-data", cwd=a.root).returncode == 2  # the old one is refused now
    run_cli("push", "--no-data", "-r", "backup", cwd=a.root, check=True)

    # a clone whose only remote is the backup sees all four runs, every point, as the origin has them
    c = clone(a.root, tmp_path / "c")
    Project(c.root).set_remote(str(backup))
    with clones.at(c):
        mlnb.pull(data=False)
    mine, theirs = registry_records(a), registry_records(c)
    assert len(mine["runs"]) == 4 and len(mine["run_metrics"]) == 8
    assert theirs == mine
    c.close()
