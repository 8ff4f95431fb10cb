"""A record's name (its natural key as text) is the same whichever encoder wrote it: the one sync
compiles once equals the json module's own, for any JSON value."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mlnb.sync._tables import canonical

_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text()
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(max_size=5), inner, max_size=4), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_canonical_is_the_json_modules_encoding(value):
    assert canonical(value) == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
