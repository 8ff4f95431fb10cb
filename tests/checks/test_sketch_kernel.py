"""The compiled binning of the fine histogram (mlnb/checks/stats/_sketch_kernels.py) equals the NumPy
binning it replaced (tests/checks/_sketch_numpy.py) bit for bit: per batch, merged over batches,
from Arrow buffers with nulls, NaN, ±inf and offsets, and over a whole streamed parquet file."""

from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from hypothesis.extra import numpy as hnp

from mlnb.checks._arrow import finite_values
from mlnb.checks._batches import Accumulator, read_ahead, summarize_parquet
from mlnb.checks._columns import NUMERIC
from mlnb.checks.stats import _sketch_kernels
from mlnb.checks.stats.sketch import Sketch, compare

from . import _sketch_numpy as numpy_path

N = 50_000


def _data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    return {
        "normal": rng.normal(0, 1, N),
        "lognormal": rng.lognormal(0, 2, N),
        "timestamps": 1.7e9 + rng.uniform(0, 86400, N),
        "integers": rng.integers(-3, 6, N) * 1.0,
        "outlier": np.append(rng.normal(0, 1, N - 1), -1e9),
        "tiny_spread": 1e6 + rng.normal(0, 1e-9, N),
        "constant": np.full(N, 2.5),
        "magnitudes": rng.choice([-1, 1], N) * 10.0 ** rng.uniform(-300, 300, N),
        "subnormal": rng.uniform(-1, 1, N) * 5e-310,
    }


DATA = _data()


def assert_same(got: Sketch, want: Sketch) -> None:
    """The same bins, the same sums (bit for bit), the same minimum and maximum."""
    assert (got.center, got.floor, got.first) == (want.center, want.floor, want.first)
    assert np.array_equal(got.counts, want.counts)
    assert np.array_equal(got.sums.view(np.int64), want.sums.view(np.int64))
    assert (got.min, got.max) == (want.min, want.max)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int32", "uint16"])
@pytest.mark.parametrize("name", list(DATA))
def test_kernel_bins_batches_as_numpy(name, dtype):
    with np.errstate(all="ignore"):  # integers wrap or truncate, float32 overflows to ±inf: any values will do
        x = DATA[name].astype(dtype)
    values = x.astype(np.float64)
    grid = Sketch.grid(values[np.isfinite(values)][:5000])
    kernel, numpy = grid.empty(), grid.empty()
    for start, stop in [(0, 7), (7, 20_000), (20_000, 20_001), (20_001, N)]:  # uneven batches, merged
        binned = kernel.add_values(x[start:stop])
        finite = values[start:stop][np.isfinite(values[start:stop])]
        numpy_path.add(numpy, finite)
        assert (binned.n, binned.nan, binned.inf) == (len(finite), 0, stop - start - len(finite))
        assert_same(kernel, numpy)
        if not len(finite):
            continue
        assert binned.mean == finite.mean()  # NumPy's pairwise sum, bit for bit
        with np.errstate(over="ignore"):
            m2 = ((finite - finite.mean()) ** 2).sum()
        assert binned.m2 == pytest.approx(m2, rel=1e-12, abs=1e-300)


@settings(deadline=None)
@given(hnp.arrays(np.float64, hs.integers(1, 300),
                  elements=hs.floats(-1e300, 1e300, allow_nan=False, allow_subnormal=True)),
       hs.integers(1, 300), hs.integers(1, 300))
def test_kernel_bins_any_finite_values_as_numpy(x, grid_from, batch):
    grid = Sketch.grid(x[:grid_from])
    kernel, numpy = grid.empty(), grid.empty()
    for start in range(0, len(x), batch):
        kernel.add_values(x[start:start + batch])
        numpy_path.add(numpy, x[start:start + batch])
    assert_same(kernel, numpy)
    if len(kernel.counts) < 100_000:  # (the NumPy reference is slow over millions of bins)
        half = grid.empty()
        half.add(x[: len(x) // 2 + 1])
        assert compare(half, kernel) == numpy_path.compare(half, kernel)


PAIRS = {  # (reference, current): shifted, heavy tails, ties, disjoint, one value each, far outlier
    "shifted": (DATA["normal"], DATA["normal"][::-1] * 1.1 + 0.2),
    "lognormal": (DATA["lognormal"], DATA["lognormal"][::-1] ** 1.05),
    "integers": (DATA["integers"], np.roll(DATA["integers"], 7) + (DATA["integers"] > 3)),
    "disjoint": (DATA["timestamps"], DATA["timestamps"] + 1e6),
    "single": (np.array([3.0]), np.array([3.0 + 2**-40])),
    "outlier": (DATA["outlier"], DATA["normal"]),
    "constant": (DATA["constant"], DATA["constant"]),
}


@pytest.mark.parametrize("pair", list(PAIRS))
def test_compare_in_one_pass_equals_numpy(pair):
    """KS and Wasserstein bounds and PSI from the compiled pass over the bins: the very values
    (bit for bit) the NumPy expressions give."""
    a, b = PAIRS[pair]
    grid = Sketch.grid(a[:5000])
    ref, cur = grid.empty(), grid.empty()
    ref.add(a)
    cur.add(b)
    assert compare(ref, cur) == numpy_path.compare(ref, cur)
    assert compare(cur, ref, psi_bins=4) == numpy_path.compare(cur, ref, psi_bins=4)


def _arrow_column(dtype: str, n: int = 3000) -> pa.Array:
    rng = np.random.default_rng(5)
    x = rng.normal(0, 100, n).astype(dtype)
    if x.dtype.kind == "f":
        x[::11] = np.nan
        x[::13] = np.inf
        x[5::17] = -np.inf
    return pa.array(x, mask=np.arange(n) % 7 == 3)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int16"])
@pytest.mark.parametrize("offset", [0, 3, 13])
def test_arrow_buffers_are_binned_as_their_finite_values(dtype, offset):
    """Nulls (validity bitmap, at any bit offset), NaN and ±inf are counted as the NumPy path of
    the batch's finite values counts them, and the bins are the same bits."""
    arr = _arrow_column(dtype).slice(offset, 2500)
    x, missing, inf = finite_values(arr)
    grid = Sketch.grid(x)
    streamed = Accumulator("x", NUMERIC, 0)
    streamed.add_numbers(arr, grid)
    numpy = grid.empty()
    numpy_path.add(numpy, x)
    assert (streamed.n_rows, streamed.n_missing, streamed.n_inf, streamed.n) == (len(arr), missing, inf, len(x))
    assert streamed.mean == x.mean()
    assert streamed.std == pytest.approx(x.std(), rel=1e-12)
    assert_same(streamed.sketch, numpy)


def test_streamed_parquet_equals_numpy_binning_of_the_same_batches(tmp_path):
    """A whole file through the reader thread and the kernels: every numeric column's histogram is
    the NumPy path's over the same batches in the same order (row groups, then batches)."""
    rng = np.random.default_rng(2)
    n = 9_000
    table = pa.table({
        "f64": pa.array(rng.normal(3, 2, n), mask=rng.random(n) < 0.1),
        "f32": rng.lognormal(0, 1, n).astype(np.float32),
        "i64": pa.array(rng.integers(-50, 50, n), mask=rng.random(n) < 0.05),
        "s": rng.choice(["a", "b"], n),
    })
    path = tmp_path / "d.parquet"
    pq.write_table(table, path, row_group_size=4_000)
    acc = summarize_parquet(path, None, batch_size=1_500, sample_size=1_000)
    assert list(acc) == ["f64", "f32", "i64", "s"] and acc["s"].counts == {
        k: int(v) for k, v in zip(*np.unique(table.column("s").to_numpy(zero_copy_only=False), return_counts=True))}
    file = pq.ParquetFile(path)
    for name in ("f64", "f32", "i64"):
        batches = [finite_values(b.column(0))[0] for g in range(file.num_row_groups)
                   for b in file.iter_batches(1_500, row_groups=[g], columns=[name])]
        want = Sketch.grid(batches[0]).empty()
        for x in batches:
            numpy_path.add(want, x)
        assert_same(acc[name].sketch, want)
        everything = np.concatenate(batches)
        assert acc[name].sampled and acc[name].n == len(everything)
        assert acc[name].mean == pytest.approx(everything.mean(), rel=1e-13)
        assert acc[name].std == pytest.approx(everything.std(), rel=1e-12)


def test_read_ahead_hands_over_the_readers_error_and_stops_when_closed():
    def failing():
        yield 1
        raise ValueError("page 7 does not decode")

    items = read_ahead(failing(), 1)
    assert next(items) == 1
    with pytest.raises(ValueError, match="page 7"):
        next(items)

    produced = []

    def endless():
        while True:
            produced.append(len(produced))
            yield produced[-1]

    items = read_ahead(endless(), 2)
    assert [next(items), next(items)] == [0, 1]
    items.close()
    assert not [t for t in threading.enumerate() if t.name == "mlnb-read-ahead"]
    assert len(produced) <= 5  # at most `depth` ahead (plus the one being handed over)


def test_kernels_hold_no_gil():
    """Threads bin in parallel only if every kernel is compiled without the GIL."""
    from numba.core.registry import CPUDispatcher

    kernels = {n: f for n, f in vars(_sketch_kernels).items() if isinstance(f, CPUDispatcher)}
    assert {"bin_batch", "fold", "_pairwise_sum"} <= set(kernels)
    for name, f in kernels.items():
        assert f.targetoptions["nogil"], name


def test_warm_up_compares_sketches_a_few_bins_apart():
    """``warm_up`` loads the kernels by binning and comparing two one-value sketches; comparing
    walks every bin between them, so they must lie a few bins apart, not ~10^6 (0.1 s a drift)."""
    from mlnb.checks.stats.sketch import _warm_pair

    one, other = _warm_pair()
    assert one.n == other.n == 1
    stop = max(one.first + len(one.counts), other.first + len(other.counts))
    assert stop - min(one.first, other.first) <= 8
    result = compare(one, other)
    assert (result.ks, result.w1, result.n, result.m) == (1.0, 1.0, 1, 1)
