"""The streamed parquet drift imports neither pandas nor ``scipy.stats``/``scipy.spatial``: the
p-values, the Jensen-Shannon distance and the multiple-testing correction it computes without them
are the values scipy gives (bit for bit), and a real ``mlnb drift`` child process never loads them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats as st
from scipy.spatial.distance import jensenshannon

from mlnb.checks.stats import categorical as cat
from mlnb.checks.stats.kolmogorov import kstwo_sf
from mlnb.checks.stats.multitest import _step_up

TRIALS = int(os.environ.get("MLNB_LEAN_TRIALS", "400"))


def test_kstwo_sf_for_large_samples_is_scipys_bit_for_bit():
    """Beyond 10^5 (and N D^2 < 2.2: one minus Pelz-Good; >= 370: zero), scipy's own value."""
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(TRIALS):
        n = int(10 ** rng.uniform(5.01, 9))
        nxx = 2.2 * rng.uniform(0, 1) ** rng.choice([1, 4]) if rng.random() < 0.9 else rng.uniform(370, 2000)
        d = float(np.sqrt(nxx / n))
        if n * d <= 1:
            continue
        assert kstwo_sf(d, n) == float(st.kstwo.sf(d, n)), (d, n)
        checked += 1
    assert checked > TRIALS // 2


def _tables(rng: np.random.Generator):
    for _ in range(TRIALS):
        k = int(rng.integers(2, 40))
        scale = 10 ** rng.uniform(0, 8)
        r = np.floor(rng.exponential(scale, k))
        c = np.floor(r * rng.uniform(0.2, 5, k)) if rng.random() < 0.4 else np.floor(rng.exponential(scale, k))
        yield r, c


def test_chi_square_and_jensen_shannon_are_scipys_bit_for_bit():
    rng = np.random.default_rng(11)
    tails = 0
    for r, c in _tables(rng):
        keep = (r + c) > 0
        table = np.vstack([r[keep], c[keep]])
        if table.shape[1] < 2 or not table[0].sum() or not table[1].sum():
            assert cat.chi2_homogeneity(r, c) == (0.0, 1.0)
            continue
        expected = st.chi2_contingency(table, correction=False)
        assert cat.chi2_homogeneity(r, c) == (float(expected.statistic), float(expected.pvalue))
        assert cat.jensen_shannon(r, c) == float(jensenshannon(r, c, base=2))
        tails += 0 < expected.pvalue < 1e-100
    assert tails > 10  # extreme tails are among the cases


@pytest.mark.parametrize("method", ["bh", "by"])
def test_step_up_correction_is_scipys_bit_for_bit(method):
    rng = np.random.default_rng(5)
    for _ in range(TRIALS):
        p = rng.uniform(0, 1, int(rng.integers(1, 60))) ** rng.uniform(1, 30)
        if rng.random() < 0.3:  # ties
            p[rng.integers(0, len(p), len(p) // 2)] = p[0]
        assert np.array_equal(_step_up(p.copy(), method), st.false_discovery_control(p, method=method))


def _write(path, rows: int, seed: int, shift: float) -> None:
    rng = np.random.default_rng(seed)
    pq.write_table(pa.table({
        "x": rng.normal(shift, 1, rows),
        "n": pa.array(np.where(rng.random(rows) < 0.01, None, rng.integers(0, 1000, rows))),
        "c": pa.array(rng.choice(["a", "b", "c"], rows)),
    }), path, row_group_size=rows // 3)


def test_cli_drift_of_parquet_files_imports_neither_pandas_nor_scipy_stats_nor_linalg(tmp_path):
    rows = 300_000  # beyond the values kept exactly: the fine histograms decide
    _write(tmp_path / "ref.parquet", rows, 1, 0.0)
    _write(tmp_path / "cur.parquet", rows, 2, 0.3)
    code = ("import sys; from mlnb.cli import main; rc = main(['drift', 'ref.parquet', 'cur.parquet', '--json']);"
            "print(sorted(m for m in ('pandas', 'scipy.stats', 'scipy.spatial', 'scipy.linalg') if m in sys.modules), rc)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    *report, last = out.stdout.splitlines()
    assert last == "[] 1"  # x drifted; nothing heavy imported (scipy.linalg: numba's BLAS probe skipped)
    import mlnb

    in_process = mlnb.checks.drift(str(tmp_path / "ref.parquet"), str(tmp_path / "cur.parquet"))
    assert json.loads("\n".join(report)) == json.loads(json.dumps(in_process.to_dict()))
    assert sorted(in_process.drifted) == ["x"]
