"""The checks on Dask DataFrames, on a real ``distributed.LocalCluster`` (2 worker processes):
the same report as the single-process streaming path on the same data."""

import numpy as np
import pandas as pd
import pytest

import mlnb

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as c:
            yield c


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    rng = np.random.default_rng(11)
    root = tmp_path_factory.mktemp("dask")
    n = 60_000
    for name, shift, probs in (("ref", 0.0, [0.3, 0.4, 0.3]), ("cur", 0.25, [0.2, 0.4, 0.4])):
        df = pd.DataFrame({"x": rng.normal(shift, 1, n), "y": rng.exponential(1, n), "k": rng.integers(0, 7, n),
                           "c": rng.choice(list("abc"), n, p=probs)})
        (root / name).mkdir()
        for i in range(4):  # 4 files: 4 partitions, on both workers
            df.iloc[i * n // 4:(i + 1) * n // 4].to_parquet(root / name / f"part{i}.parquet")
    return root


COLS = ["column", "drifted", "status", "n_ref", "n_cur", "missing_ref", "missing_cur", "test"]


@pytest.mark.parametrize("sample_size", [None, 5_000], ids=["exact", "histograms"])
def test_dask_drift_equals_single_process(client, folders, sample_size):
    kw = {} if sample_size is None else {"sample_size": sample_size}
    local = mlnb.checks.profile(folders / "ref", **kw).drift(folders / "cur").to_frame()
    on_cluster = mlnb.checks.profile(dd.read_parquet(folders / "ref"), **kw).drift(
        dd.read_parquet(folders / "cur")).to_frame()
    pd.testing.assert_frame_equal(on_cluster[COLS], local[COLS])
    assert set(on_cluster.loc[on_cluster.drifted, "column"]) == {"x", "c"}
    for col in ("statistic", "score", "p_value", "psi"):
        np.testing.assert_allclose(on_cluster[col], local[col], rtol=1e-9, atol=1e-12)
    if sample_size:
        assert on_cluster.set_index("column").loc["x", "notes"].count("from fine histograms") == 1


def test_dask_drift_one_call_and_profile_summary(client, folders):
    report = mlnb.checks.drift(dd.read_parquet(folders / "ref"), dd.read_parquet(folders / "cur"), columns=["x", "k"])
    assert report.drifted == ["x"]
    ref = pd.read_parquet(folders / "ref")
    summary = mlnb.checks.profile(dd.read_parquet(folders / "ref")).to_frame().set_index("column")
    assert summary.loc["y", "mean"] == pytest.approx(ref["y"].mean(), rel=1e-12)
    assert summary.loc["x", "rows"] == len(ref)


def test_cli_dask_flag(client, folders):
    from tests.conftest import run_cli

    proc = run_cli("drift", str(folders / "ref"), str(folders / "cur"), "--dask", client.scheduler.address, "--json")
    assert proc.returncode == 1, proc.stderr  # drift found: the documented exit code
    import json

    rows = {r["column"]: r for r in json.loads(proc.stdout)["columns"]} if proc.stdout.lstrip().startswith("{") else None
    assert rows is None or rows["x"]["drifted"]
    assert "x" in proc.stdout and "c" in proc.stdout
    bad = run_cli("drift", str(folders / "ref"), str(folders / "cur"), "--dask", "tcp://127.0.0.1:9")
    assert bad.returncode == 3 and bad.stderr.count("\n") == 1 and "Dask scheduler" in bad.stderr, bad.stderr
