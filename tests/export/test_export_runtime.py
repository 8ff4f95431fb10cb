"""The formats values cross stages in: each read back equal to what was written."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mlnb.errors import MlnbError
from mlnb.export.runtime import read_var, write_var


class Thing:
    def __init__(self, size: int) -> None:
        self.size = size


def _roundtrip(tmp_path: Path, value):  # type: ignore[no-untyped-def]
    written = write_var(value, str(tmp_path / "v"))
    return written.name, read_var(str(tmp_path / "v"))


def test_frames_series_arrays_and_plain_values(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1.5, None], "b": ["x", "y"]}, index=[10, 20])
    name, back = _roundtrip(tmp_path, frame)
    assert name == "frame.parquet"
    pd.testing.assert_frame_equal(back, frame)
    numbered = pd.DataFrame(np.arange(6).reshape(3, 2))
    name, back = _roundtrip(tmp_path, numbered)
    assert name == "frame.parquet"
    pd.testing.assert_frame_equal(back, numbered)
    for series in (pd.Series([1, 2, 3], name="s"), pd.Series([0.5, None]), pd.Series(["a"], name=4)):
        name, back = _roundtrip(tmp_path, series)
        assert name == "series.parquet"
        pd.testing.assert_series_equal(back, series)
    name, back = _roundtrip(tmp_path, np.linspace(0, 1, 7))
    assert name == "array.npy" and np.array_equal(back, np.linspace(0, 1, 7))
    for plain in (3, 0.1, "text", None, True, [1, {"k": [2.5, None]}]):
        assert _roundtrip(tmp_path, plain) == ("value.json", plain)


def test_models_go_through_skops_and_unknown_types_are_refused(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    X, y = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40) % 2
    search = GridSearchCV(Pipeline([("s", StandardScaler()), ("c", LogisticRegression())]), {"c__C": [0.1, 1]}, cv=2)
    search.fit(X, y)
    name, back = _roundtrip(tmp_path, search)
    assert name == "object.skops"
    assert np.array_equal(back.predict_proba(X), search.predict_proba(X))
    assert _roundtrip(tmp_path, Counter("aab"))[1] == Counter("aab")

    write_var(Thing(7), str(tmp_path / "thing"))  # a type outside the trusted libraries
    with pytest.raises(MlnbError, match=r"test_export_runtime.Thing; nothing was loaded: .*MLNB_EXPORT_TRUST"):
        read_var(str(tmp_path / "thing"))
    monkeypatch.setenv("MLNB_EXPORT_TRUST", f"{Thing.__module__}.Thing")
    assert read_var(str(tmp_path / "thing")).size == 7


def test_a_value_with_no_safe_format_names_itself(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"cannot save `gen` \(generator\) for the next stage"):
        write_var((i for i in range(3)), str(tmp_path / "gen"))
