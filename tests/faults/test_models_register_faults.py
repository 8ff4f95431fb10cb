"""Registering a model when things go wrong: a full disk, and SIGINT (Ctrl-C) mid-register.

Each leaves the project as it was, or with the new version whole: its registry rows, its bytes
in DVC's cache, loadable. A full disk is one line naming it. Interrupts: ``trials(6)``
(``MLNB_FAULT_TRIALS=N`` for more; tests/faults/_harness.py).
"""

from __future__ import annotations

import signal

import numpy as np
import pandas as pd
import pytest

import mlnb
from mlnb.errors import MlnbError
from tests.faults._harness import (assert_cache_is_sound, assert_most_landed, cache_objects, delays, interrupt,
                                   registry_rows, snapshot, spawn, time_child, trials)

TRIALS = trials(6)


def _big_model(rows: int, seed: int):  # type: ignore[no-untyped-def]
    """A nearest-neighbours model keeps its training rows: 16 bytes a row in the saved file."""
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows)})
    return KNeighborsClassifier(algorithm="brute").fit(X, X.a > 0), X


def test_disk_full_register_is_one_line_and_leaves_nothing(small_project):
    from tests.faults.conftest import fill

    disk, root = small_project(32 * 1024**2)
    small, X = _big_model(200, 0)
    mlnb.models.register("knn", small, data=X)  # the registry and the area are set up
    big, _ = _big_model(300_000, 1)  # about 5 MB once saved
    for leave in (1024**2, 6 * 1024**2):  # the scratch file cannot be written / the cache copy cannot
        filler = fill(disk, leave=leave)
        before = snapshot(root)
        with pytest.raises(MlnbError) as caught:
            mlnb.models.register("knn", big, data=X)
        message = str(caught.value)
        assert "\n" not in message and caught.value.exit_code == 3
        assert message.startswith("the disk is full while registering model knn (nothing was registered)"), message
        assert snapshot(root) == before
        assert not list((root / ".mlnb" / "tmp" / "models").iterdir())
        filler.unlink()
    version = mlnb.models.register("knn", big, data=X)
    assert version.ref == "knn@2" and mlnb.models.load("knn@2").n_samples_fit_ == 300_000
    assert_cache_is_sound(root)


_REGISTER = """
import os, sys
import numpy as np, pandas as pd
import mlnb
from sklearn.ensemble import RandomForestClassifier
rng = np.random.default_rng(int(os.environ["SEED"]))
X = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.normal(size=3000)})
model = RandomForestClassifier(n_estimators=30, random_state=int(os.environ["SEED"])).fit(X, X.a > 0)
mlnb.models.resolve  # the area imported before the clock starts
print("start", flush=True)
try:
    mlnb.models.register("forest", model, data=X, metrics={"auc": 0.5})
except KeyboardInterrupt:
    sys.exit(130)
print("done", flush=True)
"""


def test_sigint_mid_register_leaves_nothing_or_a_whole_version(project):
    import sys
    duration = time_child(spawn(_REGISTER, project.root, SEED="0"))
    landed = kept = 0
    for seed, delay in enumerate(delays(TRIALS, duration, 11), start=1):
        rows_before = registry_rows(project.root)
        child = spawn(_REGISTER, project.root, SEED=str(seed))
        hit, _out = interrupt(child, signal.SIGINT, delay)
        landed += hit
        rows_after = registry_rows(project.root)
        added = len(rows_after["model_versions"]) - len(rows_before["model_versions"])
        assert added in (0, 1)
        kept += added
        if hit and added == 0:  # nothing registered: nothing else changed in the registry either
            assert rows_after == rows_before
        assert not list((project.mlnb_dir / "tmp" / "models").iterdir())  # scratch removed on the way out
        assert child.returncode in (0, 130, -signal.SIGINT), child.returncode
    print(f"{landed} of {TRIALS} SIGINTs landed mid-register; {kept} registers completed anyway", file=sys.stderr)
    assert_most_landed(landed, TRIALS, "register")
    # every version is whole: numbered without gaps, its bytes and profile cached, loadable
    project.close()
    log = mlnb.models.log("forest").to_dict()
    assert sorted(v["version"] for v in log) == list(range(1, len(log) + 1))
    cached = {p.parent.name + p.name for p in cache_objects(project.root)}
    for number in range(1, len(log) + 1):
        version = mlnb.models.resolve(f"forest@{number}")
        assert version.md5 in cached and version.profile_md5 in cached
        assert type(mlnb.models.load(version.ref)).__name__ == "RandomForestClassifier"
    assert_cache_is_sound(project.root)
