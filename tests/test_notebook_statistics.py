"""The statistics the example notebooks show, recomputed by an independent oracle.

nbval only proves a notebook prints what it printed before; here the numbers in the saved outputs
are checked against scipy and pandas on the same data (rebuilt from the notebook's own seeded data
cells): in ``03-checks`` each drift score, the categorical PSI, the adjusted p-values and
decisions, and the validation counts; in ``01-data-versioning`` the statistics of ``data diff``.
(The numeric PSI is left out: its decile edges are mlnb's fine-bin edges, see docs/checks.md.)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOK = NOTEBOOKS / "03-checks.ipynb"
IDENTIFIER = "customer_id"  # unique per row: reported "not tested" (docs/checks.md), its missing rate still is
CATEGORICAL = ["country", "plan", "churned"]
NUMERIC = ["age", "tenure_months", "monthly_spend", "support_calls", "signup"]
PSI_EPS = 1e-4


@pytest.fixture(scope="module")
def notebook() -> Any:
    return nbformat.read(str(NOTEBOOK), as_version=4)


def _cell(nb: Any, starts: str) -> Any:
    found = [c for c in nb.cells if c.cell_type == "code" and c.source.lstrip().startswith(starts)]
    assert len(found) == 1, f"one cell starting with {starts!r}"
    return found[0]


def _text(cell: Any) -> str:
    return "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.outputs)


@pytest.fixture(scope="module")
def customers(notebook: Any) -> Any:
    """The notebook's own data generator (its ``def customers`` cell, without the display line)."""
    source = _cell(notebook, "def customers").source
    namespace: dict[str, Any] = {"np": np, "pd": pd}
    exec(source.split("\ntrain = ")[0], namespace)  # noqa: S102 - our own notebook's cell
    return namespace["customers"]


def _shown_report(notebook: Any) -> dict[str, dict[str, Any]]:
    """column -> drifted, metric, score, p_adjusted, psi as the notebook displays them (4 decimals)."""
    text = _text(_cell(notebook, 'report.to_frame()[["column"'))
    rows: dict[str, dict[str, Any]] = {}
    by_index: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"^(\d+)\s+(\S+)\s+(True|False)\s+(\S+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", line)
        if m:
            by_index[m[1]] = m[2]
            rows[m[2]] = {"drifted": m[3] == "True", "metric": m[4], "score": float(m[5]), "p_adjusted": float(m[7])}
            continue
        m = re.match(r"^(\d+)\s+([\d.]+)\s*$", line)
        if m and m[1] in by_index:
            rows[by_index[m[1]]]["psi"] = float(m[2])
    assert sorted(rows) == sorted(CATEGORICAL + NUMERIC) and all("psi" in r for r in rows.values()), text
    assert re.search(rf"^\d+\s+{IDENTIFIER}\s+False\s+NaN\s+NaN", text, re.M), text
    return rows


def _values(frame: pd.DataFrame, column: str) -> np.ndarray:
    s = frame[column].dropna()
    if column == "signup":
        return s.to_numpy("datetime64[ns]").astype(np.int64) / 1e9  # seconds since the epoch
    return s.to_numpy(np.float64)


def _counts(ref: pd.Series, cur: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    r, c = ref.astype(str).value_counts(), cur.astype(str).value_counts()
    cats = sorted(set(r.index) | set(c.index))
    return r.reindex(cats, fill_value=0).to_numpy(float), c.reindex(cats, fill_value=0).to_numpy(float)


def _psi(r: np.ndarray, c: np.ndarray) -> float:
    rs, cs = np.maximum(r / r.sum(), PSI_EPS), np.maximum(c / c.sum(), PSI_EPS)
    return float(np.sum((cs - rs) * np.log(cs / rs)))


def _chi2_p(r: np.ndarray, c: np.ndarray) -> float:
    keep = (r + c) > 0
    if keep.sum() < 2:
        return 1.0
    return float(stats.chi2_contingency(np.vstack([r[keep], c[keep]]), correction=False).pvalue)


def test_the_drift_table_the_notebook_shows_matches_scipy(notebook: Any, customers: Any) -> None:
    train = customers(50_000, seed=1, quarter_start="2026-04-01")
    current = customers(50_000, seed=3, quarter_start="2026-07-01", drift=True)
    shown = _shown_report(notebook)

    oracle: dict[str, dict[str, Any]] = {}
    for col in NUMERIC:
        ref, cur = _values(train, col), _values(current, col)
        oracle[col] = {"score": stats.wasserstein_distance(ref, cur) / np.std(ref),
                       "p": stats.ks_2samp(ref, cur).pvalue, "threshold": 0.1}
    for col in CATEGORICAL:
        r, c = _counts(train[col], current[col])
        oracle[col] = {"score": float(jensenshannon(r, c, base=2)), "p": _chi2_p(r, c), "psi": _psi(r, c),
                       "threshold": 0.1}
    # missing-vs-present chi-square per column, in the same Benjamini-Hochberg family
    missing = []
    for col in [IDENTIFIER, *CATEGORICAL, *NUMERIC]:
        m_ref, m_cur = int(train[col].isna().sum()), int(current[col].isna().sum())
        missing.append(_chi2_p(np.array([m_ref, len(train) - m_ref], float), np.array([m_cur, len(current) - m_cur], float)))
    order = CATEGORICAL + NUMERIC
    adjusted = stats.false_discovery_control([oracle[c]["p"] for c in order] + missing, method="bh")

    for i, col in enumerate(order):
        want, got = oracle[col], shown[col]
        assert got["score"] == pytest.approx(want["score"], abs=5.1e-5), col
        assert got["p_adjusted"] == pytest.approx(adjusted[i], abs=5.1e-5), col
        if "psi" in want:
            assert got["psi"] == pytest.approx(want["psi"], abs=5.1e-5), col
        assert got["drifted"] == bool(adjusted[i] < 0.05 and want["score"] >= want["threshold"]), col
    assert [c for c in order if shown[c]["drifted"]] == ["plan", "monthly_spend", "signup"]


def test_the_validation_counts_the_notebook_shows_match_pandas(notebook: Any, customers: Any) -> None:
    train = customers(50_000, seed=1, quarter_start="2026-04-01")
    namespace: dict[str, Any] = {"customers": customers, "pd": pd}
    exec(_cell(notebook, "batch = customers(").source.split("\nresult = ")[0], namespace)  # noqa: S102 - its edits
    batch = namespace["batch"]
    text = _text(_cell(notebook, "batch = customers("))
    m = re.search(r"(\d+) of (\d+) checks failed, ([\d,]+) failing values in ([\d,]+) rows", text)
    assert m, text
    spend = pd.to_numeric(batch["monthly_spend"], errors="coerce")
    failing = {
        "customer_id unique": int(batch["customer_id"].duplicated(keep=False).sum()),
        "country allowed": int((~batch["country"].isin(train["country"].unique())).sum()),
        "monthly_spend dtype": int(spend.isna().sum() - batch["monthly_spend"].isna().sum()),
        "monthly_spend min": int((spend < train["monthly_spend"].min()).sum()),
        "signup max": int((batch["signup"] > train["signup"].max()).sum()),
        "churned present": int("churned" not in batch.columns),
    }
    assert all(failing.values()), failing  # each of the notebook's planted problems is there
    assert int(m[1]) == len(failing)
    assert int(m[3].replace(",", "")) == sum(failing.values())
    assert int(m[4].replace(",", "")) == len(batch)


def test_the_data_diff_the_notebook_shows_matches_pandas() -> None:
    nb = nbformat.read(str(NOTEBOOKS / "01-data-versioning.ipynb"), as_version=4)
    namespace: dict[str, Any] = {}
    exec(_cell(nb, "import numpy as np, pandas as pd").source.split("\nv1 = ")[0], namespace)  # noqa: S102
    exec(_cell(nb, "clean = ").source.split("\nv2 = ")[0], namespace)  # noqa: S102
    before, after = namespace["df"], namespace["clean"]
    shown = {}
    for line in _text(_cell(nb, "%mlops data diff")).splitlines():
        m = re.match(r"^(mean|std|max)\s+(\w+)\s+(\S+)\s+(\S+)\s*$", line)
        if m:
            shown[(m[1], m[2])] = (float(m[3]), float(m[4]))
    assert sorted(shown) == [("max", "age"), ("mean", "age"), ("mean", "income"), ("std", "age"), ("std", "income")]
    for (stat, column), (a, b) in shown.items():
        want = [getattr(frame[column], stat)() for frame in (before, after)]  # pandas: std with ddof=1
        assert (a, b) == tuple(float(f"{w:.6g}") for w in want), (stat, column)
    rows = re.search(r"^rows\s+(\d+)\s+(\d+)", _text(_cell(nb, "%mlops data diff")), re.M)
    assert rows and (int(rows[1]), int(rows[2])) == (len(before), len(after))
