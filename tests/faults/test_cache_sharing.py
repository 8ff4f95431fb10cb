"""Data writes and model registration share DVC's cache: neither sweeps away the other's
temporary objects. (A data write used to delete every ``*.tmp`` in the cache when it started —
the half-copied object of a model being registered by another process at that moment too.)"""

from __future__ import annotations

import pandas as pd

import mlnb
from tests.faults._harness import assert_cache_is_sound, spawn

_REGISTER = """
import os
import mlnb
print("start", flush=True)
for i in range({n}):
    folder = f"weights{{i}}"
    os.makedirs(folder)
    for j in range(12):
        with open(f"{{folder}}/w{{j}}.bin", "wb") as f:
            f.write(os.urandom(3_000_000))
    mlnb.models.register_path("big", folder, flavour="weights")
    print("registered", i, flush=True)
print("done", flush=True)
"""


def test_data_adds_never_break_a_model_registering_at_the_same_time(project):
    n = 4
    child = spawn(_REGISTER.format(n=n), project.root)
    assert child.stdout.readline().strip() == "start", child.stderr.read()
    adds = 0
    while child.poll() is None:
        pd.DataFrame({"x": range(adds + 1)}).to_csv(project.root / "data.csv", index=False)
        mlnb.data.add("data.csv", message=f"add {adds}")
        adds += 1
    out, err = child.communicate()
    assert child.returncode == 0 and out.count("registered") == n, err
    print("data adds during the registrations:", adds)
    assert adds >= 3, f"only {adds} data adds overlapped the registrations: the test proved nothing"
    assert mlnb.models.resolve("big").version == n
    for version in range(1, n + 1):
        assert len(list(mlnb.models.path(f"big@{version}").iterdir())) == 12
    assert_cache_is_sound(project.root)
