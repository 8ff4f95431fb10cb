"""Two clones each make a `train@2`: the one pushed first keeps the number everywhere, the other
becomes `train@3` on both clones — numbers agree, and content never changes under a number twice."""

from __future__ import annotations

import pandas as pd

import mlnb

from .conftest import registry_records


def _frame(tag: int) -> pd.DataFrame:
    return pd.DataFrame({"v": [tag, tag + 1, tag + 2]})


def test_same_number_made_on_two_clones(clones):
    with clones.at(clones.a):
        mlnb.data.save(_frame(0), "train")
        mlnb.push()
    with clones.at(clones.b):
        mlnb.pull()
        mlnb.data.save(_frame(200), "train")  # B's train@2, not pushed yet
    with clones.at(clones.a):
        mlnb.data.save(_frame(100), "train")  # A's train@2
        mlnb.push()
    with clones.at(clones.b):
        assert mlnb.data.load("train@2").equals(_frame(200))
        mlnb.pull()  # A's train@2 was pushed first: B's own becomes train@3
        assert mlnb.data.load("train@2").equals(_frame(100))
        assert mlnb.data.load("train@3").equals(_frame(200))
        mlnb.push()
    with clones.at(clones.a):
        mlnb.pull()
        assert mlnb.data.load("train@3").equals(_frame(200))
    numbers = {r["md5"]: r["version"] for r in registry_records(clones.a)["data_versions"].values()}
    assert sorted(numbers.values()) == [1, 2, 3]
    assert registry_records(clones.a) == registry_records(clones.b)
