"""Drift reports: decisions vs exact scipy, bad inputs, batches, charts and output size."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st
from hypothesis import given, settings
from hypothesis import strategies as hs
from scipy.spatial.distance import jensenshannon

import mlnb
from mlnb.errors import MlnbError, NotFound, UsageError


def frames(n: int, seed: int = 0, n_num: int = 6, n_cat: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ref = {f"num_{i}": rng.normal(size=n) for i in range(n_num)}
    cur = {f"num_{i}": rng.normal(size=n) for i in range(n_num)}
    cur["num_0"] = cur["num_0"] + 0.5           # clear shift
    cur["num_1"] = cur["num_1"] * 1.5           # scale change
    cur["num_2"] = cur["num_2"] + 0.02          # significant at large n, but tiny
    p = [0.4, 0.3, 0.2, 0.1]
    for i in range(n_cat):
        ref[f"cat_{i}"] = rng.choice(list("abcd"), n, p=p)
        cur[f"cat_{i}"] = rng.choice(list("abcd"), n, p=p[::-1] if i == 0 else p)
    return pd.DataFrame(ref), pd.DataFrame(cur)


def scipy_decisions(ref: pd.DataFrame, cur: pd.DataFrame, alpha=0.05, thr=0.1) -> set[str]:
    """The documented default rule, computed with plain scipy calls on the raw columns."""
    pvals, effects = {}, {}
    for c in ref.columns:
        if ref[c].dtype.kind == "f":
            pvals[c] = st.ks_2samp(ref[c], cur[c]).pvalue
            effects[c] = st.wasserstein_distance(ref[c], cur[c]) / np.std(ref[c])
        else:
            cats = sorted(set(ref[c]) | set(cur[c]))
            r = ref[c].value_counts().reindex(cats, fill_value=0).to_numpy()
            k = cur[c].value_counts().reindex(cats, fill_value=0).to_numpy()
            pvals[c] = st.chi2_contingency(np.vstack([r, k]), correction=False).pvalue
            effects[c] = jensenshannon(r / r.sum(), k / k.sum(), base=2)
    # the missing-rate tests join the family with p = 1 (no missing values here)
    family = list(pvals.values()) + [1.0] * len(pvals)
    adj = dict(zip(pvals, st.false_discovery_control(family, method="bh")))
    return {c for c in pvals if adj[c] < alpha and effects[c] >= thr}


@pytest.mark.parametrize("n", [300, 20_000])
def test_decisions_identical_to_exact_scipy(n):
    ref, cur = frames(n, seed=n)
    report = mlnb.checks.drift(ref, cur)
    assert set(report.drifted) == scipy_decisions(ref, cur)
    assert {"num_0", "num_1", "cat_0"} <= set(report.drifted)
    assert "num_2" not in report.drifted  # significant or not, 0.02 sd is below the effect threshold
    frame = report.to_frame().set_index("column")
    for c in ref.columns[:6]:
        assert frame.loc[c, "statistic"] == st.ks_2samp(ref[c], cur[c]).statistic
        assert frame.loc[c, "p_value"] == pytest.approx(st.ks_2samp(ref[c], cur[c]).pvalue, rel=1e-9)
        w1 = st.wasserstein_distance(ref[c], cur[c]) / np.std(ref[c])
        assert frame.loc[c, "score"] == pytest.approx(w1, rel=1e-9) and frame.loc[c, "score_error"] == 0


def test_fit_once_score_many_equals_one_call():
    ref, cur = frames(5000, seed=3)
    prof = mlnb.checks.profile(ref)
    a, b = prof.drift(cur).to_frame(), mlnb.checks.drift(ref, cur).to_frame()
    pd.testing.assert_frame_equal(a, b)
    assert prof.drift(ref).drifted == []
    assert prof.drift(cur, columns=["num_0", "cat_1"]).drifted == ["num_0"]


def test_report_protocol_and_json():
    ref, cur = frames(2000, seed=4)
    report = mlnb.checks.drift(ref, cur, thresholds={"num_0": 5.0})
    assert "num_0" not in report.drifted and report.dataset_drift and report.exit_code == 1
    d = json.loads(report.to_json())
    assert d["drift"] is True and d["n_drifted"] == len(report.drifted)
    assert {c["column"] for c in d["columns"]} == set(ref.columns)
    assert "DRIFT DETECTED" in str(report) and "DRIFT DETECTED" in report._repr_html_()
    calm = mlnb.checks.drift(ref, ref)
    assert calm.exit_code == 0 and "No dataset drift" in calm.verdict()


def test_configuration_options():
    ref, cur = frames(3000, seed=5)
    psi = mlnb.checks.drift(ref, cur, numeric_metric="psi", metrics={"cat_0": "psi"}).to_frame().set_index("column")
    assert psi.loc["num_0", "metric"] == "psi" and psi.loc["num_0", "threshold"] == 0.2
    assert psi.loc["cat_0", "metric"] == "psi"
    effect_only = mlnb.checks.drift(ref, cur, alpha=None, thresholds={"wasserstein": 0.01})
    assert "num_2" in effect_only.drifted
    share = mlnb.checks.drift(ref, cur, drift_share=0.9)
    assert share.drifted and not share.dataset_drift
    for bad in ({"alpha": 2}, {"metrics": {"num_0": "jensenshannon"}}, {"numeric_metric": "nope"}, {"colour": 1}):
        with pytest.raises(UsageError):
            mlnb.checks.drift(ref, cur, **bad)


def test_bad_inputs_give_sensible_rows():
    rng = np.random.default_rng(0)
    n = 400
    ref = pd.DataFrame({
        "all_nan": [np.nan] * n, "constant": [1.0] * n,
        "infs": np.r_[rng.normal(size=n - 3), [np.inf, -np.inf, np.inf]],
        "mixed": pd.Series([1, "a", 2.5, None] * (n // 4), dtype=object),
        "only_ref": rng.normal(size=n), "cat": rng.choice(["a", "b"], n),
        "when": pd.date_range("2024-01-01", periods=n, freq="h"), "flag": rng.random(n) < 0.3,
        "took": pd.to_timedelta(rng.integers(1, 100, n), unit="s"),
    })
    cur = ref.drop(columns="only_ref").assign(
        constant=1.0, cat=rng.choice(["a", "b", "c"], n), only_cur=1.0, all_nan=rng.normal(size=n),
        when=ref["when"] + pd.Timedelta(days=30))
    report = mlnb.checks.drift(ref, cur)
    rows = report.to_frame().set_index("column")
    assert "no values in reference" in rows.loc["all_nan", "notes"] and rows.loc["all_nan", "drifted"]
    assert "missing rate" in rows.loc["all_nan", "reason"]
    assert rows.loc["constant", "score"] == 0 and not rows.loc["constant", "drifted"]
    assert "3 infinite values" in rows.loc["infs", "notes"] and not rows.loc["infs", "drifted"]
    assert "mixed value types" in rows.loc["mixed", "notes"]
    assert rows.loc["only_ref", "drifted"] and rows.loc["only_ref", "reason"] == "absent from current"
    assert not rows.loc["only_cur", "drifted"] and "only in current" in rows.loc["only_cur", "notes"]
    assert "new in current (c)" in rows.loc["cat", "notes"] and rows.loc["cat", "drifted"]
    assert rows.loc["when", "kind"] == "datetime" and rows.loc["when", "drifted"]
    assert rows.loc["flag", "kind"] == "categorical" and not rows.loc["flag", "drifted"]
    assert rows.loc["took", "kind"] == "numeric" and rows.loc["took", "score"] == 0
    json.dumps(report.to_dict(), allow_nan=False)  # NaN/inf become null


def test_tiny_samples_are_flagged_unreliable():
    ref, cur = frames(12, seed=6)
    rows = mlnb.checks.drift(ref, cur).to_frame()
    assert not rows["reliable"].any()
    assert rows["notes"].str.contains("small sample").all()


def test_constant_reference_and_type_change():
    ref = pd.DataFrame({"x": [1.0] * 100, "y": np.arange(100.0)})
    cur = pd.DataFrame({"x": [2.0] * 100, "y": [str(i) for i in range(100)]})
    rows = mlnb.checks.drift(ref, cur).to_frame().set_index("column")
    assert rows.loc["x", "drifted"] and "not normalised" in rows.loc["x", "notes"]
    assert rows.loc["y", "drifted"] and rows.loc["y", "reason"] == "type changed"


@pytest.mark.parametrize("ref, cur, message", [
    (pd.DataFrame({"a": []}), pd.DataFrame({"a": [1.0]}), "reference has no rows"),
    (pd.DataFrame({"a": [1.0]}), pd.DataFrame({"a": []}), "current data has no rows"),
    (pd.DataFrame(), pd.DataFrame({"a": [1.0]}), "no columns"),
    ([1, 2], pd.DataFrame({"a": [1.0]}), "batch 0 must be a pandas DataFrame"),
    (3.5, pd.DataFrame({"a": [1.0]}), "cannot profile a float"),
])
def test_unusable_inputs_raise_one_clear_error(ref, cur, message):
    with pytest.raises(UsageError, match=message):
        mlnb.checks.drift(ref, cur)


def test_unknown_columns_are_named():
    ref, cur = frames(50)
    with pytest.raises(UsageError, match="nope"):
        mlnb.checks.drift(ref, cur, columns=["num_0", "nope"])


def test_profile_from_parquet_batches_matches_in_memory(tmp_path):
    ref, cur = frames(30_000, seed=8)
    ref.loc[::7, "num_3"] = np.nan
    ref.to_parquet(tmp_path / "ref.parquet", row_group_size=4000)
    cur.to_parquet(tmp_path / "cur.parquet", row_group_size=4000)
    batched = mlnb.checks.profile(tmp_path / "ref.parquet", batch_size=3000)
    exact = mlnb.checks.profile(ref)
    for name, col in exact.columns.items():
        b = batched.columns[name]
        assert (b.n_rows, b.n_missing) == (col.n_rows, col.n_missing)
        if col.numeric is not None:
            assert b.numeric.mean == pytest.approx(col.numeric.mean, abs=1e-12)
            assert b.numeric.std == pytest.approx(col.numeric.std, rel=1e-10)
            assert np.array_equal(np.sort(b.numeric.values), np.sort(col.numeric.values))
        else:
            assert b.counts == col.counts
    a = batched.drift(tmp_path / "cur.parquet").to_frame()
    e = exact.drift(cur).to_frame()
    cols = ["column", "drifted", "statistic", "p_value", "psi", "missing_ref"]
    pd.testing.assert_frame_equal(a[cols], e[cols])


def test_sampled_profile_is_bounded_and_says_so(tmp_path):
    ref, cur = frames(20_000, seed=9, n_cat=1)
    ref.to_parquet(tmp_path / "ref.parquet")
    prof = mlnb.checks.profile(tmp_path / "ref.parquet", batch_size=2500, sample_size=5000)
    col = prof.columns["num_0"]
    assert col.numeric is None and col.sketch.n == col.n_rows - col.n_missing and col.n_rows == 20_000
    assert col.moments[0] == pytest.approx(ref["num_0"].mean(), abs=1e-12)  # moments stay exact
    report = prof.drift(cur)
    assert "from fine histograms of all" in report.to_frame().set_index("column").loc["num_0", "notes"]
    assert {"num_0", "num_1"} <= set(report.drifted)


def test_chart_is_prebinned_and_small():
    ref, cur = frames(200_000, seed=10, n_num=15, n_cat=5)
    report = mlnb.checks.drift(ref, cur)
    spec = report.chart().to_dict()
    size = len(json.dumps(spec))
    assert size < 90_000
    rows = [r for part in spec["vconcat"] for r in _values(part)]
    assert len(rows) < 2000  # counts per bin, not rows of data


def _values(spec):
    if isinstance(spec, dict):
        if "values" in spec and isinstance(spec["values"], list):
            yield from spec["values"]
        for v in spec.values():
            yield from _values(v)
    elif isinstance(spec, list):
        for v in spec:
            yield from _values(v)


def test_notebook_output_of_20_columns_with_static_images_is_under_300kb(ipython):
    ref, cur = frames(100_000, seed=11, n_num=15, n_cat=5)
    report = mlnb.checks.drift(ref, cur)
    shell = ipython
    outputs = []
    shell.display_pub.publish = lambda data, metadata=None, **kw: outputs.append(data)
    try:
        from IPython.display import display

        display(report)
    finally:
        del shell.display_pub.publish
    kinds = {k for o in outputs for k in o}
    assert {"text/html", "application/vnd.vegalite.v5+json", "image/svg+xml"} <= kinds
    total = sum(len(json.dumps(o)) for o in outputs)
    print(f"20-column drift report: {total:,} bytes of notebook output")
    assert total < 300_000


def test_named_columns_present_in_one_frame_are_reported():
    ref, cur = frames(500, seed=12)
    cur = cur.rename(columns={"num_5": "new_col"})
    rows = mlnb.checks.drift(ref, cur, columns=["num_0", "num_5", "new_col"]).to_frame().set_index("column")
    assert list(rows.index) == ["num_0", "num_5", "new_col"]
    assert rows.loc["num_5", "reason"] == "absent from current"
    assert "only in current" in rows.loc["new_col", "notes"]


def test_saved_profile_scores_like_the_original(tmp_path):
    ref, cur = frames(3000, seed=13)
    ref["flag"] = np.arange(3000) % 3 == 0
    ref["code"] = pd.Series([1, "x", 2.5] * 1000, dtype=object)
    ref.loc[::10, "num_3"] = np.nan
    cur = cur.assign(flag=np.arange(3000) % 2 == 0, code=ref["code"])
    prof = mlnb.checks.profile(ref)
    path = prof.save(tmp_path / "profiles" / "ref.npz")
    loaded = mlnb.checks.load_profile(path)
    pd.testing.assert_frame_equal(loaded.drift(cur).to_frame(), prof.drift(cur).to_frame())
    pd.testing.assert_frame_equal(mlnb.checks.drift(path, cur).to_frame(), prof.drift(cur).to_frame())
    assert loaded.columns["flag"].counts == prof.columns["flag"].counts  # True/False stay booleans


def test_bad_profile_files(tmp_path):
    with pytest.raises(NotFound, match="no profile file"):  # a missing file: exit 3, not a usage error
        mlnb.checks.load_profile(tmp_path / "nope.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(MlnbError, match="not an mlnb profile") as damaged:
        mlnb.checks.load_profile(tmp_path / "junk.npz")
    assert damaged.value.exit_code == 3
    with pytest.raises(UsageError, match=".npz"):
        mlnb.checks.profile(pd.DataFrame({"a": [1.0]})).save(tmp_path / "p.json")


@pytest.mark.parametrize("dtype", ["str", "string[pyarrow]", object])
def test_window_categories_counted_against_the_reference_match_a_plain_count(dtype):
    from mlnb.checks._columns import category_counts

    rng = np.random.default_rng(5)
    known = ["low", "mid", "high"]
    values = rng.choice(known + ["brand new", "other"], 5_000, p=[0.4, 0.3, 0.2, 0.06, 0.04]).astype(object)
    values[rng.integers(0, 5_000, 300)] = None
    window = pd.Series(values, dtype=dtype)
    plain = {k: int(v) for k, v in window.value_counts(dropna=True).items()}
    counts, missing, notes = category_counts(window, known)
    assert counts == plain and set(counts) >= {"brand new", "other"}
    assert missing == int(window.isna().sum()) > 0 and notes == []
    assert category_counts(window) == (counts, missing, notes)


def test_saved_large_profile_keeps_its_bins(tmp_path):
    # beyond 262,144 values the edges come from a random sample: the file must carry them
    rng = np.random.default_rng(21)
    ref = pd.DataFrame({"x": rng.lognormal(size=300_000), "k": rng.integers(0, 40, 300_000).astype(float),
                        "tail": rng.pareto(1.5, 300_000)})
    cur = pd.DataFrame({"x": rng.lognormal(0.05, 1.0, size=200_000), "k": rng.integers(0, 41, 200_000).astype(float),
                        "tail": rng.pareto(1.4, 200_000)})
    prof = mlnb.checks.profile(ref)
    loaded = mlnb.checks.load_profile(prof.save(tmp_path / "big.npz"))
    for name in ("x", "k", "tail"):
        assert np.array_equal(loaded.columns[name].numeric.bins.edges, prof.columns[name].numeric.bins.edges)
    pd.testing.assert_frame_equal(loaded.drift(cur).to_frame(), prof.drift(cur).to_frame())
    one_off = mlnb.checks.drift(ref, cur).to_frame()  # not indexed by bin: same numbers
    pd.testing.assert_frame_equal(one_off, prof.drift(cur).to_frame())


def test_profile_files_of_format_1_still_load(tmp_path):
    ref, cur = frames(2000, seed=3)
    path = mlnb.checks.profile(ref).save(tmp_path / "new.npz")
    with np.load(path) as data:
        header = json.loads(str(data["header"]))
        arrays = {k: data[k] for k in data.files if k not in ("header",) and not k.startswith("edges_")}
    header["format"] = "mlnb-profile/1"
    for col in header["columns"]:
        col.pop("grid", None), col.pop("snapped", None)
    old = tmp_path / "old.npz"
    np.savez_compressed(old, header=np.array(json.dumps(header)), **arrays)
    pd.testing.assert_frame_equal(mlnb.checks.load_profile(old).drift(cur).to_frame(),
                                  mlnb.checks.drift(ref, cur).to_frame())


def _mixed(n: int, seed: int) -> pd.Series:
    """An object column of ints with a few strings among its first values."""
    values = np.random.default_rng(seed).integers(0, 5, n).astype(object)
    values[:3] = ["a", "b", "a"]
    return pd.Series(values, dtype=object)


def test_mixed_type_reference_compares_every_window_as_text(tmp_path):
    """The reference decides once: its text form is applied to a window whose values are all ints."""
    ref = pd.DataFrame({"x": _mixed(4000, 1)})
    ints = ref.iloc[3:]  # the same values without the strings: only one type in the window
    rows = mlnb.checks.drift(ref, ints).to_frame().set_index("column")
    assert "mixed value types: compared as text" in rows.loc["x", "notes"]
    assert not rows.loc["x", "drifted"]
    text = sorted({str(v) for v in ref["x"]})
    r = ref["x"].map(str).value_counts().reindex(text, fill_value=0).to_numpy()
    c = ints["x"].map(str).value_counts().reindex(text, fill_value=0).to_numpy()
    assert rows.loc["x", "p_value"] == pytest.approx(st.chi2_contingency(np.vstack([r, c]), correction=False).pvalue)
    assert rows.loc["x", "score"] == pytest.approx(jensenshannon(r / r.sum(), c / c.sum(), base=2))
    assert rows.loc["x", "score"] < 0.02  # the same distribution, three values fewer
    saved = mlnb.checks.profile(ref).save(tmp_path / "ref.npz")
    for prof in (mlnb.checks.profile(ref), mlnb.checks.load_profile(saved)):
        assert prof.drift(ints).to_frame()["score"].iloc[0] == rows.loc["x", "score"]
        assert prof.drift(mlnb.checks.profile(ints)).to_frame()["score"].iloc[0] == rows.loc["x", "score"]
        # the same ints read back as an int64 column (e.g. from a file): still compared as text
        assert prof.drift(ints.astype({"x": "int64"})).to_frame()["score"].iloc[0] == rows.loc["x", "score"]


def test_values_beyond_1e154_still_get_a_normalised_distance():
    """Squaring such values overflows: the standard deviation is then taken on scaled values."""
    rng = np.random.default_rng(13)
    a, b = rng.normal(size=1000) * 1e200, rng.normal(3, 1, size=1000) * 1e200
    row = mlnb.checks.drift(pd.DataFrame({"x": a}), pd.DataFrame({"x": b})).rows[0]
    expected = st.wasserstein_distance(a / 1e200, b / 1e200) / np.std(a / 1e200)
    assert row["score"] == pytest.approx(expected, rel=1e-9) and row["drifted"]


def test_single_type_reference_keeps_its_values_against_a_mixed_window():
    """A reference of ints is not turned into text by a window that also holds strings."""
    ints = pd.DataFrame({"x": _mixed(4000, 2).iloc[3:].reset_index(drop=True)})
    rows = mlnb.checks.drift(ints, pd.DataFrame({"x": _mixed(4000, 2)})).to_frame().set_index("column")
    assert "compared as text" not in rows.loc["x", "notes"]
    assert "2 categories new in current (a, b)" in rows.loc["x", "notes"]
    assert not rows.loc["x", "drifted"] and rows.loc["x", "score"] < 0.02


def test_parquet_batches_of_a_mixed_column_are_counted_as_text(tmp_path):
    """One batch mixed, the next all ints: the merged counts use one form, text."""
    mixed = _mixed(2000, 3)
    batches = [pd.DataFrame({"x": mixed.iloc[:1000]}), pd.DataFrame({"x": mixed.iloc[1000:]})]
    counts = mlnb.checks.profile(iter(batches)).columns["x"].counts
    assert all(isinstance(k, str) for k in counts)
    assert counts == {str(k): int(v) for k, v in mixed.value_counts().items()}


_SPECIAL = hs.sampled_from([float("nan"), float("inf"), -float("inf")])
#: finite floats whose differences and sums stay finite, and special values
_FLOATS = hs.one_of(hs.floats(-1e300, 1e300), hs.integers(-2**53, 2**53).map(float), _SPECIAL)


_INTS = hs.one_of(hs.integers(-2**62, 2**62), hs.integers(-3, 3), hs.none())


@settings(max_examples=int(os.environ.get("MLNB_HYPOTHESIS_EXAMPLES", "60")), deadline=None)
@given(as_int=hs.booleans(), data=hs.data())
def test_columns_with_nan_inf_constant_or_empty_values_match_scipy_on_the_finite_ones(as_int, data):
    """NaN/None count as missing, ±inf apart; the statistics are scipy's on the finite values."""
    values = _INTS if as_int else _FLOATS
    ref, cur = (data.draw(hs.lists(values, min_size=1, max_size=300)) for _ in range(2))
    if as_int:  # a nullable int column (huge values lose their last bits as float64, on both sides)
        frames = pd.DataFrame({"x": pd.array(ref, dtype="Int64")}), pd.DataFrame({"x": pd.array(cur, dtype="Int64")})
        a, b = (np.array([np.nan if v is None else float(v) for v in x]) for x in (ref, cur))
    else:
        a, b = np.array(ref), np.array(cur)
        frames = pd.DataFrame({"x": a}), pd.DataFrame({"x": b})
    row = mlnb.checks.drift(*frames).rows[0]
    fa, fb = a[np.isfinite(a)], b[np.isfinite(b)]
    assert (row["n_ref"], row["n_cur"]) == (len(fa), len(fb))
    assert row["missing_ref"] == np.isnan(a).mean() and row["missing_cur"] == np.isnan(b).mean()
    n_inf = int(np.isinf(a).sum())
    assert (f"{n_inf} infinite values left out" in row["notes"]) == (n_inf > 0)
    if not len(fa) or not len(fb):
        assert "distribution not compared" in row["notes"] and row["test"] is None
        return
    expected = st.ks_2samp(fa, fb)  # up to 10,000 values mlnb hands the finite values to scipy
    assert (row["statistic"], row["p_value"]) == (expected.statistic, expected.pvalue)
    std = np.std(fa * 2.0**-600) * 2.0**600 if len(fa) and np.abs(fa).max() > 1e150 else np.std(fa)  # no overflow
    w1 = st.wasserstein_distance(fa, fb) / (std if std > 0 else 1.0)
    assert row["score"] == pytest.approx(w1, rel=1e-9, abs=1e-12 * max(1.0, w1))
    assert np.isfinite(row["score"])
    assert row["score_error"] == 0  # windows this small always get the exact distance
    assert ("not normalised" in row["notes"]) == (not std > 0)


def test_time_zones_float32_and_unhashable_values_reach_the_statistics_as_documented():
    rng = np.random.default_rng(14)
    when = pd.Series(pd.date_range("2024-01-01", periods=500, freq="37min"))
    small = rng.normal(size=500).astype(np.float32)
    ref = pd.DataFrame({"when": when.dt.tz_localize("UTC"), "f32": small, "lists": [[1], [2]] * 250})
    cur = pd.DataFrame({"when": (when + pd.Timedelta(days=1)).dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo"),
                        "f32": small + np.float32(0.5), "lists": [[1], [3]] * 250})
    rows = {r["column"]: r for r in mlnb.checks.drift(ref, cur).rows}
    seconds = when.astype("datetime64[ns]").astype("int64").to_numpy() / 1e9  # the same instants, any zone
    assert rows["when"]["statistic"] == st.ks_2samp(seconds, seconds + 86_400).statistic
    assert rows["f32"]["statistic"] == st.ks_2samp(small.astype(np.float64), (small + np.float32(0.5)).astype(np.float64)).statistic
    assert "unhashable values: compared as text" in rows["lists"]["notes"]
    assert rows["lists"]["hist"]["categories"] == ["[1]", "[2]", "[3]"]


def test_an_all_missing_window_keeps_the_reference_kind_and_metrics_must_fit_the_kind():
    ref = pd.DataFrame({"x": np.linspace(0.0, 1.0, 100), "c": ["a", "b"] * 50})
    cur = pd.DataFrame({"x": pd.Series([None] * 100, dtype=object), "c": ["a", "b"] * 50})
    row = mlnb.checks.drift(ref, cur).rows[0]
    assert row["kind"] == "numeric" and row["reason"] == "missing rate 0.0% -> 100.0%"
    assert "no values in current" in row["notes"] and "type changed" not in row["notes"]
    with pytest.raises(UsageError, match="metric 'wasserstein' does not apply to categorical column 'c'"):
        mlnb.checks.drift(ref, ref, metrics={"c": "wasserstein"})
