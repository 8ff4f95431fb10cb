"""Streaming checks: parquet beyond ``sample_size`` values is summarised into fine histograms whose
KS and Wasserstein bounds hold, the report says so, and decisions match the exact computation."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mlnb
from mlnb.checks.stats.sketch import Sketch, compare

N = 200_000


def _pairs():
    rng = np.random.default_rng(3)
    yield rng.normal(0, 1, N), rng.normal(0.03, 1, N)
    yield rng.lognormal(0, 2, N), rng.lognormal(0.1, 2, N)  # heavy tail
    yield 1.7e9 + rng.uniform(0, 86400, N), 1.7e9 + rng.uniform(0, 80000, N)  # timestamps: big offset, small spread
    yield rng.integers(0, 5, N) * 1.0, rng.integers(0, 6, N) * 1.0  # ties
    yield np.append(rng.normal(0, 1, N), -1e9), rng.normal(0, 1.1, N)  # one far outlier


@pytest.mark.parametrize("pair", list(_pairs()), ids=["normal", "lognormal", "timestamps", "integers", "outlier"])
def test_sketch_bounds_hold_and_are_tight(pair):
    a, b = pair
    grid = Sketch.grid(a[:5000])
    ra, rb = grid.empty(), grid.empty()
    for i in range(0, len(a), 30_000):  # batches merged
        part = grid.empty()
        part.add(a[i:i + 30_000])
        ra.merge(part)
        rb.add(b[i:i + 30_000])
    c = compare(ra, rb)
    d, w1 = stats.ks_2samp(a, b).statistic, stats.wasserstein_distance(a, b)
    assert c.ks_lower - 1e-12 <= d <= c.ks_upper + 1e-12
    assert c.w1_lower * (1 - 1e-9) <= w1 <= c.w1_upper * (1 + 1e-9)
    assert c.ks_error <= 0.002
    assert c.w1_error <= 2e-3 * np.std(a)
    assert (ra.min, ra.max) == (a.min(), a.max())


@pytest.fixture(scope="module")
def parquet_pair(tmp_path_factory):
    rng = np.random.default_rng(5)
    root = tmp_path_factory.mktemp("stream")
    n = 120_000
    ref = pd.DataFrame({"same": rng.normal(0, 1, n), "shift": rng.normal(0, 1, n), "ints": rng.integers(0, 9, n),
                        "cat": rng.choice(list("abc"), n)})
    cur = pd.DataFrame({"same": rng.normal(0, 1, n), "shift": rng.normal(0.3, 1, n), "ints": rng.integers(0, 9, n),
                        "cat": rng.choice(list("abc"), n, p=[0.2, 0.4, 0.4])})
    ref.loc[::7, "same"] = np.nan
    ref.to_parquet(root / "ref.parquet", row_group_size=25_000)
    (root / "cur").mkdir()
    cur.iloc[:60_000].to_parquet(root / "cur" / "a.parquet", row_group_size=20_000)
    cur.iloc[60_000:].to_parquet(root / "cur" / "b.parquet", row_group_size=20_000)
    return root, ref, cur


def test_streamed_drift_decides_as_exact_and_states_bounds(parquet_pair):
    root, ref, cur = parquet_pair
    streamed = mlnb.checks.profile(root / "ref.parquet", batch_size=10_000, sample_size=30_000)
    report = streamed.drift(root / "cur").to_frame().set_index("column")
    exact = mlnb.checks.drift(ref, cur).to_frame().set_index("column")
    assert list(report["drifted"]) == list(exact["drifted"]) and report.loc["shift", "drifted"]
    assert report.loc["cat", "drifted"] and report.loc["cat", "statistic"] == exact.loc["cat", "statistic"]
    for col in ("same", "shift", "ints"):
        assert "from fine histograms of all" in report.loc[col, "notes"]
        assert abs(report.loc[col, "statistic"] - exact.loc[col, "statistic"]) <= report.loc[col, "ks_error"] + 1e-12
        assert report.loc[col, "n_ref"] == exact.loc[col, "n_ref"] and report.loc[col, "n_cur"] == exact.loc[col, "n_cur"]
        assert report.loc[col, "missing_ref"] == exact.loc[col, "missing_ref"]
    summary = streamed.to_frame().set_index("column")
    assert summary.loc["same", "mean"] == pytest.approx(ref["same"].mean(), abs=1e-12)
    assert summary.loc["shift", "max"] == ref["shift"].max()


def test_window_frame_against_streamed_reference(parquet_pair):
    root, ref, cur = parquet_pair
    streamed = mlnb.checks.profile(root / "ref.parquet", sample_size=30_000)
    report = streamed.drift(cur)
    assert set(report.drifted) == {"same", "shift", "cat"}  # `same`: its missing rate (1/7 -> 0)
    assert report.to_frame().set_index("column").loc["same", "reason"].startswith("missing rate")


def test_arrow_reading_counts_as_a_dataframe(tmp_path):
    """Numbers and strings are summarised from Arrow buffers, the rest through pandas: every count
    equals the in-memory profile's (nulls, NaN, inf, dictionary strings, timestamps, booleans)."""
    rng = np.random.default_rng(8)
    n = 5_000
    df = pd.DataFrame({
        "f": rng.normal(0, 1, n), "i": pd.array(rng.integers(0, 50, n), dtype="Int64"),
        "s": rng.choice(["x", "y", "z"], n).astype(object), "cat": pd.Categorical(rng.choice(["p", "q"], n)),
        "t": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s"),
        "b": rng.random(n) < 0.3, "u8": rng.integers(0, 200, n).astype("uint8"),
    })
    df.loc[::11, "f"] = np.nan
    df.loc[::13, "f"] = np.inf
    df.loc[::17, "i"] = pd.NA
    df.loc[::19, "s"] = None
    df.to_parquet(tmp_path / "d.parquet", row_group_size=700)
    streamed = mlnb.checks.profile(tmp_path / "d.parquet", batch_size=300).columns
    exact = mlnb.checks.profile(df).columns
    for name, col in exact.items():
        got = streamed[name]
        assert (got.kind, got.n_rows, got.n_missing, got.n_inf) == (col.kind, col.n_rows, col.n_missing, col.n_inf), name
        assert got.counts == col.counts, name
        if col.numeric is not None:
            assert np.array_equal(np.sort(got.numeric.values), np.sort(col.numeric.values)), name
            assert got.numeric.mean == pytest.approx(col.numeric.mean, rel=1e-12), name
