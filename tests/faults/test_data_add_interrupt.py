"""An interrupted `data add` (SIGINT, SIGKILL) leaves no half-registered version and no broken cache.

Each trial adds new content and is hit at a random point of the time an uninterrupted add took
here; the test counts the signals that really landed mid-add (the harness tells) and requires a
majority, since a signal that arrives after the add proves nothing. ``MLNB_FAULT_TRIALS``
(default 20) sets the trials: a quarter of it per signal, at least 4.
"""

from __future__ import annotations

import hashlib
import os
import random

import pytest

import mlnb
from tests.faults._harness import assert_cache_is_sound
from tests.faults.test_data_checkout_interrupt import SIGNALS, timed_run, trials

TRIALS = max(int(os.environ.get("MLNB_FAULT_TRIALS", "20")) // 4, 4)
ADD = 'mlnb.data.add("big.bin", name="big")'
SIZE = 64 * 1024**2  # an add takes ~0.3 s here: room to land in hashing, copying and registering


@pytest.mark.parametrize("sig", SIGNALS)
def test_interrupted_add_leaves_nothing_half_done(project, sig):
    big = project.root / "big.bin"
    contents = iter(range(10_000))

    def new_content() -> None:
        big.write_bytes(random.Random(next(contents)).randbytes(SIZE))

    span = timed_run(project, [ADD], prepare=new_content)  # registers big@1; leaves new content
    registered: list[str] = [mlnb.data.resolve("big@1").md5]

    def check(i: int) -> None:
        assert_cache_is_sound(project.root)
        added = [row["md5"] for row in mlnb.data.log("big").to_dict()][::-1]  # oldest first
        assert added[: len(registered)] == registered, f"trial {i}: a saved version changed"
        # the signal may land after the registry commit but before "done": such a version is this
        # trial's content, whole in the cache under its hash
        for md5 in added[len(registered):]:
            assert md5 == hashlib.md5(big.read_bytes()).hexdigest(), f"trial {i}: a version of no content"
            assert (project.root / ".dvc/cache/files/md5" / md5[:2] / md5[2:]).is_file(), \
                f"trial {i}: an interrupted add registered a version whose content is not in the cache"
        registered[:] = added
        new_content()

    landed = trials(project, sig, lambda i: ADD, check, span, TRIALS)
    assert landed * 2 > TRIALS, f"only {landed} of {TRIALS} signals landed mid-add: the test proves little"
    # whatever happened, adding again works and registers the content once, soundly
    v = mlnb.data.add("big.bin", name="big")
    assert v.md5 == hashlib.md5(big.read_bytes()).hexdigest() and v.version == len(registered) + 1
    assert [row["md5"] for row in mlnb.data.log("big").to_dict()].count(v.md5) == 1
    assert_cache_is_sound(project.root)
