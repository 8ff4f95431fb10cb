"""Reading a model a page at a time (what the panel's REST routes ask for) and odd version numbers."""

from __future__ import annotations

import pytest

import mlnb
from mlnb.errors import NotFound, UsageError


def test_log_and_history_pages(churn) -> None:  # type: ignore[no-untyped-def]
    """On SQLite and PostgreSQL: pages of versions and of alias events, and a version's events."""
    mlnb.models.register("churn", churn.weak, metrics={"auc": 0.8})
    mlnb.models.register("churn", churn.strong, metrics={"auc": 0.9})
    mlnb.models.promote("churn@1", to="champion")
    mlnb.models.set_alias("churn@2", "staging")
    assert [r["version"] for r in mlnb.models.log("churn", limit=1)] == [2]
    assert [r["version"] for r in mlnb.models.log("churn", limit=5, offset=1)] == [1]
    assert mlnb.models.log("churn", offset=2).to_dict() == []
    events = mlnb.models.history("churn")
    assert [(e["alias"], e["to"]) for e in events.to_dict()] == [("staging", "churn@2"), ("champion", "churn@1")]
    assert [e["alias"] for e in mlnb.models.history("churn", limit=1, offset=1).to_dict()] == ["champion"]
    assert [e["alias"] for e in mlnb.models.history("churn", version=2).to_dict()] == ["staging"]
    assert mlnb.models.history("churn", version=3).to_dict() == []


def test_a_version_number_that_is_not_ascii_or_too_large(registered) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match="invalid alias"):
        mlnb.models.resolve("churn@²")
    with pytest.raises(NotFound, match="no model version"):
        mlnb.models.resolve("churn@" + "9" * 40)
